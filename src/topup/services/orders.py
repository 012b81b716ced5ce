"""Placing an order: quote, claim the idempotency key, create the payment at the provider, then save order +
payment + the answer in one commit; reading an order for a caller who may see it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from django.db import IntegrityError, transaction
from django.utils import translation

from topup import logcontext
from topup.clock import new_id, now
from topup.db.models import Order, OrderEvent, Payment
from topup.domain.autotopup import Spec as AutoSpec
from topup.domain.catalogue import Network, NetworkKind, Plan
from topup.domain.errors import DomainError, InvalidInput
from topup.domain.identifiers import parse_belgian_mobile, parse_eid, parse_email
from topup.domain.orders import OrderStatus
from topup.domain.payment_attempts import check_method_currency
from topup.domain.quotes import Quote, make_quote
from topup.metrics import record
from topup.ports import PaymentRequest, PortUnavailable, ProviderRequestError
from topup.services import autotopup, carrier_products, catalogue, esim, fx, peers, plan_text, promotions
from topup.services.idempotency import (
    Claim,
    IdempotencyKey,
    StoredResponse,
    claim,
    complete,
    release,
    released_on_failover,
    replay,
    twin_answer,
)
from topup.services.order_access import Caller, order_token, token_hash, with_token
from topup.services.order_view import order_document, owned_document
from topup.services.payments import next_action_fields
from topup.settings import CONFIG

log = logging.getLogger(__name__)
PAYMENT_METHODS = ("card", "bancontact", "alipay", "wechat_pay")  # routed to providers by topup.wiring


class ProviderUnavailable(Exception):
    """The payment provider could not create the payment; nothing was saved."""


@dataclass(frozen=True)
class QuoteRequest:
    """What is being bought for which line: a Belgian number, an existing eSIM (ICCID), or a new eSIM."""

    plan_id: str
    msisdn: str = ""
    network_confirmed: bool = False
    iccid: str = ""
    new_esim: bool = False
    eid: str = ""
    payment_method: str = ""  # Alipay and WeChat Pay payers are quoted in yuan too (services/fx)
    promo_code: str = ""  # a code from a flyer or a campaign, applied by services/promotions
    email: str = ""  # where the receipt goes; a new eSIM's buyer gives it (also "who the customer is")
    # The channel asking (web, api, sms, ussd, pos...): a campaign limited to channels applies only when it
    # is one of them ("" matches no such campaign). place_order prices with it as given, so that an order
    # always costs what the quote its caller showed said.
    channel: str = ""
    # False where the price is already settled elsewhere: a voucher pays its plan at face value.
    with_promotions: bool = True


@dataclass(frozen=True)
class Priced:
    quote: Quote
    line_id: str | None  # the hosted line being topped up; None for external numbers and new eSIMs
    eid: str


def quote(request: QuoteRequest) -> Quote:
    return price(request).quote


def price(request: QuoteRequest) -> Priced:
    """The request priced: the plan's quote, the promotions that apply (or the code refused), FX last."""
    priced = _price(request)
    if request.with_promotions:
        priced = promotions.apply(request, priced, at=now())
    return replace(priced, quote=fx.with_fx(priced.quote, request.payment_method))


def _price(request: QuoteRequest) -> Priced:
    plan, network = catalogue.plan_and_network(request.plan_id)
    if network.kind is NetworkKind.HOSTED:
        return _price_hosted(request, plan, network)
    if request.iccid or request.new_esim:
        raise InvalidInput(
            f"{plan.id} is a plan for a {network.name} number, not for an eSIM", code="not_an_esim_plan",
            field="plan_id",
        )  # fmt: skip
    msisdn = parse_belgian_mobile(request.msisdn)
    guess = catalogue.lookup(msisdn).network
    frozen = make_quote(
        plan, network, msisdn, guessed_network=guess, network_confirmed=request.network_confirmed
    )
    return Priced(carrier_products.freeze(frozen, plan, network), None, "")


def _price_hosted(request: QuoteRequest, plan: Plan, network: Network) -> Priced:
    eid = parse_eid(request.eid) if request.eid else ""
    if request.new_esim:
        return Priced(make_quote(plan, network, "", guessed_network=None), None, eid)
    if not (request.iccid or request.msisdn):
        raise InvalidInput(
            "an eSIM plan needs the ICCID of the eSIM to top up", code="iccid_required", field="iccid"
        )
    line = esim.find_line(request.iccid or request.msisdn)
    frozen = make_quote(plan, network, line.msisdn or "", guessed_network=None)
    return Priced(frozen, line.id, "")


