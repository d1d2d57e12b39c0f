"""``python -m eventsapi``: the same as the ``eventsapi`` command."""

from eventsapi.cli import main

if __name__ == "__main__":
    main(prog_name="eventsapi")
