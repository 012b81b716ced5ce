"""Products at the carrier simulator through the production `HttpCarrierGateway`: a bundle is activated as
the carrier's product (the credit stays), once per reference, under faults and timeouts; status and cancel
answer for activations as for top-ups; the balance lists the line's bundles until they expire."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.integration.conftest import Carriers
from tests.integration.test_carrier_simulator import (
    EUR_10,
    KEY,
    balance_minor,
    gateway_to,
    proximus_number,
    ref,
    simulator,
)
from topup.adapters.carriers.http import HttpCarrierGateway
from topup.domain.money import Money
from topup.ports import CarrierBalance, CarrierBundle, CarrierOutcome, CarrierResult
from topup.settings import CONFIG

FIVE_GB = "PX-DATA-5GB-7D"
EUR_999 = Money(999, "EUR")


@pytest.fixture
def carrier(carriers: Carriers, carriers_simulator: str) -> Iterator[HttpCarrierGateway]:
    """The session's carrier simulator (faults off), through the production client."""
    with HttpCarrierGateway(carriers_simulator, CONFIG.carrier_api_key, timeout_s=5.0) as gateway:
        yield gateway


def bundles(gateway: HttpCarrierGateway, msisdn: str, network: str = "proximus") -> tuple[CarrierBundle, ...]:
    balance = gateway.balance(network, msisdn)
    assert isinstance(balance, CarrierBalance), balance
    return balance.bundles


