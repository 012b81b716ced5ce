"""Vouchers against a real database: batches without PINs stored, redemption into a paid order exactly once,
refusals with their codes, brute-force lockout, and the time 100,000 vouchers take (printed, not asserted)."""

from __future__ import annotations

import argparse
import csv
import io
import logging
import random
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connection

from tests.integration.conftest import Carriers, run_jobs_until_idle
from topup import vouchers_cli
from topup.db import ledger
from topup.db.models import Job, Order, Payment, RedeemAttempts, Transfer, Voucher
from topup.domain.errors import DomainError
from topup.domain.vouchers import HARD_LOCK_FAILURES, luhn_check_digit, make_pin, pin_is_well_formed
from topup.services import vouchers

pytestmark = pytest.mark.django_db(transaction=True)

BASE_NUMBER = "0486 12 34 56"
BASE_E164 = "+32486123456"


def redeem(pin: str, *, msisdn: str = BASE_NUMBER, key: str = "line:+32486123456") -> dict[str, object]:
    return vouchers.redeem(pin, msisdn=msisdn, channel="sms", caller_keys=[key, "ip:192.0.2.1"])


def refusal_code(pin: str, **kwargs: str) -> str:
    with pytest.raises(DomainError) as refused:
        redeem(pin, **kwargs)
    return refused.value.code


def wrong_pins(network: str, seed: int) -> Iterator[str]:
    rng = random.Random(seed)
    while True:
        yield make_pin(network, lambda n: "".join(rng.choice("0123456789") for _ in range(n)))


@pytest.fixture
def base_pins(seeded: None) -> list[tuple[str, str]]:
    return vouchers.generate_batch("base", "base-credit-10", 5)[1]


