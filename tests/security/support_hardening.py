"""Helpers of the hardening tests: one exchange with every response field kept, repeats
included (``public.request_from`` folds them into a dict)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Mapping
from dataclasses import dataclass

JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Answer:
    status: int
    fields: list[tuple[str, str]]
    """Every response field, in order, names in lower case."""
    body: bytes

    def all(self, name: str) -> list[str]:
        return [value for field, value in self.fields if field == name]

    def get(self, name: str, default: str = "") -> str:
        """The one value of field ``name``; ``default`` when it is absent."""
        values = self.all(name)
        assert len(values) <= 1, f"{name} sent {len(values)} times: {values}"
        return values[0] if values else default

    def json(self) -> object:
        return json.loads(self.body)


def exchange(
    source: str,
    port: int,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> Answer:
    """One request on a new connection from the loopback address ``source``."""
    conn = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=timeout, source_address=(source, 0)
    )
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        response = conn.getresponse()
        fields = [(name.lower(), value) for name, value in response.getheaders()]
        return Answer(response.status, fields, response.read())
    finally:
        conn.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
