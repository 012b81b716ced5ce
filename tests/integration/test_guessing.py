"""Guessing does not pay: wrong PINs from rotating numbers over USSD, SMS and IVR are capped by the global
breaker (alert logged and counted in /metrics); behind a trusted proxy each customer has their own OTP and
voucher limits, and a client cannot pick its address by writing X-Forwarded-For; concurrent code requests
for one line never pass its limit."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils.translation import override

from tests.integration.test_notifications import RecordingSms
from tests.integration.test_vouchers import wrong_pins
from tests.support.gateways import GatewayClient
from tests.support.race import at_once
from topup.channels import clients
from topup.channels.messages import message_for
from topup.db.models import Order, OtpChallenge
from topup.services import notifications, otp, vouchers
from topup.settings import CONFIG

pytestmark = pytest.mark.django_db(transaction=True)

LANGUAGES = ("en", "nl", "fr", "de", "zh-hans")
PROXY = "127.0.0.1"  # the Django test client's REMOTE_ADDR plays our proxy


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The redemption clock, stopped (moved only by the test): limits depend on time, tests must not."""
    clock = [datetime.now(UTC)]
    monkeypatch.setattr(vouchers, "now", lambda: clock[0])
    return clock


@pytest.fixture
def sms() -> Iterator[RecordingSms]:
    recorder = RecordingSms()  # test-only SMS peer (the SMPP sender has its own tests)
    notifications.configure(sms=recorder)
    yield recorder
    notifications.configure()


@pytest.fixture
def behind_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clients, "_trusted", lambda: clients.networks([f"{PROXY}/32", "10.0.0.0/8"]))


def _busy_words() -> set[str]:
    found = set()
    for language in LANGUAGES:
        with override(language):
            found.add(str(message_for("voucher_busy"))[:30])
    return found


def _guess(client: GatewayClient, i: int, pin: str) -> str:
    """One wrong PIN from a new number through USSD, SMS or IVR in turn; the text the caller got back."""
    number = f"+32470{i:06d}"
    if i % 3 == 0:
        fields = {"sessionId": f"s{i}", "serviceCode": f"*121*{pin}#", "phoneNumber": number, "text": ""}
        return str(client.gateway_post("/channels/ussd", fields).content.decode())
    if i % 3 == 1:
        answer = client.gateway_post("/channels/sms/inbound", {"from": number, "text": f"TOPUP {pin}"})
        return str(answer.json()["reply"])
    form = {"CallSid": f"CA{i}", "From": number, "Digits": f"{pin}#"}
    return str(client.gateway_post("/channels/ivr/voice?step=pin&lang=en&tries=0", form).content.decode())


def test_rotating_numbers_over_three_channels_are_capped_by_the_breaker(
    seeded: None, frozen: list[datetime], caplog: pytest.LogCaptureFixture
) -> None:
    client, busy, guesses = GatewayClient(), _busy_words(), 150
    pins = wrong_pins("proximus", seed=11)
    with caplog.at_level(logging.WARNING):
        replies = [_guess(client, i, next(pins)) for i in range(guesses)]
    through = sum(1 for reply in replies if not any(words in reply for words in busy))
    print(f"\n{guesses} wrong PINs from {guesses} numbers: {through} looked up, {guesses - through} refused")
    # Opens at a third of VOUCHER_BREAKER_FAILURES unknown PINs (all failing), then RATE a minute for all.
    bound = CONFIG.voucher_breaker_failures // 3 + CONFIG.voucher_breaker_rate
    assert through <= bound
    assert through >= CONFIG.voucher_breaker_failures // 3  # it is guessing that opened it, not a fluke
    alerts = [r for r in caplog.records if getattr(r, "alert", None) == "voucher_guessing"]
    assert len(alerts) == 1
    assert alerts[0].levelno >= logging.ERROR
    assert "alert=voucher_guessing" in alerts[0].getMessage()
    metrics = Client().get("/metrics").content.decode()
    assert "topup_voucher_guessing_alerts_total 1" in metrics
    assert "topup_voucher_breaker_open 1" in metrics
    assert Order.objects.count() == 0

    # A customer with a real voucher still gets through, a minute later, while the breaker is open.
    frozen[0] += timedelta(seconds=61)
    _batch, [(_serial, pin)] = vouchers.generate_batch("proximus", "proximus-credit-10", 1)
    reply = client.gateway_post("/channels/sms/inbound", {"from": "+32470999999", "text": f"TOPUP {pin}"})
    assert Order.objects.filter(msisdn="+32470999999").count() == 1, reply.json()


def _redeem(client: Client, pin: str, msisdn: str, forwarded: str, key: str) -> tuple[int, str]:
    answer = client.post(
        "/api/v1/vouchers/redeem",
        {"pin": pin, "msisdn": msisdn},
        content_type="application/json",
        headers={"Idempotency-Key": key, "X-Forwarded-For": forwarded},
    )
    body = answer.json()
    return answer.status_code, str(body["error"]["code"]) if "error" in body else "ok"