def place_order(
    request: QuoteRequest,
    *,
    payment_method: str,
    channel: str,
    language: str,
    idem: IdempotencyKey,
    api_key_id: str = "",
    auto_topup: autotopup.Choice | None = None,
) -> StoredResponse:
    """Create an order awaiting payment, or replay the answer already given for this idempotency key.

    The key is claimed (committed) before the provider is called; the provider is called with the payment
    id chosen at the claim, so a resumed attempt finds the first payment instead of making a second one.
    The answer carries the order's token, which the stored answer does not keep.
    """
    # The receipt's address, checked before anything is claimed or created (canonical: lower case).
    request = replace(request, email=parse_email(request.email) if request.email.strip() else "")
    stored = replay(idem)
    if stored is None:
        if peers.current().provider_name_for(payment_method) is None:
            offered = [m for m in PAYMENT_METHODS if peers.current().provider_name_for(m)]
            raise InvalidInput(
                f"payment_method must be one of {', '.join(offered)}",
                code="invalid_payment_method",
                field="payment_method",
            )
        with translation.override(language):  # promotion names in the order's language, whatever the header
            priced = price(replace(request, payment_method=payment_method))
        check_method_currency(payment_method, priced.quote.total.currency)
        auto = autotopup.check_choice(auto_topup, payment_method, priced.quote)
        claimed = claim(idem, fx.claimed_with(priced.quote))
        if isinstance(claimed, StoredResponse):
            stored = claimed
        elif not priced.quote.total.is_positive():  # free (a 100 % promotion): nothing to pay
            from topup.services import free_orders  # noqa: PLC0415 - it builds on paid_orders, which needs us

            with released_on_failover(idem):
                stored = free_orders.place_free(
                    request, priced, claimed, channel=channel, language=language, idem=idem,
                    api_key_id=api_key_id,
                )  # fmt: skip
        else:
            priced = replace(priced, quote=fx.as_first_run(priced.quote, claimed.frozen))  # a resumed claim
            with released_on_failover(idem):
                stored = _place_claimed(
                    request, priced, claimed, payment_method=payment_method, channel=channel,
                    language=language, idem=idem, api_key_id=api_key_id, auto=auto, auto_topup=auto_topup,
                )  # fmt: skip
    return StoredResponse(stored.status, with_token(stored.body))


def _place_claimed(
    request: QuoteRequest,
    priced: Priced,
    claimed: Claim,
    *,
    payment_method: str,
    channel: str,
    language: str,
    idem: IdempotencyKey,
    api_key_id: str,
    auto: AutoSpec | None = None,
    auto_topup: autotopup.Choice | None = None,
) -> StoredResponse:
    frozen = priced.quote
    order_id, payment_id = claimed.order_id, claimed.payment_id
    # On the request's lines from here on; the order made below keeps this request's id (`Order.request_id`).
    logcontext.bind(order_id=order_id, payment_id=payment_id, order_request_id=logcontext.request_id())
    provider = peers.current().payment_provider(str(peers.current().provider_name_for(payment_method)))
    token = order_token(order_id)
    try:  # the promotions' uses first (race-free, once per order): a used-up code never reaches the provider
        keys = promotions.customer_keys(request, priced)
        promotions.reserve(order_id, frozen, keys, now(), new_order=not claimed.resumed)
    except DomainError:
        release(idem)
        raise
    try:
        save_for = autotopup.customer_for(auto, payment_id, request.email)  # the card is kept for it
        created = provider.create_payment(
            PaymentRequest(
                payment_id=payment_id,
                order_id=order_id,
                amount=frozen.charge,  # the total, or its yuan amount when this method is charged in CNY
                method=payment_method,
                description=plan_text.payment_description(request.plan_id, frozen.msisdn, language),
                return_url=f"{CONFIG.public_url}/orders/{order_id}?token={token}",
                save_card_for=save_for,
                language=language,
            )
        )
    except (PortUnavailable, ProviderRequestError) as exc:
        log.error("payment provider could not create the payment: %s", exc, extra={"order_id": order_id})
        with transaction.atomic():  # the uses come back now; a resumed attempt takes them again
            promotions.release(order_id, now())
        release(idem)
        raise ProviderUnavailable(str(exc)) from exc
    at = now()
    order = Order(
        id=order_id,
        plan_id=frozen.plan_id,
        network_id=frozen.network_id,
        msisdn=frozen.msisdn,
        line_id=priced.line_id,
        eid=priced.eid,
        channel=channel,
        language=language,
        status=OrderStatus.AWAITING_PAYMENT.value,
        total_minor=frozen.total.amount_minor,
        currency=frozen.total.currency,
        quote=frozen.to_dict(),
        created_at=at,
        updated_at=at,
        token_hash=token_hash(token),
        email=request.email,
        api_key_id=api_key_id,
        current_payment_id=payment_id,
    )
    payment = Payment(
        id=payment_id,
        order_id=order_id,
        provider=provider.name,
        method=payment_method,
        status=created.status.value,
        provider_ref=created.provider_ref,
        checkout_url=created.checkout_url or "",
        amount_minor=frozen.charge.amount_minor,
        currency=frozen.charge.currency,
        created_at=at,
        updated_at=at,
        **next_action_fields(created),
    )
    body = order_document(order, [payment], history=_initial_history(order))
    auto_id = new_id("atu") if auto else ""
    auto_periods = auto_topup.number_of_periods if auto_topup else None
    if auto:
        body["auto_topup"] = {"id": auto_id, "status": "pending"}
    try:
        with transaction.atomic():
            order.save(force_insert=True)
            payment.save(force_insert=True)
            record.order_placed(order, payment_method)
            OrderEvent.objects.bulk_create(_initial_history(order))
            if auto:
                autotopup.record_opt_in(
                    order, auto, save_for, auto_topup_id=auto_id, number_of_periods=auto_periods
                )
            complete(idem, 201, body)
    except IntegrityError:
        return twin_answer(idem)
    return StoredResponse(201, body)


def _initial_history(order: Order) -> list[OrderEvent]:
    return [
        OrderEvent(order=order, from_status="", to_status=OrderStatus.CREATED.value, at=order.created_at),
        OrderEvent(
            order=order,
            from_status=OrderStatus.CREATED.value,
            to_status=OrderStatus.AWAITING_PAYMENT.value,
            at=order.created_at,
        ),
    ]


def get_order(order_id: str, caller: Caller) -> dict[str, object]:
    """The order's document for a caller who may see it (services/order_access), else order_not_found."""
    return owned_document(order_id, caller)  # one statement: the order, its line, payments and history
