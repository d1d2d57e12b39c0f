"""Two-step verification codes (``auth.totp``): RFC 6238, a window of ±1 step, each code
accepted once, and an enrolment URI and QR code an authenticator app can read."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest
import segno

from eventsapi.auth.totp import new_secret, provisioning_uri, qr_svg, verify

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode("ascii")
"""RFC 6238 appendix B's SHA-1 key, in the base32 an authenticator app is given."""

RFC_SHA1_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]
"""(Unix time, 8-digit TOTP) for SHA-1, T0 = 0, X = 30 s (RFC 6238 appendix B)."""

SVG_NS = "http://www.w3.org/2000/svg"
NOW = datetime(2026, 5, 1, 12, 0, 10, tzinfo=UTC)


def _at(unix_time: int) -> datetime:
    return datetime.fromtimestamp(unix_time, UTC)


def _code(secret: str, step: int) -> str:
    return pyotp.TOTP(secret).generate_otp(step)


def _step(now: datetime) -> int:
    return int(now.timestamp()) // 30


def test_rfc_secret_is_the_ascii_key_in_base32() -> None:
    assert RFC_SECRET == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # noqa: S105 (public vector)


@pytest.mark.parametrize(("unix_time", "expected"), RFC_SHA1_VECTORS)
def test_pyotp_gives_the_rfc_6238_sha1_vectors(unix_time: int, expected: str) -> None:
    assert pyotp.TOTP(RFC_SECRET, digits=8).at(unix_time) == expected


@pytest.mark.parametrize(("unix_time", "expected"), RFC_SHA1_VECTORS)
def test_verify_accepts_the_rfc_vectors_as_six_digit_codes(unix_time: int, expected: str) -> None:
    # Truncating to 6 digits is the same value mod 10^6: the last six of the 8-digit code.
    assert verify(RFC_SECRET, expected[-6:], _at(unix_time), None) == unix_time // 30


def test_new_secret_is_160_random_bits_in_base32() -> None:
    secrets = {new_secret() for _ in range(20)}

    assert len(secrets) == 20
    for secret in secrets:
        assert re.fullmatch(r"[A-Z2-7]{32}", secret)
        assert len(base64.b32decode(secret)) == 20


def test_the_current_code_is_accepted_and_returns_its_step() -> None:
    secret = new_secret()

    assert verify(secret, pyotp.TOTP(secret).at(NOW), NOW, None) == _step(NOW)


@pytest.mark.parametrize("offset", [-1, 1])
def test_a_code_one_step_away_is_accepted(offset: int) -> None:
    secret = new_secret()
    step = _step(NOW) + offset

    assert verify(secret, _code(secret, step), NOW, None) == step


@pytest.mark.parametrize("offset", [-3, -2, 2, 3])
def test_a_code_two_or_more_steps_away_is_refused(offset: int) -> None:
    secret = new_secret()

    assert verify(secret, _code(secret, _step(NOW) + offset), NOW, None) is None


def test_the_window_moves_with_the_clock() -> None:
    secret = new_secret()
    code = pyotp.TOTP(secret).at(NOW)

    assert verify(secret, code, NOW + timedelta(seconds=30), None) == _step(NOW)
    assert verify(secret, code, NOW + timedelta(seconds=60), None) is None


def test_a_code_from_another_secret_is_refused() -> None:
    assert verify(new_secret(), pyotp.TOTP(new_secret()).at(NOW), NOW, None) is None


def test_a_replayed_code_is_refused() -> None:
    secret = new_secret()
    code = pyotp.TOTP(secret).at(NOW)
    step = verify(secret, code, NOW, None)

    assert step is not None
    assert verify(secret, code, NOW, step) is None
    assert verify(secret, code, NOW + timedelta(seconds=5), step) is None


def test_an_earlier_code_after_a_later_one_is_refused() -> None:
    secret = new_secret()
    later = verify(secret, _code(secret, _step(NOW) + 1), NOW, None)

    assert later == _step(NOW) + 1
    assert verify(secret, _code(secret, _step(NOW)), NOW, later) is None
    assert verify(secret, _code(secret, _step(NOW) - 1), NOW, later) is None


def test_a_later_code_after_an_earlier_one_is_accepted() -> None:
    secret = new_secret()
    earlier = verify(secret, _code(secret, _step(NOW) - 1), NOW, None)

    assert earlier == _step(NOW) - 1
    assert verify(secret, _code(secret, _step(NOW)), NOW, earlier) == _step(NOW)


