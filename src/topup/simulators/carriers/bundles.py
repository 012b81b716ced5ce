"""Products at the carrier simulator: the catalogue, activating a product on a line for a reseller, buying a
bundle from the line's own balance, and the admin levers a demo needs (use data, move the clock on).

    POST /v1/networks/{network}/activations  {"reference", "msisdn", "product_ref", "price_minor", "currency"}
    200 {"status": "confirmed", "kind": "activation", "transaction_id", "balance_minor", "expires_at", ...}
    409 reference_conflict (another request with this reference)   422 cancelled | unknown_product |
    invalid_amount | invalid_msisdn | not_on_network   503 system_error   504 timeout (applied or not)
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

from topup.simulators.carriers.common import (
    CLOCK,
    MAX_AMOUNT_MINOR,
    STATE,
    answer,
    json_body,
    network_of,
    rejected,
    valid_integer,
    valid_reference,
    with_faults,
)
from topup.simulators.carriers.numbering import NETWORKS, locate
from topup.simulators.carriers.products import CATALOGUES, find_product
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


def _activation_request(body: object) -> tuple[str, str, str, int] | None:
    """(reference, msisdn, product_ref, price_minor) of a well-formed activation, else None."""
    if not isinstance(body, dict) or body.get("currency", "EUR") != "EUR":
        return None
    reference, msisdn, product_ref = body.get("reference"), body.get("msisdn"), body.get("product_ref")
    price = body.get("price_minor")
    if not valid_reference(reference) or not isinstance(msisdn, str) or not valid_integer(price):
        return None
    if not isinstance(product_ref, str) or not 0 < len(product_ref) <= 60:
        return None
    return str(reference), msisdn, product_ref, int(price)


def _activate_now(request: web.Request, network: str, parsed: tuple[str, str, str, int]) -> web.Response:
    """Idempotency check and activation in one synchronous step: no other request can interleave."""
    state: CarrierState = request.app[STATE]
    reference, msisdn, product_ref, price_minor = parsed
    subscriber = locate(msisdn)
    seen = state.find(network, reference)
    if seen is not None:  # a top-up, or a reference cancelled before it arrived
        cancelled = seen.status == "cancelled"
        return rejected(422, "cancelled") if cancelled else rejected(409, "reference_conflict")
    existing = state.find_activation(network, reference)
    if existing is not None:
        if (existing.msisdn, existing.product_ref, existing.price_minor) != (
            subscriber.e164 or msisdn,
            product_ref,
            price_minor,
        ):
            return rejected(409, "reference_conflict")
        return answer(200, **activation_body(existing))
    product = find_product(network, product_ref)
    refusal = _refusal(subscriber.e164, subscriber.network, network, price_minor, product is None)
    if refusal is not None or product is None or subscriber.e164 is None:
        return rejected(422, refusal or "unknown_product")
    activation = state.activate(network, reference, msisdn=subscriber.e164, product=product,
                                price_minor=price_minor, at=request.app[CLOCK].now())  # fmt: skip
    return answer(200, **activation_body(activation))


def _refusal(
    e164: str | None, line_network: str | None, network: str, price: int, unknown: bool
) -> str | None:
    if not 0 < price <= MAX_AMOUNT_MINOR:
        return "invalid_amount"
    if unknown:
        return "unknown_product"
    if e164 is None:
        return "invalid_msisdn"
    return "not_on_network" if line_network != network else None


async def activate(request: web.Request) -> web.Response:
    network = await network_of(request)
    if isinstance(network, web.Response):
        return network
    parsed = _activation_request(await json_body(request))
    if parsed is None:
        return rejected(400, "invalid_request")
    return await with_faults(request, network, lambda: _activate_now(request, network, parsed))


def _purchase_body(purchase: Purchase) -> dict[str, Any]:
    return {
        "reference": purchase.reference,
        "status": "confirmed",
        "product_ref": purchase.product_ref,
        "price_minor": purchase.price_minor,
        "balance_minor": purchase.balance_minor,
        "currency": "EUR",
    }


def _purchase_request(body: object) -> tuple[str, str, int] | None:
    """(reference, product_ref, price_minor) from a well-formed purchase request, else None."""
    if not isinstance(body, dict):
        return None
    reference, product_ref, price = body.get("reference"), body.get("product_ref"), body.get("price_minor")
    if not valid_reference(reference) or not isinstance(product_ref, str) or not product_ref:
        return None
    if not valid_integer(price):
        return None
    return str(reference), product_ref, int(price)


def _buy_now(request: web.Request, network: str, parsed: tuple[str, str, int]) -> web.Response:
    """Idempotency check, debit and bundle in one synchronous step: no other request can interleave."""
    state: CarrierState = request.app[STATE]
    reference, product_ref, price_minor = parsed
    subscriber = locate(request.match_info["msisdn"])
    existing = state.find_purchase(network, reference)
    if existing is not None:
        if (existing.msisdn, existing.product_ref, existing.price_minor) != (
            subscriber.e164 or request.match_info["msisdn"],
            product_ref,
            price_minor,
        ):
            return rejected(409, "reference_conflict")
        return answer(200, **_purchase_body(existing))
    product = find_product(network, product_ref)
    refusal = _refusal(subscriber.e164, subscriber.network, network, price_minor, product is None)
    if refusal is not None or product is None or subscriber.e164 is None:
        return rejected(422, refusal or "unknown_product")
    if product.kind != "bundle":
        return rejected(422, "not_a_bundle")
    purchase = state.debit(network, reference, msisdn=subscriber.e164, product=product,
                           price_minor=price_minor, at=request.app[CLOCK].now())  # fmt: skip
    if purchase is None:
        return rejected(422, "insufficient_balance")
    return answer(200, **_purchase_body(purchase))


async def purchase(request: web.Request) -> web.Response:
    network = await network_of(request)
    if isinstance(network, web.Response):
        return network
    parsed = _purchase_request(await json_body(request))
    if parsed is None:
        return rejected(400, "invalid_request")
    return await with_faults(request, network, lambda: _buy_now(request, network, parsed))


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
