"""The carrier simulator as a real peer on loopback, driven through the production `HttpCarrierGateway`."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.support.processes import free_port, running
from topup.adapters.carriers.http import HttpCarrierGateway
from topup.domain.money import Money
from topup.ports import CarrierBalance, CarrierOutcome, CarrierResult

KEY = "carrier_test_key"
EUR_10 = Money(1000, "EUR")
_numbers = itertools.count(1)
_references = itertools.count(1)


def proximus_number() -> str:
    """A fresh Proximus-range number (+32 471 …), never in the simulator's ported table."""
    return f"+32471{next(_numbers):06d}"


def ref(tag: str = "ord") -> str:
    return f"{tag}_{next(_references):06d}"


@contextmanager
def simulator(*flags: str, state_file: Path | None = None) -> Iterator[str]:
    port = free_port()
    args = ["-m", "topup.simulators.carriers", "--port", str(port), "--api-key", KEY, *flags]
    if state_file is not None:
        args += ["--state-file", str(state_file)]
    with running(args, ready_url=f"http://127.0.0.1:{port}/healthz"):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def gateway_to(*flags: str, timeout_s: float = 5.0) -> Iterator[HttpCarrierGateway]:
    with simulator(*flags) as url, HttpCarrierGateway(url, KEY, timeout_s) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def carriers_url() -> Iterator[str]:
    with simulator() as url:
        yield url


@pytest.fixture
def gateway(carriers_url: str) -> Iterator[HttpCarrierGateway]:
    with HttpCarrierGateway(carriers_url, KEY, timeout_s=5.0) as gateway:
        yield gateway


def balance_minor(gateway: HttpCarrierGateway, network: str, msisdn: str) -> int:
    balance = gateway.balance(network, msisdn)
    assert isinstance(balance, CarrierBalance), balance
    return balance.balance.amount_minor


def test_topup_credits_once_and_a_replay_returns_the_first_result(gateway: HttpCarrierGateway) -> None:
    msisdn, reference = proximus_number(), ref()
    first = gateway.topup("proximus", msisdn, EUR_10, reference)
    again = gateway.topup("proximus", msisdn, EUR_10, reference)
    assert first.outcome is CarrierOutcome.CONFIRMED
    assert first.carrier_ref is not None
    assert first.carrier_ref.startswith("tx_")
    assert first.balance_after == EUR_10
    assert again == first
    assert balance_minor(gateway, "proximus", msisdn) == 1000
    status = gateway.status("proximus", reference)
    assert (status.outcome, status.carrier_ref) == (CarrierOutcome.CONFIRMED, first.carrier_ref)


def test_twenty_concurrent_replays_credit_once(gateway: HttpCarrierGateway) -> None:
    msisdn, reference = proximus_number(), ref()
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: gateway.topup("proximus", msisdn, EUR_10, reference), range(20)))
    assert {result.outcome for result in results} == {CarrierOutcome.CONFIRMED}
    assert len({result.carrier_ref for result in results}) == 1
    assert balance_minor(gateway, "proximus", msisdn) == 1000


def test_same_reference_with_another_amount_or_number_is_a_conflict(gateway: HttpCarrierGateway) -> None:
    msisdn, reference = proximus_number(), ref()
    assert gateway.topup("proximus", msisdn, EUR_10, reference).outcome is CarrierOutcome.CONFIRMED
    other_amount = gateway.topup("proximus", msisdn, Money(500, "EUR"), reference)
    other_number = gateway.topup("proximus", proximus_number(), EUR_10, reference)
    expected = CarrierResult(CarrierOutcome.REJECTED, code="reference_conflict")
    assert other_amount == expected
    assert other_number == expected
    assert balance_minor(gateway, "proximus", msisdn) == 1000


@pytest.mark.parametrize(
    ("network", "msisdn", "code"),
    [
        ("proximus", "+32496123456", "not_on_network"),  # Orange range
        ("base", "+32471123456", "not_on_network"),  # Proximus range
        ("proximus", "+32470000001", "not_on_network"),  # Proximus range, ported to Orange
        ("base", "+32485000001", "not_on_network"),  # BASE range, ported to Telenet
        ("proximus", "+3222268888", "not_on_network"),  # Brussels fixed line
        ("orange", "+33612345678", "not_on_network"),  # French mobile
        ("proximus", "+3247012345", "invalid_msisdn"),  # one digit short
        ("proximus", "0470123456", "invalid_msisdn"),  # not E.164
    ],
)
def test_numbers_that_are_not_lines_of_the_network_are_refused(
    gateway: HttpCarrierGateway, network: str, msisdn: str, code: str
) -> None:
    result = gateway.topup(network, msisdn, EUR_10, ref())
    assert result == CarrierResult(CarrierOutcome.REJECTED, code=code)


