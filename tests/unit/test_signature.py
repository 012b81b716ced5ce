"""Stripe-style webhook signatures: round trip, tampering, timestamps, rotation and malformed headers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topup.adapters.payments.signature import compute_signature, sign, verify
from topup.ports import InvalidSignature

SECRET = "whsec_current"
OLD_SECRET = "whsec_previous"
NOW = 1_760_000_000
BODY = b'{"id":"evt_1","type":"payment_intent.succeeded"}'


def test_round_trip_verifies() -> None:
    verify(BODY, sign(BODY, SECRET, NOW), [SECRET], now=NOW)


def test_header_has_stripe_shape() -> None:
    header = sign(BODY, SECRET, NOW)
    timestamp, v1 = header.split(",")
    assert timestamp == f"t={NOW}"
    assert v1.startswith("v1=")
    assert len(v1.removeprefix("v1=")) == 64


def test_known_vector() -> None:
    # Computed independently: printf '1.{}' | openssl dgst -sha256 -hmac secret
    expected = "1122767b193110cfec322b6f199b599edbf608ed087f2d27afb0b97d99523908"
    assert compute_signature(b"{}", "secret", 1) == expected
    assert sign(b"{}", "secret", 1) == f"t=1,v1={expected}"


def test_wrong_secret_fails() -> None:
    with pytest.raises(InvalidSignature):
        verify(BODY, sign(BODY, "whsec_attacker", NOW), [SECRET], now=NOW)


def test_tampered_body_fails() -> None:
    header = sign(BODY, SECRET, NOW)
    with pytest.raises(InvalidSignature):
        verify(BODY.replace(b"succeeded", b"payment_failed"), header, [SECRET], now=NOW)


def test_changed_timestamp_fails() -> None:
    signature = compute_signature(BODY, SECRET, NOW)
    with pytest.raises(InvalidSignature):
        verify(BODY, f"t={NOW + 1},v1={signature}", [SECRET], now=NOW)


@pytest.mark.parametrize("age_s", [301, 10_000, -301, -10_000])
def test_timestamp_outside_tolerance_fails(age_s: int) -> None:
    header = sign(BODY, SECRET, NOW - age_s)
    with pytest.raises(InvalidSignature, match="tolerance"):
        verify(BODY, header, [SECRET], now=NOW)


@pytest.mark.parametrize("age_s", [300, 0, -300])
def test_timestamp_at_tolerance_edge_passes(age_s: int) -> None:
    verify(BODY, sign(BODY, SECRET, NOW - age_s), [SECRET], now=NOW)


def test_custom_tolerance() -> None:
    header = sign(BODY, SECRET, NOW - 20)
    verify(BODY, header, [SECRET], now=NOW, tolerance_s=20)
    with pytest.raises(InvalidSignature):
        verify(BODY, header, [SECRET], now=NOW, tolerance_s=19)


def test_rotation_accepts_any_configured_secret() -> None:
    verify(BODY, sign(BODY, OLD_SECRET, NOW), [SECRET, OLD_SECRET], now=NOW)
    verify(BODY, sign(BODY, SECRET, NOW), [SECRET, OLD_SECRET], now=NOW)


def test_rotation_header_with_two_v1_values() -> None:
    new = compute_signature(BODY, SECRET, NOW)
    old = compute_signature(BODY, OLD_SECRET, NOW)
    header = f"t={NOW},v1={old},v1={new}"
    verify(BODY, header, [SECRET], now=NOW)
    verify(BODY, header, [OLD_SECRET], now=NOW)
    with pytest.raises(InvalidSignature):
        verify(BODY, header, ["whsec_other"], now=NOW)


def test_other_schemes_are_ignored() -> None:
    signature = compute_signature(BODY, SECRET, NOW)
    verify(BODY, f"t={NOW},v0=deadbeef,v1={signature}", [SECRET], now=NOW)
    with pytest.raises(InvalidSignature):
        verify(BODY, f"t={NOW},v0={signature}", [SECRET], now=NOW)


def test_no_secret_configured_fails() -> None:
    with pytest.raises(InvalidSignature):
        verify(BODY, sign(BODY, SECRET, NOW), [], now=NOW)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        f"v1={'0' * 64}",
        f"t={NOW}",
        f"t=,v1={'0' * 64}",
        f"t=abc,v1={'0' * 64}",
        f"t=-5,v1={'0' * 64}",
        f"t=\uff11\uff12,v1={'0' * 64}",
        f"t={NOW},t={NOW},v1={'0' * 64}",
        f"t={NOW},v1=",
        f"t={NOW},,v1={'0' * 64}",
        f"t={NOW},v1=é{'0' * 63}",
    ],
)
def test_malformed_headers_fail(header: str | None) -> None:
    with pytest.raises(InvalidSignature):
        verify(BODY, header, [SECRET], now=NOW)


def test_whitespace_around_parts_is_tolerated() -> None:
    signature = compute_signature(BODY, SECRET, NOW)
    verify(BODY, f"t={NOW}, v1={signature}", [SECRET], now=NOW)


@given(
    body=st.binary(min_size=1, max_size=512),
    data=st.data(),
)
def test_any_single_byte_change_fails(body: bytes, data: st.DataObject) -> None:
    header = sign(body, SECRET, NOW)
    index = data.draw(st.integers(min_value=0, max_value=len(body) - 1), label="index")
    replacement = data.draw(st.integers(min_value=0, max_value=255).filter(lambda b: b != body[index]))
    changed = body[:index] + bytes([replacement]) + body[index + 1 :]
    with pytest.raises(InvalidSignature):
        verify(changed, header, [SECRET], now=NOW)