def test_the_next_login_in_a_new_step_is_accepted() -> None:
    secret = new_secret()
    first = verify(secret, pyotp.TOTP(secret).at(NOW), NOW, None)
    later = NOW + timedelta(seconds=30)

    assert verify(secret, pyotp.TOTP(secret).at(later), later, first) == _step(later)


def test_spaces_in_a_code_are_ignored() -> None:
    secret = new_secret()
    code = pyotp.TOTP(secret).at(NOW)

    assert verify(secret, f" {code[:3]} {code[3:]}\n", NOW, None) == _step(NOW)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda code: "",
        lambda code: code[:5],
        lambda code: code + "0",
        lambda code: "0" + code,
        lambda code: code[:5] + "a",
        lambda code: code[:3] + "-" + code[3:],
        lambda code: "+" + code[1:],
        # The right digits, but not ASCII ones (fullwidth, Arabic-Indic)
        lambda code: code.translate({ord(d): 0xFF10 + int(d) for d in "0123456789"}),
        lambda code: code.translate({ord(d): 0x0660 + int(d) for d in "0123456789"}),
        lambda code: code + " " * 100,
    ],
)
def test_malformed_codes_are_refused(mangle: Callable[[str], str]) -> None:
    secret = new_secret()
    code = pyotp.TOTP(secret).at(NOW)

    assert verify(secret, mangle(code), NOW, None) is None


def test_a_code_valid_for_two_steps_counts_as_the_later_one() -> None:
    # Found by search: RFC_SECRET gives 617002 for both steps 56188870 and 56188871.
    step = 56188870
    now = _at(step * 30 + 30)

    assert _code(RFC_SECRET, step) == _code(RFC_SECRET, step + 1) == "617002"
    assert verify(RFC_SECRET, "617002", now, None) == step + 1


def test_the_first_step_since_the_epoch_is_accepted() -> None:
    epoch = _at(0)

    assert verify(RFC_SECRET, _code(RFC_SECRET, 0), epoch, None) == 0


def test_input_longer_than_64_characters_is_refused_before_any_work() -> None:
    secret = new_secret()
    code = pyotp.TOTP(secret).at(NOW)

    assert verify(secret, code.ljust(64), NOW, None) == _step(NOW)
    assert verify(secret, code.ljust(65), NOW, None) is None


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^now must be a timezone-aware datetime$"):
        verify(RFC_SECRET, "123456", datetime(2026, 5, 1, 12, 0), None)


def test_the_uri_states_issuer_secret_and_parameters() -> None:
    secret = new_secret()
    uri = urlsplit(provisioning_uri(secret, "alice"))

    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert unquote(uri.path) == "/eventsapi:alice"
    assert parse_qs(uri.query, strict_parsing=True) == {
        "secret": [secret],
        "issuer": ["eventsapi"],
        "algorithm": ["SHA1"],
        "digits": ["6"],
        "period": ["30"],
    }


def test_the_uri_escapes_the_label_and_gives_the_same_codes_back() -> None:
    secret = new_secret()
    uri = provisioning_uri(secret, "ann lee/ops:1", issuer="Events & Co")
    label = urlsplit(uri).path.removeprefix("/")
    app = pyotp.parse_uri(uri)

    assert label == "Events%20%26%20Co:ann%20lee%2Fops%3A1"
    assert (app.name, app.issuer) == ("ann lee/ops:1", "Events & Co")
    assert isinstance(app, pyotp.TOTP)
    assert app.at(NOW) == pyotp.TOTP(secret).at(NOW)


def test_the_qr_code_is_a_standalone_svg_document() -> None:
    svg = qr_svg(provisioning_uri(new_secret(), "alice"))
    root = ET.fromstring(svg)  # noqa: S314 (our own output)

    assert root.tag == f"{{{SVG_NS}}}svg"
    assert root.find(f".//{{{SVG_NS}}}path") is not None
    assert set(re.findall(r"https?://[^\s\"'<>]*", svg)) == {SVG_NS}
    assert not [name for element in root.iter() for name in element.attrib if name.endswith("href")]
    # no XML declaration (it can be inlined in HTML), a title for screen readers, and
    # 4 pixels a module, quiet zone included
    assert svg.startswith("<svg ")
    assert root.findtext(f"{{{SVG_NS}}}title") == "Two-step verification setup code"
    modules = segno.make(provisioning_uri(new_secret(), "alice"), error="m", micro=False)
    assert (root.get("width"), root.get("height")) == tuple(
        str(side) for side in modules.symbol_size(scale=4)
    )


def test_the_qr_code_depends_on_the_uri() -> None:
    assert qr_svg(provisioning_uri(new_secret(), "alice")) != qr_svg(
        provisioning_uri(new_secret(), "alice")
    )