def test_behind_a_trusted_proxy_each_customer_has_their_own_voucher_lock(
    seeded: None, frozen: list[datetime], behind_proxy: None
) -> None:
    client, pins = Client(), wrong_pins("proximus", seed=12)
    alice, bob = "198.51.100.1", "198.51.100.2"
    codes = [
        _redeem(client, next(pins), f"+3247011{i:04d}", f"{alice}, 10.0.0.5", f"a{i}")[1] for i in range(5)
    ]
    assert codes[:4] == ["voucher_unknown"] * 4  # four numbers, one address: the address is locked
    assert codes[4] == "voucher_locked_out"
    _batch, [(_serial, pin)] = vouchers.generate_batch("proximus", "proximus-credit-10", 1)
    assert _redeem(client, pin, "+32470220001", alice, "a-real")[1] == "voucher_locked_out"
    assert _redeem(client, pin, "+32470220002", bob, "b-real") == (201, "ok")


def test_a_client_cannot_choose_its_address_with_x_forwarded_for(
    seeded: None, frozen: list[datetime]
) -> None:
    client, pins = Client(), wrong_pins("proximus", seed=13)
    codes = [_redeem(client, next(pins), f"+3247012{i:04d}", f"203.0.113.{i}", f"f{i}")[1] for i in range(5)]
    assert codes == ["voucher_unknown"] * 4 + ["voucher_locked_out"]  # one REMOTE_ADDR, whatever it wrote


def _ask(client: Client, msisdn: str, forwarded: str) -> str:
    answer = client.post(
        "/api/v1/auth/otp", {"msisdn": msisdn}, content_type="application/json",
        headers={"X-Forwarded-For": forwarded},
    )  # fmt: skip
    return "sent" if answer.status_code == 202 else str(answer.json()["error"]["code"])


def test_behind_a_trusted_proxy_each_customer_has_their_own_code_limit(
    seeded: None, sms: RecordingSms, behind_proxy: None
) -> None:
    client = Client()
    asked = [_ask(client, f"+3247130{n:04d}", "198.51.100.1") for n in range(11)]
    assert asked == ["sent"] * 10 + ["otp_rate_limited"]
    assert _ask(client, "+32471399999", "198.51.100.2") == "sent"
    assert len(sms.sent) == 11
    # The client's own X-Forwarded-For entries left of our proxy's are not read.
    assert _ask(client, "+32471399998", "198.51.100.2, 198.51.100.1") == "otp_rate_limited"
    assert not OtpChallenge.objects.exclude(ip=None).exists()  # no address kept in clear


def test_a_forged_x_forwarded_for_does_not_escape_the_code_limit(seeded: None, sms: RecordingSms) -> None:
    client = Client()
    asked = [_ask(client, f"+3247140{n:04d}", f"198.51.100.{n}") for n in range(11)]
    assert asked == ["sent"] * 10 + ["otp_rate_limited"]


def test_concurrent_code_requests_for_one_line_never_pass_its_limit(seeded: None, sms: RecordingSms) -> None:
    def ask(i: int) -> str:
        otp.send_code("+32471500001", f"192.0.2.{i}")
        return "sent"

    outcomes = at_once(ask, range(12))
    assert sorted(outcomes) == ["otp_rate_limited"] * 9 + ["sent"] * 3
    assert OtpChallenge.objects.count() == 3
    assert len(sms.sent) == 3


def test_concurrent_wrong_pins_from_one_caller_stop_at_its_lock(seeded: None, frozen: list[datetime]) -> None:
    pins = [pin for pin, _ in zip(wrong_pins("proximus", seed=14), range(20), strict=False)]

    def guess(pin: str) -> str:
        vouchers.redeem(pin, msisdn="+32470330001", channel="ussd", caller_keys=["ussd:one-session"])
        return "redeemed"

    outcomes = at_once(guess, pins)
    # Three free failures, the fourth sets a lock: no read-then-write race lets a fifth through.
    assert outcomes.count("voucher_unknown") == 4, outcomes
    assert outcomes.count("voucher_locked_out") == 16


@pytest.mark.parametrize("line", [{}, {"msisdn": "", "iccid": ""}, {"msisdn": "  "}])
def test_a_redemption_naming_no_line_is_refused_before_any_pin_is_tried(
    seeded: None, line: dict[str, str]
) -> None:
    answer = Client().post(
        "/api/v1/vouchers/redeem", {"pin": "1234567890123", **line}, content_type="application/json",
        headers={"Idempotency-Key": "no-line-1", "Accept-Language": "zh-hans"},
    )  # fmt: skip
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["code"], error["field"]) == ("msisdn_required", "msisdn")
    assert error["message"] != "Please enter a number."  # Chinese
    assert not vouchers.RedeemAttempts.objects.exists()  # nothing counted, nothing changed
