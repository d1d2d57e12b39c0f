"""Two-step verification codes: TOTP (RFC 6238) as authenticator apps expect it.

SHA-1, 6 digits, 30-second steps: the defaults every authenticator app supports (some
ignore the URI's algorithm, digits and period, so anything else would give wrong codes).

A code is accepted for the current step or one step either side (clock drift between the
phone and the server), and only once: ``verify`` returns the step it matched, the caller
stores it as ``User.totp_last_step``, and a later code for that step or an earlier one is
refused. That refuses a replayed code, and also an older code sent after a newer one
(otherwise an observed code would stay usable for up to a minute).
"""

from __future__ import annotations

import hmac
import io
import re
from datetime import datetime
from urllib.parse import quote, urlencode

__all__ = ["new_secret", "provisioning_uri", "qr_svg", "verify"]

DIGITS = 6
PERIOD_SECONDS = 30
DRIFT_STEPS = 1
"""Steps accepted either side of the current one: ±30 s, as RFC 6238 section 5.2 advises."""

_CODE = re.compile(rf"[0-9]{{{DIGITS}}}")
_MAX_INPUT_CHARS = 64
"""Longer input is refused before any work: no code with spaces is that long."""


def new_secret() -> str:
    """A new shared secret: 160 random bits (RFC 4226's recommended length) in base32.

    pyotp draws each character from ``secrets.SystemRandom``.
    """
    import pyotp  # when first needed: most requests never enrol or check a code

    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, username: str, issuer: str = "eventsapi") -> str:
    """The ``otpauth://totp/`` URI an authenticator app reads (Google's Key URI Format).

    Built here rather than by pyotp: pyotp leaves ``/`` unescaped in the label and omits
    algorithm, digits and period when they are the defaults; we state them so the app and
    the server cannot disagree.
    """
    label = f"{quote(issuer, safe='')}:{quote(username, safe='')}"
    query = urlencode(
        {
            "secret": secret,
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": PERIOD_SECONDS,
        },
        quote_via=quote,
    )
    return f"otpauth://totp/{label}?{query}"


def qr_svg(uri: str) -> str:
    """The URI as a QR code in a standalone SVG document (serve as ``image/svg+xml``).

    No XML declaration, so the same text can also be inlined in HTML; no external
    references (only the SVG namespace). Error correction level M: it is shown on a screen.
    The background is white, not transparent, so the code scans on a dark page too.
    """
    # Imported here: only enrolment draws a QR code, and segno costs every process ~10 MB.
    import segno

    qr = segno.make(uri, error="m", micro=False)
    out = io.BytesIO()
    qr.save(
        out,
        kind="svg",
        scale=4,
        dark="#000",
        light="#fff",
        xmldecl=False,
        title="Two-step verification setup code",
    )
    return out.getvalue().decode("utf-8")


def verify(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step ``code`` is valid for, if it may be accepted now; otherwise ``None``.

    ``now`` must be timezone-aware (a naive datetime would be read as local time).
    ``last_step`` is the step of the last accepted code: that step and earlier ones are
    refused. Spaces in ``code`` are ignored ("123 456"); anything but exactly six ASCII
    digits is refused.
    """
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    if len(code) > _MAX_INPUT_CHARS:
        return None
    typed = "".join(code.split())
    if _CODE.fullmatch(typed) is None:
        return None
    import pyotp

    totp = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD_SECONDS)
    current = totp.timecode(now)
    first_allowed = 0 if last_step is None else last_step + 1
    matched: int | None = None
    # Compare with every step in the window, not stopping at a match, and in constant
    # time, so the response time says nothing about how close a guess was.
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if step < first_allowed:
            continue
        if hmac.compare_digest(totp.generate_otp(step), typed):
            # A code valid for two steps of the window (a one-in-a-million collision)
            # counts as the later one, which refuses more afterwards, never less.
            matched = step
    return matched