@pytest.mark.parametrize(
    ("network", "msisdn"),
    [("orange", "+32470000001"), ("proximus", "+32496000001"), ("telenet", "+32485000001")],
)
def test_a_ported_in_number_is_a_line_of_its_new_network(
    gateway: HttpCarrierGateway, network: str, msisdn: str
) -> None:
    before = balance_minor(gateway, network, msisdn)
    assert gateway.topup(network, msisdn, EUR_10, ref()).outcome is CarrierOutcome.CONFIRMED
    assert balance_minor(gateway, network, msisdn) == before + 1000


def test_amounts_other_than_positive_euros_are_refused(gateway: HttpCarrierGateway) -> None:
    refused = CarrierResult(CarrierOutcome.REJECTED, code="invalid_amount")
    assert gateway.topup("proximus", proximus_number(), Money(0, "EUR"), ref()) == refused
    assert gateway.topup("proximus", proximus_number(), Money(1000, "USD"), ref()) == refused


def test_balance_inquiry_reports_balance_and_pay_and_go_validity(gateway: HttpCarrierGateway) -> None:
    msisdn = proximus_number()
    fresh = gateway.balance("proximus", msisdn)
    assert fresh == CarrierBalance(msisdn=msisdn, balance=Money(0, "EUR"), valid_until=None)
    gateway.topup("proximus", msisdn, EUR_10, ref())
    gateway.topup("proximus", msisdn, Money(550, "EUR"), ref())
    after = gateway.balance("proximus", msisdn)
    assert isinstance(after, CarrierBalance)
    assert after.balance == Money(1550, "EUR")
    today = datetime.now(UTC).date()
    expected = {(day + timedelta(days=180)).isoformat() for day in (today, today + timedelta(days=1))}
    assert after.valid_until in expected  # the server's clock may have just passed midnight
    assert gateway.balance("orange", msisdn) == CarrierResult(CarrierOutcome.REJECTED, code="not_on_network")


def test_cancel_before_apply_refuses_the_late_topup(gateway: HttpCarrierGateway) -> None:
    msisdn, reference = proximus_number(), ref()
    assert gateway.status("proximus", reference).outcome is CarrierOutcome.NOT_FOUND
    assert gateway.cancel("proximus", reference).outcome is CarrierOutcome.CANCELLED
    late = gateway.topup("proximus", msisdn, EUR_10, reference)
    assert late == CarrierResult(CarrierOutcome.REJECTED, code="cancelled")
    assert gateway.status("proximus", reference).outcome is CarrierOutcome.CANCELLED
    assert balance_minor(gateway, "proximus", msisdn) == 0


def test_cancel_after_apply_is_too_late_and_says_confirmed(gateway: HttpCarrierGateway) -> None:
    msisdn, reference = proximus_number(), ref()
    applied = gateway.topup("proximus", msisdn, EUR_10, reference)
    cancelled = gateway.cancel("proximus", reference)
    assert cancelled.outcome is CarrierOutcome.CONFIRMED
    assert cancelled.carrier_ref == applied.carrier_ref
    assert balance_minor(gateway, "proximus", msisdn) == 1000


def test_requests_without_the_key_are_refused(carriers_url: str) -> None:
    msisdn = proximus_number()
    body = {"reference": ref(), "msisdn": msisdn, "amount_minor": 100, "currency": "EUR"}
    response = httpx.post(f"{carriers_url}/v1/networks/proximus/topups", json=body)
    assert response.status_code == 401
    with HttpCarrierGateway(carriers_url, "wrong", timeout_s=5.0) as stranger:
        result = stranger.topup("proximus", msisdn, EUR_10, ref())
    assert result == CarrierResult(CarrierOutcome.RETRY, code="unauthorized")


def test_an_unknown_network_is_refused(gateway: HttpCarrierGateway) -> None:
    result = gateway.topup("lycamobile", "+32465123456", EUR_10, ref())
    assert result == CarrierResult(CarrierOutcome.REJECTED, code="unknown_network")


def test_system_errors_ask_for_a_retry_and_credit_nothing() -> None:
    with gateway_to("--error-rate", "1.0") as gateway:
        msisdn, reference = proximus_number(), ref()
        result = gateway.topup("proximus", msisdn, EUR_10, reference)
        assert result == CarrierResult(CarrierOutcome.RETRY, code="system_error")
        assert balance_minor(gateway, "proximus", msisdn) == 0
        assert gateway.status("proximus", reference).outcome is CarrierOutcome.NOT_FOUND


