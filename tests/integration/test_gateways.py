"""Channel gateways are authenticated: a forged, unsigned, stale or re-bodied USSD, IVR (TwiML and VoiceXML)
or SMS inbound request gets 403 and changes nothing (no language change, no redemption, no order); a signed
one works; key rotation, a switched-off channel and the source allow-list."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.support.gateways import FORM, GatewayClient, signed_headers
from topup.channels import clients, gateway_auth
from topup.channels.gateway_auth import sign_body, twilio_signature
from topup.db.models import Order, Voucher
from topup.services import selfcare, vouchers
from topup.settings import CONFIG
from topup.simulators import ussd_phone

pytestmark = pytest.mark.django_db(transaction=True)

LINE = "+32470123456"
IVR_PIN_STEP = "/channels/ivr/voice?step=pin&lang=en&tries=0"


def _pin() -> tuple[str, str]:
    _batch, [(serial, pin)] = vouchers.generate_batch("proximus", "proximus-credit-10", 1)
    return serial, pin


def _nothing_changed(serial: str) -> None:
    assert selfcare.language_of(LINE) == selfcare.DEFAULT_LANGUAGE
    assert Voucher.objects.get(id=serial).state == "active"
    assert Order.objects.count() == 0


def _post(path: str, body: bytes, headers: dict[str, str], content_type: str = FORM) -> int:
    return int(GatewayClient().post(path, body, content_type=content_type, headers=headers).status_code)


def _forgeries(path: str, good: bytes, other: bytes) -> dict[str, tuple[bytes, dict[str, str]]]:
    """Each way a request can fail to be the gateway's, for a body-signed endpoint."""
    keys = CONFIG.sms_webhook_keys if "sms" in path else CONFIG.ussd_gateway_keys
    return {
        "unsigned": (good, {}),
        "wrong key": (good, sign_body("not-the-gateway-key", good)),
        "stale": (good, sign_body(keys[0], good, int(time.time()) - 301)),
        "from the future": (good, sign_body(keys[0], good, int(time.time()) + 310)),
        "other body": (other, sign_body(keys[0], good)),
        "garbled": (good, {"X-Topup-Timestamp": "soon", "X-Topup-Signature": "v1=00"}),
    }


def test_ussd_refuses_forged_requests_and_changes_nothing(seeded: None) -> None:
    serial, pin = _pin()
    language = urlencode({"sessionId": "s1", "serviceCode": "*111#", "phoneNumber": LINE, "text": "4*4"})
    redeem = urlencode({"sessionId": "s1", "serviceCode": f"*121*{pin}#", "phoneNumber": LINE, "text": ""})
    for body in (language.encode(), redeem.encode()):
        for name, (sent, headers) in _forgeries("/channels/ussd", body, body + b"&x=1").items():
            assert _post("/channels/ussd", sent, headers) == 403, name
    _nothing_changed(serial)

    fields = {"sessionId": "s1", "phoneNumber": LINE, "serviceCode": f"*121*{pin}#", "text": ""}
    signed = GatewayClient().gateway_post("/channels/ussd", fields)
    assert signed.status_code == 200
    assert Voucher.objects.get(id=serial).state == "redeemed"
    assert Order.objects.get().msisdn == LINE


def test_sms_inbound_refuses_forged_requests_and_changes_nothing(seeded: None) -> None:
    serial, pin = _pin()
    for text in ("LANG EN", f"TOPUP {pin}"):
        body = urlencode({"from": LINE, "text": text}).encode()
        for name, (sent, headers) in _forgeries("/channels/sms/inbound", body, body + b"1").items():
            assert _post("/channels/sms/inbound", sent, headers) == 403, name
        assert _post("/channels/sms/inbound", body, {"Authorization": "Bearer guessed"}) == 403
    _nothing_changed(serial)

    answer = GatewayClient().gateway_post("/channels/sms/inbound", {"from": LINE, "text": f"TOPUP {pin}"})
    assert answer.status_code == 200
    assert Voucher.objects.get(id=serial).state == "redeemed"


