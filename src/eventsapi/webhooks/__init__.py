"""Signed webhooks: the registry of endpoints, signing, the SSRF guard, delivery and retries.

Changes reach receivers from the change log, at least once (docs/integrations.md,
"Webhooks"):

- ``registry.py``: the endpoints an admin (``api/webhooks.py``) or the operator
  (``cli/webhooks.py``) registers, changes, rotates and tests; every rule of their input;
- ``signing.py``: secrets (``whsec_`` + base64) and the Standard Webhooks signature;
- ``ssrf.py``: which URLs may be called, checked at registration and again at each
  delivery, where the address vetted is the one connected to (``delivery.py``);
- ``schedule.py``: the retry schedule and what each answer means;
- ``delivery.py``: one attempt: resolve, vet, sign, POST, measure;
- ``worker.py``: the background worker of each process: it queues the changes of each
  endpoint into its outbox (a cursor over the change log, moved in the same transaction),
  leases due messages, delivers them and records each attempt;
- ``store.py``: what webhooks need of a store (every backend has it).
"""