def test_an_unreachable_carrier_asks_for_a_retry() -> None:
    with HttpCarrierGateway(f"http://127.0.0.1:{free_port()}", KEY, timeout_s=2.0) as gateway:
        result = gateway.topup("proximus", proximus_number(), EUR_10, ref())
        status = gateway.status("proximus", ref())
    assert result == CarrierResult(CarrierOutcome.RETRY, code="unreachable")
    assert status.outcome is CarrierOutcome.UNKNOWN


def test_timeouts_are_unknown_and_the_status_tells_the_truth() -> None:
    flags = ("--timeout-rate", "1.0", "--timeout-sleep-s", "3", "--seed", "20240611")
    with gateway_to(*flags, timeout_s=0.5) as gateway:
        msisdn = proximus_number()
        sent = {ref(): Money(100 + i, "EUR") for i in range(20)}
        for reference, amount in sent.items():
            result = gateway.topup("proximus", msisdn, amount, reference)
            assert result == CarrierResult(CarrierOutcome.UNKNOWN, code="timeout")
        truth = {reference: gateway.status("proximus", reference).outcome for reference in sent}
        applied = [
            amount.amount_minor
            for reference, amount in sent.items()
            if truth[reference] is CarrierOutcome.CONFIRMED
        ]
        assert set(truth.values()) == {CarrierOutcome.CONFIRMED, CarrierOutcome.NOT_FOUND}
        assert balance_minor(gateway, "proximus", msisdn) == sum(applied)


def test_faults_change_at_runtime() -> None:
    with simulator() as url, HttpCarrierGateway(url, KEY, timeout_s=5.0) as gateway:
        admin = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"})
        msisdn = proximus_number()
        changed = admin.post("/v1/admin/faults", json={"network": "proximus", "error_rate": 1.0})
        assert changed.json()["networks"]["proximus"]["error_rate"] == 1.0
        assert admin.get("/v1/admin/faults").json()["networks"]["orange"]["error_rate"] == 0.0
        assert gateway.topup("proximus", msisdn, EUR_10, ref()).outcome is CarrierOutcome.RETRY
        assert admin.post("/v1/admin/faults", json={"network": "*", "error_rate": 0.0}).status_code == 200
        assert gateway.topup("proximus", msisdn, EUR_10, ref()).outcome is CarrierOutcome.CONFIRMED
        refused = admin.post("/v1/admin/faults", json={"network": "proximus", "error_rate": 2})
        assert refused.status_code == 400
        admin.close()


def test_reconciliation_lists_and_sums_confirmed_topups() -> None:
    with simulator() as url, HttpCarrierGateway(url, KEY, timeout_s=5.0) as gateway:
        admin = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"})
        references = [ref() for _ in range(3)]
        for i, reference in enumerate(references):
            gateway.topup("proximus", proximus_number(), Money(100 * (i + 1), "EUR"), reference)
        gateway.cancel("proximus", ref())
        page = admin.get("/v1/networks/proximus/topups", params={"limit": 2}).json()
        rest = admin.get("/v1/networks/proximus/topups", params={"after": page["next_after"]}).json()
        listed = [t["reference"] for t in page["topups"] + rest["topups"]]
        summary = admin.get("/v1/summary").json()["networks"]
        admin.close()
    assert listed == references
    assert rest["next_after"] is None
    assert summary["proximus"] == {"topups": 3, "amount_minor": 600, "lines": 3, "activations": 0}
    assert summary["orange"] == {"topups": 0, "amount_minor": 0, "lines": 0, "activations": 0}


def test_a_state_file_keeps_balances_and_references_across_a_restart(tmp_path: Path) -> None:
    state_file, msisdn, reference = tmp_path / "carriers.sqlite3", proximus_number(), ref()
    with simulator(state_file=state_file) as url, HttpCarrierGateway(url, KEY, timeout_s=5.0) as gateway:
        first = gateway.topup("proximus", msisdn, EUR_10, reference)
        voided = ref()
        gateway.cancel("proximus", voided)
    with simulator(state_file=state_file) as url, HttpCarrierGateway(url, KEY, timeout_s=5.0) as gateway:
        assert balance_minor(gateway, "proximus", msisdn) == 1000
        assert gateway.topup("proximus", msisdn, EUR_10, reference) == first
        assert gateway.topup("proximus", msisdn, EUR_10, voided).code == "cancelled"
        second = gateway.topup("proximus", msisdn, EUR_10, ref())
    assert second.balance_after == Money(2000, "EUR")
    assert second.carrier_ref != first.carrier_ref


# ---------------------------------------------------------------- purchases from a line's balance

BUNDLE_999 = Money(999, "EUR")