def admin(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"})


def test_the_catalogue_lists_credit_and_bundle_products(carriers: Carriers) -> None:
    listed = carriers.http.get("/v1/networks/proximus/products").json()["products"]
    by_ref = {p["product_ref"]: p for p in listed}
    assert by_ref[FIVE_GB] | {"name": "-"} == {
        "product_ref": FIVE_GB, "kind": "bundle", "name": "-", "price_minor": 999, "currency": "EUR",
        "data_mb": 5120, "unlimited": False, "fair_use_mb": None, "validity_days": 7,
    }  # fmt: skip
    assert by_ref["PX-DATA-UNL-30D"]["unlimited"] is True
    assert by_ref["PX-CREDIT-10"]["kind"] == "credit"
    assert all(ref.startswith("PX-") for ref in by_ref)


def test_a_bundle_is_activated_once_and_the_credit_stays(carrier: HttpCarrierGateway) -> None:
    msisdn, reference = proximus_number(), ref()
    carrier.topup("proximus", msisdn, EUR_10, ref())
    first = carrier.activate_bundle("proximus", msisdn, FIVE_GB, EUR_999, reference)
    again = carrier.activate_bundle("proximus", msisdn, FIVE_GB, EUR_999, reference)
    assert first.outcome is CarrierOutcome.CONFIRMED
    assert first.balance_after == EUR_10  # the credit is not touched
    assert again == first
    assert carrier.status("proximus", reference) == first
    assert carrier.cancel("proximus", reference) == first  # too late: it was applied
    assert balance_minor(carrier, "proximus", msisdn) == 1000
    [bundle] = bundles(carrier, msisdn)
    assert (bundle.product_ref, bundle.data_total_mb, bundle.data_left_mb, bundle.unlimited) == (
        FIVE_GB, 5120, 5120, False,
    )  # fmt: skip
    assert bundle.name == "Pay&Go Data 5 GB 7 days"
    assert bundle.expires_at is not None


def test_twenty_concurrent_activations_with_one_reference_activate_once(
    carrier: HttpCarrierGateway,
) -> None:
    msisdn, reference = proximus_number(), ref()
    with ThreadPoolExecutor(20) as pool:
        results = list(
            pool.map(
                lambda _: carrier.activate_bundle("proximus", msisdn, FIVE_GB, EUR_999, reference), range(20)
            )
        )
    assert {r.outcome for r in results} == {CarrierOutcome.CONFIRMED}
    assert len({r.carrier_ref for r in results}) == 1
    assert len(bundles(carrier, msisdn)) == 1


def test_activation_refusals_have_their_codes(carrier: HttpCarrierGateway) -> None:
    msisdn, reference = proximus_number(), ref()
    assert (
        carrier.activate_bundle("proximus", msisdn, FIVE_GB, EUR_999, reference).outcome
        is CarrierOutcome.CONFIRMED
    )

    def code(network: str, number: str, product: str, price: Money, reference: str) -> str | None:
        result = carrier.activate_bundle(network, number, product, price, reference)
        assert result.outcome is CarrierOutcome.REJECTED, result
        return result.code

    assert code("proximus", msisdn, "PX-DATA-1GB-1D", Money(299, "EUR"), reference) == "reference_conflict"
    assert code("proximus", msisdn, "OR-DATA-5GB-7D", EUR_999, ref()) == "unknown_product"
    assert code("proximus", msisdn, FIVE_GB, Money(0, "EUR"), ref()) == "invalid_amount"
    assert code("orange", msisdn, "OR-DATA-5GB-7D", EUR_999, ref()) == "not_on_network"
    topped = ref()
    carrier.topup("proximus", msisdn, EUR_10, topped)
    assert code("proximus", msisdn, FIVE_GB, EUR_999, topped) == "reference_conflict"  # one reference space
    voided = ref()
    assert carrier.cancel("proximus", voided).outcome is CarrierOutcome.CANCELLED
    assert code("proximus", msisdn, FIVE_GB, EUR_999, voided) == "cancelled"  # a late arrival is refused
    assert carrier.status("proximus", ref()).outcome is CarrierOutcome.NOT_FOUND
    assert len(bundles(carrier, msisdn)) == 1


def test_activations_are_listed_for_reconciliation() -> None:
    with simulator() as url, HttpCarrierGateway(url, KEY, timeout_s=5.0) as gateway, admin(url) as client:
        references = [ref() for _ in range(3)]
        for reference in references:
            gateway.activate_bundle("proximus", proximus_number(), FIVE_GB, EUR_999, reference)
        gateway.topup("proximus", proximus_number(), EUR_10, ref())
        page = client.get("/v1/networks/proximus/activations", params={"limit": 2}).json()
        rest = client.get("/v1/networks/proximus/activations", params={"after": page["next_after"]}).json()
        listed = page["activations"] + rest["activations"]
        assert [a["reference"] for a in listed] == references
        assert {a["product_ref"] for a in listed} == {FIVE_GB}
        assert rest["next_after"] is None
        assert len(client.get("/v1/networks/proximus/topups").json()["topups"]) == 1


def test_a_credit_product_adds_its_value(carrier: HttpCarrierGateway) -> None:
    msisdn = proximus_number()
    result = carrier.activate_bundle("proximus", msisdn, "PX-CREDIT-10", EUR_10, ref())
    assert result.balance_after == EUR_10
    assert bundles(carrier, msisdn) == ()


def test_activations_under_system_errors_and_timeouts_apply_at_most_once() -> None:
    with gateway_to("--error-rate", "1.0") as gateway:
        msisdn, reference = proximus_number(), ref()
        result = gateway.activate_bundle("proximus", msisdn, FIVE_GB, EUR_999, reference)
        assert result == CarrierResult(CarrierOutcome.RETRY, code="system_error")
        assert gateway.status("proximus", reference).outcome is CarrierOutcome.NOT_FOUND
        assert bundles(gateway, msisdn) == ()
    flags = ("--timeout-rate", "1.0", "--timeout-sleep-s", "3", "--seed", "20240611")
    with gateway_to(*flags, timeout_s=0.5) as gateway:
        msisdn = proximus_number()
        sent = [ref() for _ in range(12)]
        for reference in sent:
            result = gateway.activate_bundle("proximus", msisdn, FIVE_GB, EUR_999, reference)
            assert result == CarrierResult(CarrierOutcome.UNKNOWN, code="timeout")
        truth = {reference: gateway.status("proximus", reference).outcome for reference in sent}
        assert set(truth.values()) == {CarrierOutcome.CONFIRMED, CarrierOutcome.NOT_FOUND}
        applied = sum(outcome is CarrierOutcome.CONFIRMED for outcome in truth.values())
        assert len(bundles(gateway, msisdn)) == applied
        assert balance_minor(gateway, "proximus", msisdn) == 0


def test_the_balance_shows_what_is_left_and_drops_expired_bundles() -> None:
    with simulator() as url, HttpCarrierGateway(url, KEY, timeout_s=5.0) as gateway, admin(url) as client:
        msisdn = proximus_number()
        gateway.activate_bundle("proximus", msisdn, "PX-DATA-1GB-1D", Money(299, "EUR"), ref())
        gateway.activate_bundle("proximus", msisdn, FIVE_GB, EUR_999, ref())
        gateway.activate_bundle("proximus", msisdn, "PX-DATA-UNL-30D", Money(3999, "EUR"), ref())
        used = client.post("/v1/admin/usage", json={"network": "proximus", "msisdn": msisdn, "data_mb": 1500})
        assert used.json()["uncovered_mb"] == 0
        day, week, month = bundles(gateway, msisdn)
        assert (day.data_left_mb, week.data_left_mb, week.data_total_mb) == (0, 5120 - 476, 5120)
        assert (month.unlimited, month.data_left_mb) == (True, None)
        assert client.post("/v1/admin/clock", json={"advance_s": 2 * 86_400}).status_code == 200
        assert [b.product_ref for b in bundles(gateway, msisdn)] == [FIVE_GB, "PX-DATA-UNL-30D"]
        assert client.post("/v1/admin/clock", json={"advance_s": -1}).status_code == 400


def test_a_purchase_from_credit_activates_the_bundle(carrier: HttpCarrierGateway) -> None:
    msisdn = proximus_number()
    carrier.topup("proximus", msisdn, Money(2000, "EUR"), ref())
    bought = carrier.buy_from_balance("proximus", msisdn, FIVE_GB, EUR_999, ref("buy"))
    assert bought.balance_after == Money(1001, "EUR")
    assert [b.product_ref for b in bundles(carrier, msisdn)] == [FIVE_GB]
    credit = carrier.buy_from_balance("proximus", msisdn, "PX-CREDIT-5", Money(500, "EUR"), ref("buy"))
    assert credit == CarrierResult(CarrierOutcome.REJECTED, code="not_a_bundle")
    unknown = carrier.buy_from_balance("proximus", msisdn, "D7G5", EUR_999, ref("buy"))
    assert unknown == CarrierResult(CarrierOutcome.REJECTED, code="unknown_product")


@pytest.mark.parametrize(
    "answer",
    [
        {"bundles": "none"},
        {"bundles": [{"product_ref": "X", "name": "X", "unlimited": False, "data_left_mb": -1}]},
        {"bundles": [{"name": "X"}]},
    ],
)
def test_a_balance_with_unreadable_bundles_is_unknown(answer: dict[str, object]) -> None:
    body = {"msisdn": "+32471000000", "balance_minor": 0, "currency": "EUR", **answer}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    gateway = HttpCarrierGateway("http://carrier.invalid", KEY, timeout_s=1.0)
    gateway._client = httpx.Client(base_url="http://carrier.invalid", transport=transport)
    assert gateway.balance("proximus", "+32471000000") == CarrierResult(
        CarrierOutcome.UNKNOWN, code="unreadable_answer"
    )


def test_a_state_file_keeps_activations_and_bundles(tmp_path: object) -> None:
    from pathlib import Path  # noqa: PLC0415

    state_file, msisdn, reference = Path(str(tmp_path)) / "carriers.sqlite3", proximus_number(), ref()
    with simulator(state_file=state_file) as url, HttpCarrierGateway(url, KEY, timeout_s=5.0) as gateway:
        first = gateway.activate_bundle("proximus", msisdn, FIVE_GB, EUR_999, reference)
        with admin(url) as client:
            client.post("/v1/admin/usage", json={"network": "proximus", "msisdn": msisdn, "data_mb": 20})
    with simulator(state_file=state_file) as url, HttpCarrierGateway(url, KEY, timeout_s=5.0) as gateway:
        assert gateway.activate_bundle("proximus", msisdn, FIVE_GB, EUR_999, reference) == first
        assert [b.data_left_mb for b in bundles(gateway, msisdn)] == [5100]