@pytest.mark.parametrize("entry", ["/channels/ivr/voice", "/channels/ivr/vxml"])
def test_ivr_refuses_forged_requests_and_changes_nothing(seeded: None, entry: str) -> None:
    serial, pin = _pin()
    token = CONFIG.ivr_auth_tokens[0]
    steps = [(f"{entry}?step=language&lang=nl&tries=0", "4"), (f"{entry}?step=pin&lang=nl&tries=0", pin)]
    for path, digits in steps:
        form = {"CallSid": "CA1", "From": LINE, "Digits": digits}
        url = CONFIG.public_url + path
        forged = {
            "unsigned": {},
            "wrong token": {"X-Twilio-Signature": twilio_signature("guessed", url, form)},
            "other url": {"X-Twilio-Signature": twilio_signature(token, url + "x", form)},
            "other caller": {
                "X-Twilio-Signature": twilio_signature(token, url, form | {"From": "+32470999999"})
            },
        }
        for name, headers in forged.items():
            assert _post(path, urlencode(form).encode(), headers) == 403, name
    _nothing_changed(serial)

    path, digits = steps[1]
    answer = GatewayClient().gateway_post(path, {"CallSid": "CA1", "From": LINE, "Digits": digits})
    assert answer.status_code == 200
    assert Voucher.objects.get(id=serial).state == "redeemed"


def test_every_key_of_a_rotation_list_verifies_and_an_empty_list_switches_the_channel_off(
    seeded: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = urlencode({"sessionId": "s1", "serviceCode": "*111#", "phoneNumber": LINE, "text": ""}).encode()
    rotated = replace(CONFIG, ussd_gateway_keys=("new-gateway-key", "old-gateway-key"))
    monkeypatch.setattr(gateway_auth, "CONFIG", rotated)
    assert _post("/channels/ussd", body, sign_body("old-gateway-key", body)) == 200
    assert _post("/channels/ussd", body, sign_body("new-gateway-key", body)) == 200
    assert _post("/channels/ussd", body, sign_body(CONFIG.ussd_gateway_keys[0], body)) == 403

    off = replace(CONFIG, ussd_gateway_keys=(), ivr_auth_tokens=(), sms_webhook_keys=(), sms_webhook_key="")
    monkeypatch.setattr(gateway_auth, "CONFIG", off)
    assert _post("/channels/ussd", body, sign_body("new-gateway-key", body)) == 404
    assert _post("/channels/sms/inbound", body, {}) == 404
    assert _post(IVR_PIN_STEP, body, {}) == 404


def test_the_source_allow_list_is_checked_against_the_real_client(
    seeded: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = urlencode({"sessionId": "s1", "serviceCode": "*111#", "phoneNumber": LINE, "text": ""}).encode()
    headers = signed_headers("/channels/ussd", body)
    monkeypatch.setattr(gateway_auth, "_allowed_sources", lambda: clients.networks(["192.0.2.0/24"]))
    assert _post("/channels/ussd", body, headers) == 403  # the test client calls from 127.0.0.1
    assert _post("/channels/ussd", body, headers | {"X-Forwarded-For": "192.0.2.9"}) == 403  # not believed
    monkeypatch.setattr(clients, "_trusted", lambda: clients.networks(["127.0.0.1"]))
    assert _post("/channels/ussd", body, headers | {"X-Forwarded-For": "192.0.2.9"}) == 200


def test_the_ussd_simulator_signs_like_a_gateway(
    seeded: None, live_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    ussd_phone.main(["--from", LINE, "--text", "", "--url", live_server.url])
    assert capsys.readouterr().out.startswith("CON 1 ")
    with pytest.raises(SystemExit):
        ussd_phone.main(["--from", LINE, "--text", "4*4", "--url", live_server.url, "--key", "guessed"])
    assert selfcare.language_of(LINE) == selfcare.DEFAULT_LANGUAGE
