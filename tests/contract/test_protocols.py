"""Every backend satisfies the protocol of every consumer (``api/store.py``, ``auth/store.py``,
``slo/store.py``, ``cli/stores.py``, ``webhooks/store.py``).

mypy checks the assignments below for each backend of ``storage.Backend``; the test checks
at run time that each protocol's methods are there with the same parameters, so a backend
that drifts from a consumer's protocol fails here too.
"""

from __future__ import annotations

import inspect

import pytest

from eventsapi.api.store import EventStore
from eventsapi.auth.store import AccountStore
from eventsapi.cli.stores import Store as CLIStore
from eventsapi.slo.store import SLIStore
from eventsapi.storage import Backend
from eventsapi.webhooks.store import WebhookStore

PROTOCOLS = (EventStore, AccountStore, SLIStore, CLIStore, WebhookStore)


def _as_every_protocol(
    store: Backend,
) -> tuple[EventStore, AccountStore, SLIStore, CLIStore, WebhookStore]:
    return store, store, store, store, store


def _methods(protocol: type) -> list[str]:
    return [
        name
        for name in vars(protocol)
        if not name.startswith("_") and callable(getattr(protocol, name))
    ]


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda protocol: protocol.__module__)
def test_the_backend_has_every_method_of_the_protocol(store: Backend, protocol: type) -> None:
    assert all(used is store for used in _as_every_protocol(store))
    for name in _methods(protocol):
        wanted = inspect.signature(getattr(protocol, name))
        found = inspect.signature(getattr(type(store), name))
        assert list(found.parameters) == list(wanted.parameters), (name, found, wanted)
        assert inspect.iscoroutinefunction(getattr(store, name)) == inspect.iscoroutinefunction(
            getattr(protocol, name)
        ) or inspect.isasyncgenfunction(getattr(store, name)), name