def test_a_generated_batch_stores_no_pin_and_prints_unique_ones(seeded: None, tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    args = argparse.Namespace(
        network="base", plan="base-credit-10", count=1_000, out=tmp_path / "batch.csv",
        expires_in_days=365, note="test run",
    )  # fmt: skip
    vouchers_cli.generate(args, out, err)

    with (tmp_path / "batch.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["serial", "pin", "network", "plan", "price", "expires_at"]
    pins = [row["pin"] for row in rows]
    assert len(pins) == len(set(pins)) == 1_000
    assert all(len(pin) == 15 and pin_is_well_formed("base", pin) for pin in pins)
    assert len({row["serial"] for row in rows}) == 1_000
    assert rows[0]["price"] == "10.00 EUR"
    assert rows[0]["serial"].startswith("BAS-")
    assert rows[0]["serial"].endswith("-000001")
    assert (tmp_path / "batch.csv").stat().st_mode & 0o077 == 0  # readable by its owner only
    assert "1,000/1,000 (100 %)" in err.getvalue()
    assert Voucher.objects.filter(state="active").count() == 1_000

    # No column of any table holds a PIN, whole or as part of a longer value.
    dump = "\n".join(
        repr(row)
        for model in apps.get_app_config("topup").get_models()
        for row in model.objects.values_list()
    )
    assert rows[0]["serial"] in dump  # the dump does contain the voucher rows
    assert not [pin for pin in pins if pin in dump]
    with pytest.raises(FileExistsError):  # a batch file is never overwritten
        vouchers_cli.generate(args, out, err)


def test_colliding_pins_are_drawn_again(seeded: None) -> None:
    _, first = vouchers.generate_batch("base", "base-credit-5", 3, random_digits=lambda n: "1" * n)
    _, second = vouchers.generate_batch("base", "base-credit-5", 2, random_digits=lambda n: "1" * n)
    assert first[0][1] == make_pin("base", lambda n: "1" * n)
    assert len({pin for _, pin in first + second}) == 5  # the second batch's first PIN was drawn again
    assert Voucher.objects.count() == 5


def test_redeemed_voucher_makes_a_paid_order_that_is_delivered(
    base_pins: list[tuple[str, str]], carriers: Carriers
) -> None:
    serial, pin = base_pins[0]
    before = carriers.balance_minor("base", BASE_E164)
    spaced = f"{pin[:5]} {pin[5:10]} {pin[10:]}"

    order = redeem(spaced)

    assert order["status"] == "paid"
    assert order["msisdn"] == BASE_E164
    assert order["network"] == "base"
    assert order["channel"] == "sms"
    assert order["total"] == {"amount_minor": 1000, "currency": "EUR"}
    assert [h["status"] for h in order["history"]] == ["created", "awaiting_payment", "paid"]  # type: ignore[union-attr, index]
    assert order["payment"]["provider"] == "voucher"  # type: ignore[index]
    assert order["payment"]["status"] == "succeeded"  # type: ignore[index]
    order_id = str(order["id"])
    assert Job.objects.filter(kind="deliver", subject_id=order_id).count() == 1
    capture = Transfer.objects.get(id=f"{order_id}:capture")
    assert capture.debit_account_id == "provider_clearing:voucher:EUR"
    assert capture.amount_minor == 1000
    voucher = Voucher.objects.get(id=serial)
    assert (voucher.state, voucher.order_id, voucher.redeemed_by) == ("redeemed", order_id, BASE_E164)
    assert Order.objects.get(id=order_id).delivery_deadline is not None

    assert refusal_code(pin) == "voucher_already_used"
    run_jobs_until_idle()
    assert Order.objects.get(id=order_id).status == "delivered"
    assert carriers.balance_minor("base", BASE_E164) == before + 1000
    assert all(total.balanced for total in ledger.trial_balance())


def test_fifty_concurrent_redemptions_of_one_pin_make_one_order(base_pins: list[tuple[str, str]]) -> None:
    _, pin = base_pins[0]
    start = threading.Barrier(50)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        try:
            start.wait()
            try:
                order = vouchers.redeem(
                    pin, msisdn=BASE_NUMBER, channel="api", caller_keys=[f"ip:10.0.0.{i}"]
                )
                outcome = f"order {order['id']}"
            except DomainError as exc:
                outcome = exc.code
            with lock:
                outcomes.append(outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    orders = [o for o in outcomes if o.startswith("order ")]
    assert len(outcomes) == 50
    assert len(orders) == 1, outcomes
    assert outcomes.count("voucher_already_used") == 49
    assert Order.objects.count() == Payment.objects.count() == 1
    assert Job.objects.filter(kind="deliver").count() == 1
    assert Transfer.objects.filter(code="payment_captured").count() == 1


def test_ten_thousand_wrong_pins_are_locked_out_early(seeded: None) -> None:
    processed = 0
    codes: dict[str, int] = {}
    started = time.monotonic()
    for _, pin in zip(range(10_000), wrong_pins("base", seed=1), strict=False):
        code = refusal_code(pin)
        codes[code] = codes.get(code, 0) + 1
        if code != "voucher_locked_out":
            processed += 1
    print(f"\n10,000 wrong PINs in {time.monotonic() - started:.1f} s: {processed} looked up, {codes}")
    assert processed < 20
    assert codes["voucher_locked_out"] == 10_000 - processed
    assert RedeemAttempts.objects.get(key=vouchers.caller_key("line:+32486123456")).failures == processed


def test_the_lock_grows_to_an_hour_and_a_success_resets_it(
    base_pins: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [datetime.now(UTC)]
    monkeypatch.setattr(vouchers, "now", lambda: clock[0])
    guesses = wrong_pins("base", seed=2)
    for failure in range(1, HARD_LOCK_FAILURES + 1):
        if failure > 1:
            clock[0] += timedelta(seconds=301)  # past the longest growing delay
        assert refusal_code(next(guesses)) == "voucher_unknown"
    for later in (timedelta(0), timedelta(minutes=59, seconds=59)):
        clock[0] += later
        assert refusal_code(next(guesses)) == "voucher_locked_out"
        assert refusal_code(base_pins[0][1]) == "voucher_locked_out"  # even the right PIN, while locked
    clock[0] += timedelta(seconds=1)
    assert redeem(base_pins[0][1])["status"] == "paid"
    assert set(RedeemAttempts.objects.values_list("failures", flat=True)) == {0}


def test_malformed_pins_count_as_failures(seeded: None) -> None:
    for _ in range(4):
        assert refusal_code("1234 5678 9012 345", key="caller:kiosk-7") == "invalid_pin_format"
    assert refusal_code("1234", key="caller:kiosk-7") == "voucher_locked_out"


def test_expired_void_and_unknown_vouchers_are_refused_with_their_code(
    base_pins: list[tuple[str, str]],
) -> None:
    (expired_serial, expired), (void_serial, void), *_ = base_pins
    Voucher.objects.filter(id=expired_serial).update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert refusal_code(expired, key="line:a") == "voucher_expired"
    assert vouchers.expire_vouchers() == 1
    assert refusal_code(expired, key="line:b") == "voucher_expired"

    batch_id = Voucher.objects.get(id=void_serial).batch_id
    assert vouchers.void_batch(batch_id) == 4  # the expired one stays expired
    assert refusal_code(void, key="line:c") == "voucher_void"
    assert refusal_code(next(wrong_pins("base", seed=3)), key="line:d") == "voucher_unknown"
    assert Order.objects.count() == 0


def test_an_unknown_pin_writes_one_warning_without_the_pin(
    base_pins: list[tuple[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    pin = next(wrong_pins("base", seed=5))
    with caplog.at_level(logging.INFO, logger="topup.services.vouchers"):
        assert refusal_code(pin, key="line:e") == "voucher_unknown"
    (line,) = [r for r in caplog.records if r.levelname == "WARNING"]
    assert line.getMessage() == "voucher refused: voucher_unknown"
    assert (line.code, line.channel) == ("voucher_unknown", "sms")  # type: ignore[attr-defined]
    assert line.msisdn == "+32 486 •• •• 56"  # type: ignore[attr-defined]
    digits = pin.replace(" ", "")
    assert not [r for r in caplog.records if digits in str(r.__dict__).replace(" ", "")]


def test_a_voucher_given_back_after_a_refund_can_be_redeemed_again(base_pins: list[tuple[str, str]]) -> None:
    serial, pin = base_pins[0]
    first = str(redeem(pin)["id"])
    assert vouchers.reinstate(serial, order_id="ord_someone_else") is False
    assert vouchers.reinstate(serial, order_id=first) is True
    assert vouchers.reinstate(serial, order_id=first) is True  # a retried refund
    second = str(redeem(pin)["id"])
    assert second != first
    refs = set(Payment.objects.values_list("provider_ref", flat=True))
    assert refs == {f"{serial}/{first}", f"{serial}/{second}"}


def test_a_refused_line_leaves_the_voucher_unused(base_pins: list[tuple[str, str]]) -> None:
    serial, pin = base_pins[0]
    assert refusal_code(pin, msisdn="0486 12 34") == "invalid_msisdn"  # checked before the PIN, not counted
    iccid = "893200000000000001" + luhn_check_digit("893200000000000001")
    with pytest.raises(DomainError) as refused:
        vouchers.redeem(pin, iccid=iccid, channel="web", caller_keys=["line:x"])
    assert refused.value.code == "not_an_esim_plan"  # a BASE voucher for an eSIM: rolled back, counted
    assert Voucher.objects.get(id=serial).state == "active"
    assert RedeemAttempts.objects.get(key=vouchers.caller_key("line:x")).failures == 1
    assert not RedeemAttempts.objects.filter(key=vouchers.caller_key("line:+32486123456")).exists()
    assert redeem(pin)["status"] == "paid"
    assert Order.objects.count() == 1


def test_time_to_generate_one_hundred_thousand_vouchers(seeded: None) -> None:
    done: list[int] = []
    started = time.monotonic()
    batch, pairs = vouchers.generate_batch("base", "base-credit-10", 100_000, progress=done.append)
    elapsed_s = time.monotonic() - started
    print(f"\ngenerated 100,000 vouchers ({connection.vendor}) in {elapsed_s:.1f} s, batch {batch.id}")
    assert len({pin for _, pin in pairs}) == 100_000
    assert done[-1] == 100_000
    assert len(done) == 20
    assert Voucher.objects.filter(batch_id=batch.id).count() == 100_000
