"""The web UI: pages for people, rendered on the server under ``/ui/`` (issue 17).

HTTP presentation only. Each page family is a module (``sign_in.py``, ``events_list.py``,
``event_page.py``, ``create_event.py``) whose handlers read a request, call the API's own
handlers in process (``api_calls.py``: the same parsing, rules, visibility and problem
documents as ``/events``), and render a Jinja2 template (``templates/``) with
``render.py``. What every page shares: who is signed in and the CSRF defence
(``visits.py``, ``csrf.py``), the static files (``assets.py``, ``static/``), and the
routes, which join the service's route table (``routes.py``). The API never imports this
package; ``app.py`` puts the two together.
"""
