"""Helpers of the hardening tests (``exchange`` keeps every response field, repeats
included: it is in ``public.py``, beside ``request_from``, which folds them into a dict)."""

from __future__ import annotations

JSON = {"Content-Type": "application/json"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
