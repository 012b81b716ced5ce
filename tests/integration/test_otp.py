"""Sign-in by a one-time SMS code through the self-care API: sent, verified once, locked after five wrong
codes, rate-limited, expired; the token reads the line's balance (from the carrier simulator) and orders."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db.models import F
from django.test import Client
from django.urls import path
from ninja import NinjaAPI

from tests.integration.test_notifications import (  # compiled_catalogues: the autouse fixture compiling .mo
    RecordingSms,
    _delivering_order,
    _prefer,
    compiled_catalogues,  # noqa: F401
)
from tests.integration.test_smsc import PHONE, Smsc, inbox, wait_for
from tests.support.processes import free_port, running
from topup.adapters.messaging.outbox_sms import SmppSmsSender
from topup.channels.api import errors
from topup.channels.api.auth_routes import router
from topup.db.models import Notification, Order, OtpChallenge
from topup.services import notifications

# The lead mounts the router in the real API; here it is mounted alone, with the real error handlers.
api = NinjaAPI(urls_namespace="test-auth")
errors.install(api)
api.add_router("", router)
urlpatterns = [path("api/v1/", api.urls)]

pytestmark = pytest.mark.urls(__name__)
NUMBER = "+32471000201"


@pytest.fixture
def sms() -> Iterator[RecordingSms]:
    # Test-only recorder: the production SmppSmsSender has its own test against the SMSC simulator.
    recorder = RecordingSms()
    notifications.configure(sms=recorder)
    yield recorder
    notifications.configure()


def _ask(client: Client, msisdn: str = NUMBER) -> int:
    return client.post("/api/v1/auth/otp", {"msisdn": msisdn}, content_type="application/json").status_code


def _verify(client: Client, code: str, msisdn: str = NUMBER) -> tuple[int, dict[str, object]]:
    answer = client.post(
        "/api/v1/auth/otp/verify", {"msisdn": msisdn, "code": code}, content_type="application/json"
    )
    return answer.status_code, answer.json()


def _error(body: dict[str, object]) -> object:
    error = body["error"]
    assert isinstance(error, dict)
    return error["code"]


def _last_code(sms: RecordingSms) -> str:
    match = re.search(r"\b(\d{6})\b", sms.sent[-1][1])
    assert match is not None
    return match.group(1)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_a_code_is_sent_and_works_once(seeded: None, sms: RecordingSms) -> None:
    _prefer(NUMBER, "zh-hans")
    client = Client()

    answer = client.post("/api/v1/auth/otp", {"msisdn": "0471 00 02 01"}, content_type="application/json")

    assert answer.status_code == 202
    assert answer.json() == {"sent": True, "expires_in_s": 300}
    ((to, text),) = sms.sent
    assert to == NUMBER
    assert "验证码" in text
    challenge = OtpChallenge.objects.get()
    code = _last_code(sms)
    assert code not in challenge.code_hash
    assert Notification.objects.get().status == "sent"
    status, body = _verify(client, code)
    assert status == 200
    assert body["expires_in_s"] == 900
    assert str(body["token"]).startswith("tpo_")
    status, body = _verify(client, code)
    assert (status, _error(body)) == (400, "otp_invalid")


def test_five_wrong_codes_lock_the_challenge(seeded: None, sms: RecordingSms) -> None:
    client = Client()
    assert _ask(client) == 202
    code = _last_code(sms)

    for _ in range(5):
        status, body = _verify(client, _wrong(code))
        assert (status, _error(body)) == (400, "otp_invalid")
    status, body = _verify(client, code)

    assert (status, _error(body)) == (409, "otp_locked")


def test_codes_are_rate_limited_per_line_and_per_address(seeded: None, sms: RecordingSms) -> None:
    client = Client()
    assert [_ask(client) for _ in range(4)] == [202, 202, 202, 409]
    answer = client.post("/api/v1/auth/otp", {"msisdn": NUMBER}, content_type="application/json")
    assert _error(answer.json()) == "otp_rate_limited"
    assert len(sms.sent) == 3

    others = [f"+3247100030{n}" for n in range(7)]  # 3 + 7 = 10 codes from this address in the hour
    assert [_ask(client, msisdn) for msisdn in others] == [202] * 7
    assert _ask(client, "+32471000399") == 409
    assert _ask(Client(REMOTE_ADDR="192.0.2.7"), "+32471000399") == 202


def test_an_expired_code_is_refused(seeded: None, sms: RecordingSms) -> None:
    client = Client()
    assert _ask(client) == 202
    OtpChallenge.objects.update(expires_at=F("expires_at") - timedelta(seconds=301))

    status, body = _verify(client, _last_code(sms))

    assert (status, _error(body)) == (400, "otp_expired")


def test_the_token_reads_the_lines_balance_and_orders(
    seeded: None, sms: RecordingSms, carriers_simulator: str
) -> None:
    mine = [_delivering_order(NUMBER) for _ in range(3)]
    _delivering_order("+32471000202")  # someone else's
    client = Client()
    assert _ask(client) == 202
    _status, body = _verify(client, _last_code(sms))
    bearer = {"Authorization": f"Bearer {body['token']}"}

    balance = client.get("/api/v1/me/balance", headers=bearer)
    orders = client.get("/api/v1/me/orders", headers=bearer)

    assert balance.status_code == 200
    assert balance.json()["msisdn"] == NUMBER
    assert balance.json()["credit"]["currency"] == "EUR"
    assert balance.json()["network"] == "Proximus"
    assert orders.status_code == 200
    ids = [o["id"] for o in orders.json()["orders"]]
    assert ids == [o.id for o in sorted(mine, key=lambda o: o.created_at, reverse=True)]
    assert client.get("/api/v1/me/balance").status_code == 401
    assert client.get("/api/v1/me/orders", headers={"Authorization": "Bearer tpo_forged"}).status_code == 401
    assert Order.objects.count() == 4


def test_the_code_reaches_the_phone_over_smpp(seeded: None) -> None:
    """The production sender, through the SMSC simulator over real SMPP, in the line's language."""
    peer = Smsc(free_port(), free_port())
    with running(peer.args(), f"{peer.url}/healthz"):
        sender = SmppSmsSender("127.0.0.1", peer.smpp_port, "topup", "topup123", bind_timeout_s=10)
        notifications.configure(sms=sender)
        try:
            _prefer(PHONE, "zh-hans")
            client = Client()
            assert _ask(client, PHONE) == 202
            wait_for(lambda: inbox(peer), "the code in the phone's inbox")
            (text,) = inbox(peer)
            assert "验证码" in text
            status, _body = _verify(client, re.findall(r"\d{6}", text)[0], PHONE)
            assert status == 200
        finally:
            notifications.configure()
            sender.stop()


def test_no_smsc_means_not_sent_and_a_503(seeded: None) -> None:
    sender = SmppSmsSender("127.0.0.1", free_port(), "topup", "topup123", bind_timeout_s=0.5)
    notifications.configure(sms=sender)
    try:
        with pytest.raises(notifications.NotSent):
            sender.send(NUMBER, "hello")
        assert _ask(Client()) == 503
        assert Notification.objects.get().status == "queued"
    finally:
        notifications.configure()
        sender.stop()


def test_a_code_typed_in_full_width_digits_works(seeded: None, sms: RecordingSms) -> None:
    """A Chinese keyboard types full-width digits (issue #11, item 7): the number and the code are folded."""
    client = Client()
    full_width = str.maketrans("0123456789", "".join(chr(0xFF10 + d) for d in range(10)))
    assert _ask(client, "0471 00 02 01".translate(full_width)) == 202
    code = _last_code(sms)
    status, body = _verify(client, " ".join((code[:3], code[3:])).translate(full_width))
    assert status == 200, body
    assert str(body["token"]).startswith("tpo_")
