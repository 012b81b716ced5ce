"""Gateway signatures and the client address, without a database: the TwiML provider's published test
vector, the body signature's tolerance and rotation, X-Forwarded-For behind trusted proxies, and the
production start-up check for channel credentials."""

from __future__ import annotations

import pytest

from topup import settings
from topup.channels.clients import forwarded_client, networks
from topup.channels.gateway_auth import body_is_signed, sign_body, twilio_signature


def test_twilio_signature_matches_the_providers_test_vector() -> None:
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
              "From": "+14158675309", "To": "+18005551212"}  # fmt: skip
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_a_signed_body_verifies_with_any_key_of_the_list_within_300_s() -> None:
    body, at = b"sessionId=1&text=1", 1_800_000_000
    headers = sign_body("old", body, at)
    assert headers["X-Topup-Timestamp"] == str(at)
    assert headers["X-Topup-Signature"].startswith("v1=")
    assert len(headers["X-Topup-Signature"]) == 3 + 64
    assert body_is_signed(["new", "old"], body, headers, at + 300)
    assert not body_is_signed(["new"], body, headers, at)
    assert not body_is_signed(["old"], body, headers, at + 301)
    assert not body_is_signed(["old"], body + b"2", headers, at)
    assert not body_is_signed(["old"], body, {}, at)
    forged = {"X-Topup-Timestamp": str(at), "X-Topup-Signature": "v1=é"}
    assert not body_is_signed(["old"], body, forged, at)  # refused, not a server error


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),  # not from our proxy: the header is not read
        ("10.0.0.2", "", "10.0.0.2"),
        ("10.0.0.2", "198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # the client wrote 6.6.6.6 itself
        ("10.0.0.2", "198.51.100.1, 10.0.0.7", "198.51.100.1"),  # two of our proxies
        ("10.0.0.2", "garbage, 10.0.0.7", "10.0.0.7"),
        ("10.0.0.2", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_the_client_is_the_rightmost_untrusted_hop(remote: str, forwarded: str, expected: str) -> None:
    assert forwarded_client(remote, forwarded, networks(["10.0.0.0/8"])) == expected


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert forwarded_client("127.0.0.1", "198.51.100.1", ()) == "127.0.0.1"


STRONG = {
    "SECRET_KEY": "s" * 48, "PAYMENTS_API_KEY": "p" * 40, "WEBHOOK_SECRETS": "w" * 40,
    "CARRIER_API_KEY": "c" * 40, "SMDP_API_KEY": "d" * 40, "SMDP_CALLBACK_KEY": "e" * 40,
    "SMSC_PASSWORD": "f" * 8, "SMS_WEBHOOK_KEY": "g" * 40, "INDEX_KEY": "i" * 40,
    "USSD_GATEWAY_KEYS": "u" * 40, "SMS_WEBHOOK_KEYS": "m" * 40, "IVR_AUTH_TOKEN": "v" * 40,
    "OTP_KEY": "o" * 40, "METRICS_TOKEN": "t" * 40, "VOUCHER_PEPPERS": "v1:" + "n" * 40,
    "DATA_KEYS": "k9:cHJvZHVjdGlvbi10ZXN0LWRhdGEta2V5LTMyYnl0ZXM=", "PUBLIC_URL": "https://topup.example",
}  # fmt: skip


FIELDS = {"USSD_GATEWAY_KEYS": "ussd_gateway_keys", "SMS_WEBHOOK_KEYS": "sms_webhook_keys",
          "IVR_AUTH_TOKEN": "ivr_auth_tokens"}  # fmt: skip


@pytest.mark.parametrize("name", list(FIELDS))
def test_production_switches_off_a_channel_without_its_own_credentials(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in STRONG.items():
        monkeypatch.setenv(f"TOPUP_{key}", value)
    monkeypatch.setenv("TOPUP_ENV", "production")
    assert getattr(settings.load_config(), FIELDS[name]) == (STRONG[name],)
    monkeypatch.delenv(f"TOPUP_{name}")  # no demo default in production: the channel is off (404)
    assert getattr(settings.load_config(), FIELDS[name]) == ()
    monkeypatch.setenv(f"TOPUP_{name}", "short")
    with pytest.raises(RuntimeError):
        settings.load_config()
    monkeypatch.setenv(f"TOPUP_{name}", getattr(settings, f"DEMO_{name.removesuffix('S')}", "x" * 40))
    with pytest.raises(RuntimeError):
        settings.load_config()
    monkeypatch.setenv(f"TOPUP_{name}", "")  # switched off: nothing to refuse, the endpoint answers 404
    assert getattr(settings.load_config(), FIELDS[name]) == ()
