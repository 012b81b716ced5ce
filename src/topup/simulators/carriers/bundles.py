"""Products at the carrier simulator: the catalogue, activating a product on a line for a reseller, buying a
bundle from the line's own balance, and the admin levers a demo needs (use data, move the clock on).

    POST /v1/networks/{network}/activations  {"reference", "msisdn", "product_ref", "price_minor", "currency"}
    200 {"status": "confirmed", "kind": "activation", "transaction_id", "balance_minor", "expires_at", ...}
    409 reference_conflict (another request with this reference)   422 cancelled | unknown_product |
    invalid_amount | invalid_msisdn | not_on_network   503 system_error   504 timeout (applied or not)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import web

from topup.simulators.carriers.common import (
    CLOCK,
    MAX_AMOUNT_MINOR,
    STATE,
    answer,
    faulty_write,
    json_body,
    network_of,
    rejected,
    valid_integer,
    valid_reference,
)
from topup.simulators.carriers.numbering import NETWORKS, locate
from topup.simulators.carriers.products import CATALOGUES, Product, find_product
from topup.simulators.carriers.state import Activation, CarrierState, LineBundle, Purchase

MAX_USAGE_MB = 1_000_000
MAX_CLOCK_STEP_S = 400 * 86_400


def activation_body(activation: Activation) -> dict[str, Any]:
    return {
        "reference": activation.reference,
        "status": "confirmed",
        "kind": "activation",
        "transaction_id": activation.transaction_id,
        "msisdn": activation.msisdn,
        "product_ref": activation.product_ref,
        "price_minor": activation.price_minor,
        "currency": "EUR",
        "balance_minor": activation.balance_minor,
        "expires_at": activation.expires_at,
    }


def bundle_body(bundle: LineBundle) -> dict[str, Any]:
    return {
        "product_ref": bundle.product_ref,
        "name": bundle.name,
        "unlimited": bundle.unlimited,
        "data_total_mb": bundle.data_total_mb,
        "data_left_mb": bundle.data_left_mb,
        "activated_at": bundle.activated_at,
        "expires_at": bundle.expires_at,
    }


async def products(request: web.Request) -> web.Response:
    network = await network_of(request)
    if isinstance(network, web.Response):
        return network
    return answer(200, network=network, products=[p.as_json() for p in CATALOGUES[network].values()])


@dataclass(frozen=True, slots=True)
class ProductRequest:
    """An activation or a purchase: which product, for which line, at which price, under which reference."""

    reference: str
    msisdn: str
    product_ref: str
    price_minor: int

    def matches(self, earlier: Activation | Purchase, e164: str | None) -> bool:
        given = (e164 or self.msisdn, self.product_ref, self.price_minor)
        return given == (earlier.msisdn, earlier.product_ref, earlier.price_minor)


def _product_request(body: object, msisdn: object) -> ProductRequest | None:
    """A well-formed request for a product on a line (the number in the body or the path), else None."""
    if not isinstance(body, dict) or body.get("currency", "EUR") != "EUR":
        return None
    reference, product_ref, price = body.get("reference"), body.get("product_ref"), body.get("price_minor")
    if not valid_reference(reference) or not isinstance(msisdn, str) or not valid_integer(price):
        return None
    if not isinstance(product_ref, str) or not 0 < len(product_ref) <= 60:
        return None
    return ProductRequest(reference, msisdn, product_ref, price)


def _go_ahead(
    network: str, asked: ProductRequest, earlier: Activation | Purchase | None, replay: dict[str, Any]
) -> web.Response | tuple[Product, str]:
    """The replay of a reference seen before (`replay`), a refusal, or the product and line to go on with."""
    subscriber = locate(asked.msisdn)
    if earlier is not None:
        same = asked.matches(earlier, subscriber.e164)
        return answer(200, **replay) if same else rejected(409, "reference_conflict")
    product = find_product(network, asked.product_ref)
    if not 0 < asked.price_minor <= MAX_AMOUNT_MINOR:
        return rejected(422, "invalid_amount")
    if product is None:
        return rejected(422, "unknown_product")
    if subscriber.e164 is None:
        return rejected(422, "invalid_msisdn")
    if subscriber.network != network:
        return rejected(422, "not_on_network")
    return product, subscriber.e164


def _activate_now(request: web.Request, network: str, asked: ProductRequest) -> web.Response:
    """Idempotency check and activation in one synchronous step: no other request can interleave."""
    state: CarrierState = request.app[STATE]
    seen = state.find(network, asked.reference)
    if seen is not None:  # a top-up, or a reference cancelled before it arrived
        cancelled = seen.status == "cancelled"
        return rejected(422, "cancelled") if cancelled else rejected(409, "reference_conflict")
    earlier = state.find_activation(network, asked.reference)
    decided = _go_ahead(network, asked, earlier, activation_body(earlier) if earlier else {})
    if isinstance(decided, web.Response):
        return decided
    product, e164 = decided
    activation = state.activate(network, asked.reference, msisdn=e164, product=product,
                                price_minor=asked.price_minor, at=request.app[CLOCK].now())  # fmt: skip
    return answer(200, **activation_body(activation))


activate = faulty_write(
    lambda _request, body: _product_request(body, body.get("msisdn") if isinstance(body, dict) else None),
    _activate_now,
)


def _purchase_body(purchase: Purchase) -> dict[str, Any]:
    return {
        "reference": purchase.reference,
        "status": "confirmed",
        "product_ref": purchase.product_ref,
        "price_minor": purchase.price_minor,
        "balance_minor": purchase.balance_minor,
        "currency": "EUR",
    }


def _buy_now(request: web.Request, network: str, asked: ProductRequest) -> web.Response:
    """Idempotency check, debit and bundle in one synchronous step: no other request can interleave."""
    state: CarrierState = request.app[STATE]
    earlier = state.find_purchase(network, asked.reference)
    decided = _go_ahead(network, asked, earlier, _purchase_body(earlier) if earlier else {})
    if isinstance(decided, web.Response):
        return decided
    product, e164 = decided
    if product.kind != "bundle":
        return rejected(422, "not_a_bundle")
    purchase = state.debit(network, asked.reference, msisdn=e164, product=product,
                           price_minor=asked.price_minor, at=request.app[CLOCK].now())  # fmt: skip
    if purchase is None:
        return rejected(422, "insufficient_balance")
    return answer(200, **_purchase_body(purchase))


purchase = faulty_write(lambda request, body: _product_request(body, request.match_info["msisdn"]), _buy_now)


async def use_data(request: web.Request) -> web.Response:
    """`{"network", "msisdn", "data_mb"}`: the line browses; its bundles shrink, the first to end first."""
    body = await json_body(request)
    if not isinstance(body, dict) or body.get("network") not in NETWORKS:
        return rejected(400, "invalid_request")
    subscriber, used = locate(str(body.get("msisdn", ""))), body.get("data_mb")
    if subscriber.e164 is None or not valid_integer(used) or not 0 < int(used) <= MAX_USAGE_MB:
        return rejected(400, "invalid_request")
    uncovered = request.app[STATE].use_data(subscriber.e164, int(used), request.app[CLOCK].now())
    return answer(200, msisdn=subscriber.e164, uncovered_mb=uncovered)


async def move_clock(request: web.Request) -> web.Response:
    """`{"advance_s": N}`: the carriers' clock moves N seconds on (never back), so bundles can expire."""
    body = await json_body(request)
    step = body.get("advance_s") if isinstance(body, dict) else None
    if not valid_integer(step) or not 0 <= int(step) <= MAX_CLOCK_STEP_S:
        return rejected(400, "invalid_request")
    clock = request.app[CLOCK]
    clock.offset += timedelta(seconds=int(step))
    return answer(200, now=clock.now().isoformat())