def test_a_purchase_debits_the_balance_once_and_a_replay_returns_the_first_answer(
    gateway: HttpCarrierGateway,
) -> None:
    msisdn, reference = proximus_number(), ref("buy")
    assert gateway.topup("proximus", msisdn, Money(2000, "EUR"), ref()).outcome is CarrierOutcome.CONFIRMED
    first = gateway.buy_from_balance("proximus", msisdn, "PX-DATA-5GB-7D", BUNDLE_999, reference)
    again = gateway.buy_from_balance("proximus", msisdn, "PX-DATA-5GB-7D", BUNDLE_999, reference)
    assert first == CarrierResult(
        CarrierOutcome.CONFIRMED, carrier_ref=reference, balance_after=Money(1001, "EUR")
    )
    assert again == first
    assert balance_minor(gateway, "proximus", msisdn) == 1001
    conflict = gateway.buy_from_balance("proximus", msisdn, "PX-DATA-1GB-1D", Money(299, "EUR"), reference)
    assert conflict == CarrierResult(CarrierOutcome.REJECTED, code="reference_conflict")


def test_twenty_concurrent_purchase_replays_debit_once(gateway: HttpCarrierGateway) -> None:
    msisdn, reference = proximus_number(), ref("buy")
    gateway.topup("proximus", msisdn, Money(2000, "EUR"), ref())
    with ThreadPoolExecutor(20) as pool:
        results = list(
            pool.map(
                lambda _: gateway.buy_from_balance(
                    "proximus", msisdn, "PX-DATA-5GB-7D", BUNDLE_999, reference
                ),
                range(20),
            )
        )
    assert {r.outcome for r in results} == {CarrierOutcome.CONFIRMED}
    assert balance_minor(gateway, "proximus", msisdn) == 1001


def test_a_purchase_the_balance_does_not_cover_is_refused_and_debits_nothing(
    gateway: HttpCarrierGateway,
) -> None:
    msisdn = proximus_number()
    never_seen = gateway.buy_from_balance("proximus", msisdn, "PX-DATA-5GB-7D", BUNDLE_999, ref("buy"))
    assert never_seen == CarrierResult(CarrierOutcome.REJECTED, code="insufficient_balance")
    gateway.topup("proximus", msisdn, Money(500, "EUR"), ref())
    reference = ref("buy")
    short = gateway.buy_from_balance("proximus", msisdn, "PX-DATA-5GB-7D", BUNDLE_999, reference)
    assert short == CarrierResult(CarrierOutcome.REJECTED, code="insufficient_balance")
    assert balance_minor(gateway, "proximus", msisdn) == 500
    gateway.topup("proximus", msisdn, EUR_10, ref())  # a refusal is not kept: the same reference may retry
    retried = gateway.buy_from_balance("proximus", msisdn, "PX-DATA-5GB-7D", BUNDLE_999, reference)
    assert retried.balance_after == Money(501, "EUR")


def test_a_purchase_for_a_line_of_another_network_is_refused(gateway: HttpCarrierGateway) -> None:
    result = gateway.buy_from_balance("orange", proximus_number(), "OR-DATA-5GB-7D", BUNDLE_999, ref("buy"))
    assert result == CarrierResult(CarrierOutcome.REJECTED, code="not_on_network")
    invalid = gateway.buy_from_balance(
        "proximus", proximus_number(), "PX-DATA-5GB-7D", Money(0, "EUR"), ref("buy")
    )
    assert invalid == CarrierResult(CarrierOutcome.REJECTED, code="invalid_amount")


def test_a_purchase_during_system_errors_asks_for_a_retry() -> None:
    with gateway_to("--error-rate", "1.0") as gateway:
        result = gateway.buy_from_balance(
            "proximus", proximus_number(), "PX-DATA-5GB-7D", BUNDLE_999, ref("buy")
        )
    assert result == CarrierResult(CarrierOutcome.RETRY, code="system_error")


def test_a_state_file_keeps_purchases_across_a_restart(tmp_path: Path) -> None:
    state_file, msisdn, reference = tmp_path / "carriers.sqlite3", proximus_number(), ref("buy")
    with simulator(state_file=state_file) as url, HttpCarrierGateway(url, KEY, timeout_s=5.0) as gateway:
        gateway.topup("proximus", msisdn, Money(2000, "EUR"), ref())
        first = gateway.buy_from_balance("proximus", msisdn, "PX-DATA-5GB-7D", BUNDLE_999, reference)
    with simulator(state_file=state_file) as url, HttpCarrierGateway(url, KEY, timeout_s=5.0) as gateway:
        assert balance_minor(gateway, "proximus", msisdn) == 1001
        assert gateway.buy_from_balance("proximus", msisdn, "PX-DATA-5GB-7D", BUNDLE_999, reference) == first
        assert balance_minor(gateway, "proximus", msisdn) == 1001
