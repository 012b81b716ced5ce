"""The promotion engine as the orders see it: price a request with the running campaigns and the customer's
code, reserve the redemptions when the order is placed, confirm them when it is paid, release them when the
payment fails or the order ends unpaid, roll them back on a refund, and give the bonuses at delivery.

Every counter moves by one conditional UPDATE whose row count is checked (a code's uses below its limit,
a campaign's spending within its budget, an entitlement still available), inside one transaction with the
redemption rows, so that concurrent checkouts can never redeem a code more often than it allows. A
redemption is keyed by (order, campaign): a replayed placement or a two-step payment counts it once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.signals import post_delete, post_save
from django.utils import translation

from topup.clock import new_id
from topup.db import hot_sql, ledger
from topup.db.models import Campaign, Entitlement, Line, Order, PromoCode, Redemption
from topup.db.models import promotions as rows
from topup.domain import ledger as postings
from topup.domain import promotion_rules as rules
from topup.domain.errors import Conflict, DomainError, NotFound
from topup.domain.identifiers import parse_email
from topup.domain.money import Money
from topup.domain.orders import OrderStatus
from topup.domain.promotions import AppliedPromotion
from topup.domain.quotes import Quote
from topup.pii import blind_index

if TYPE_CHECKING:
    from topup.services.orders import Priced, QuoteRequest

log = logging.getLogger(__name__)
_FIELD = "promo_code"


def _split(text: str) -> frozenset[str]:
    return frozenset(part.strip() for part in text.split(",") if part.strip())


def terms(row: Campaign) -> rules.Campaign:
    """A campaign row as the domain reads it; its budget as what is left of it."""
    names = row.names if isinstance(row.names, dict) else {}
    left = None if row.budget_minor is None else row.budget_minor - row.spent_minor
    return rules.Campaign(
        id=row.id, rule=rules.Rule(row.rule), names=tuple(sorted((str(k), str(v)) for k, v in names.items())),
        currency=row.currency, starts_at=row.starts_at, ends_at=row.ends_at, channels=_split(row.channels),
        networks=_split(row.networks), plans=_split(row.plans), priority=row.priority,
        stacking=rules.Stacking(row.stacking), percent_bp=row.percent_bp, amount_minor=row.amount_minor,
        bonus_data_mb=row.bonus_data_mb, min_amount_minor=row.min_amount_minor, within_days=row.within_days,
        bogo_mode=rules.BogoMode(row.bogo_mode), requires_code=row.requires_code, budget_left_minor=left,
    )  # fmt: skip


def customer_keys(request: QuoteRequest, priced: Priced) -> tuple[str, ...]:
    return keys_of(priced, _email(request))


def _email(request: QuoteRequest) -> str:
    """The address in the form orders keep it (parse_email's), so a quote finds the customer an order will."""
    return parse_email(request.email) if request.email.strip() else ""


def keys_of(priced: Priced, email: str = "") -> tuple[str, ...]:
    """Who the customer is, as blind indexes: the line (hosted line id, or E.164 number), then the e-mail."""
    keys = []
    if priced.line_id:
        keys.append(blind_index(priced.line_id, purpose="line"))
    elif priced.quote.msisdn:
        keys.append(blind_index(priced.quote.msisdn, purpose="msisdn"))
    if email.strip():
        keys.append(blind_index(email.strip().lower(), purpose="email"))
    return tuple(keys)


def _code(code: str, at: datetime) -> PromoCode:
    row = PromoCode.objects.select_related("campaign").filter(code=rules.check_code_format(code)).first()
    if row is None or not row.active:
        raise NotFound("this promo code is not known", code="promo_code_unknown", field=_FIELD)
    if not row.campaign.active or not rules.is_running(terms(row.campaign), at):
        raise Conflict("this promo code has expired", code="promo_code_expired", field=_FIELD)
    if row.max_uses is not None and row.uses >= row.max_uses:
        raise Conflict("this promo code has been used up", code="promo_code_used_up", field=_FIELD)
    return row


def apply(request: QuoteRequest, priced: Priced, *, at: datetime) -> Priced:
    """The priced request with the promotions that apply to it (the quote discounted), or a refused code."""
    code = rules.normalise_code(request.promo_code)
    if not code and not _any_may_apply(request, priced, at):
        return priced  # the usual case: no running campaign is for this purchase, so no customer look-ups
    code_row = _code(code, at) if code else None
    keys = customer_keys(request, priced)
    active = list(Campaign.objects.filter(active=True))
    # Only a running BOGO campaign makes use of a free purchase waiting: else that look-up is left out.
    bogo = any(row.rule == rules.Rule.BOGO.value for row in active)
    once = {row.id for row in active if rules.once_per_customer(row.rule, row.once_per_customer)}
    history = hot_sql.customer_history(
        keys, priced.line_id, priced.quote.msisdn, _email(request), priced.quote.plan_id,
        entitlements=bogo, once=once,
    )  # fmt: skip
    used = history.used
    if code_row is not None and code_row.campaign_id in used:
        raise Conflict("you have already used this promo code", code="promo_code_used_up", field=_FIELD)
    # "Once per customer" needs to know the customer (a line or an e-mail): without one it cannot apply.
    campaigns = [
        terms(row) for row in active if row.id not in used
        and (keys or not rules.once_per_customer(row.rule, row.once_per_customer))
    ]  # fmt: skip
    purchase = _purchase(request, priced, keys, at, code_row, history=history)
    applied = rules.apply(campaigns, purchase, translation.get_language() or "en")
    if code_row is not None:
        rules.require_code_applied(code_row.campaign_id, applied)
        applied = tuple(
            replace(p, code=code) if p.campaign_id == code_row.campaign_id else p for p in applied
        )
    return replace(priced, quote=rules.discounted(priced.quote, applied))


def _any_may_apply(request: QuoteRequest, priced: Priced, at: datetime) -> bool:
    """Whether a running campaign might apply to this purchase, whoever the customer is (the facts about
    the customer taken at their most favourable): when none can, the customer's look-ups are skipped."""
    quote = priced.quote
    anyone = rules.Purchase(
        plan_id=quote.plan_id, network_id=quote.network_id, hosted=quote.network_kind == "hosted",
        price=quote.price, channel=request.channel, at=at, first_purchase=True,
        existing_line=priced.line_id is not None, days_since_last_topup=0,
    )  # fmt: skip
    return any(rules.eligible(campaign, anyone) for campaign in _running_campaigns())


_CAMPAIGNS_TTL_S = 5.0  # another process's new campaign is seen this late at most; this process's at once
_campaigns: tuple[float, tuple[rules.Campaign, ...]] | None = None


def _running_campaigns() -> tuple[rules.Campaign, ...]:
    """The active campaigns, kept per process for a few seconds: only ever used to skip work when none
    can apply (a campaign that may apply is priced from a fresh read, budget included)."""
    global _campaigns  # noqa: PLW0603 - a per-process cache, replaced whole (no lock needed)
    kept = _campaigns
    if kept is not None and time.monotonic() - kept[0] < _CAMPAIGNS_TTL_S:
        return kept[1]
    fresh = tuple(terms(row) for row in Campaign.objects.filter(active=True))
    _campaigns = (time.monotonic(), fresh)
    return fresh


def forget_campaigns(**_signal: object) -> None:
    """A campaign was saved or deleted in this process: the next quote reads them again."""
    global _campaigns  # noqa: PLW0603
    _campaigns = None


post_save.connect(forget_campaigns, sender=Campaign, dispatch_uid="promotions.forget_campaigns.save")
post_delete.connect(forget_campaigns, sender=Campaign, dispatch_uid="promotions.forget_campaigns.delete")


def _purchase(
    request: QuoteRequest,
    priced: Priced,
    keys: Sequence[str],
    at: datetime,
    code_row: PromoCode | None,
    *,
    history: hot_sql.CustomerHistory,
) -> rules.Purchase:
    quote = priced.quote
    last = history.last_delivered_at
    return rules.Purchase(
        plan_id=quote.plan_id, network_id=quote.network_id, hosted=quote.network_kind == "hosted",
        price=quote.price, channel=request.channel, at=at, first_purchase=bool(keys) and last is None,
        existing_line=priced.line_id is not None,
        days_since_last_topup=None if last is None else (at - last).days,
        code_campaign=code_row.campaign_id if code_row is not None else "", entitled=history.entitled,
    )  # fmt: skip


def reserve(
    order_id: str, quote: Quote, keys: Sequence[str], at: datetime, *, new_order: bool = False
) -> None:
    """Take the promotions' uses for this order: code uses, campaign budget, entitlements, a redemption row
    each, all or nothing. Idempotent per order: a replay or resumed placement counts nothing twice.

    `new_order`: the order id was made by the caller's own idempotency claim, not resumed from an earlier
    attempt, so no redemption can hold it yet and the read of its earlier ones is left out (a twin racing
    on the same id still meets the redemption's unique (order, campaign) pair)."""
    if not quote.promotions:
        return
    primary = keys[0] if keys else ""
    try:
        with transaction.atomic():
            taken = {} if new_order else {
                r.campaign_id: r for r in Redemption.objects.select_related("code", "campaign").filter(
                    order_id=order_id)
            }  # fmt: skip
            for promotion in quote.promotions:
                earlier = taken.get(promotion.campaign_id)
                if earlier is None:
                    _reserve_one(order_id, promotion, quote, primary, at)
                elif earlier.state == rows.RELEASED:  # released by the sweep, then resumed: take it again
                    _retake(earlier, quote, at, force=False)
    except IntegrityError:  # the customer's once was taken meanwhile by another order
        raise Conflict(
            "this promotion has already been used by this customer", code="promo_code_used_up", field=_FIELD
        ) from None


def _reserve_one(
    order_id: str, promotion: AppliedPromotion, quote: Quote, customer: str, at: datetime
) -> None:
    campaign = Campaign.objects.get(id=promotion.campaign_id)
    cost = rules.cost_minor(promotion, quote.price)
    _take(campaign, promotion.code, cost)
    if promotion.rule == rules.Rule.BOGO.value and promotion.saving.is_positive():
        _take_entitlement(order_id, campaign.id, quote.plan_id)
    once = rules.once_per_customer(campaign.rule, campaign.once_per_customer)
    Redemption.objects.create(
        id=new_id("rdm"), order_id=order_id, campaign=campaign,
        code=PromoCode.objects.get(code=promotion.code) if promotion.code else None,
        customer_index=customer, customer_key=customer if once else "",
        saving_minor=promotion.saving.amount_minor, cost_minor=cost, currency=quote.currency,
        state=rows.RESERVED, counted=True, created_at=at, updated_at=at,
    )  # fmt: skip


def _take(campaign: Campaign, code: str, cost: int, *, force: bool = False) -> None:
    """One conditional UPDATE per counter; a refusal rolls the caller's transaction back."""
    used_up = Conflict("this promo code has been used up", code="promo_code_used_up", field=_FIELD)
    if code:
        codes = PromoCode.objects.filter(code=code)
        if not force:
            codes = codes.filter(Q(max_uses__isnull=True) | Q(uses__lt=F("max_uses")))
        if codes.update(uses=F("uses") + 1) != 1:
            raise used_up
    if cost and campaign.budget_minor is not None:
        budget = Campaign.objects.filter(id=campaign.id)
        if not force:
            budget = budget.filter(spent_minor__lte=F("budget_minor") - cost)
        if budget.update(spent_minor=F("spent_minor") + cost) != 1:
            raise (
                used_up
                if code
                else Conflict(
                    "this promotion has ended: its budget is spent", code="promotion_ended", field=_FIELD
                )
            )


def _take_entitlement(order_id: str, campaign_id: str, plan_id: str) -> None:
    free = Entitlement.objects.filter(campaign_id=campaign_id, plan_id=plan_id, state=rows.AVAILABLE)
    for entitlement_id in free.values_list("id", flat=True)[:3]:
        if Entitlement.objects.filter(id=entitlement_id, state=rows.AVAILABLE).update(
            state=rows.RESERVED, used_by=order_id
        ):
            return
    raise Conflict("this free purchase has already been used", code="promotion_ended", field=_FIELD)


def _give_back(redemption: Redemption) -> None:
    if redemption.code_id is not None:
        PromoCode.objects.filter(id=redemption.code_id, uses__gt=0).update(uses=F("uses") - 1)
    if redemption.cost_minor:
        Campaign.objects.filter(id=redemption.campaign_id, budget_minor__isnull=False).update(
            spent_minor=F("spent_minor") - redemption.cost_minor
        )


def release(order_id: str, at: datetime) -> int:
    """The order will not be paid (payment failed, cancelled, expired): its reserved uses come back."""
    released = 0
    for redemption in Redemption.objects.filter(order_id=order_id, state=rows.RESERVED):
        if Redemption.objects.filter(id=redemption.id, state=rows.RESERVED).update(
            state=rows.RELEASED, counted=False, customer_key="", updated_at=at
        ):
            _give_back(redemption)
            released += 1
    Entitlement.objects.filter(used_by=order_id, state=rows.RESERVED).update(
        state=rows.AVAILABLE, used_by="", updated_at=at
    )
    return released


def reserve_again(order: Order, at: datetime) -> None:
    """A new payment attempt on an order whose uses were released by a failed payment: take them again
    (refused with promo_code_used_up when they went to someone else meanwhile)."""
    quote = Quote.from_dict(order.quote)
    with transaction.atomic():
        for redemption in Redemption.objects.select_related("code", "campaign").filter(
            order_id=order.id, state=rows.RELEASED
        ):
            _retake(redemption, quote, at, force=False)


def _retake(redemption: Redemption, quote: Quote, at: datetime, *, force: bool) -> None:
    code = redemption.code.code if redemption.code is not None else ""
    _take(redemption.campaign, code, redemption.cost_minor, force=force)
    if any(p.rule == rules.Rule.BOGO.value and p.saving.is_positive() for p in quote.promotions):
        _take_entitlement(redemption.order_id, redemption.campaign_id, quote.plan_id)
    once = rules.once_per_customer(redemption.campaign.rule, redemption.campaign.once_per_customer)
    try:
        with transaction.atomic():
            Redemption.objects.filter(id=redemption.id, state=rows.RELEASED).update(
                state=rows.RESERVED, counted=True, customer_key=redemption.customer_index if once else "",
                updated_at=at,
            )  # fmt: skip
    except IntegrityError:
        raise Conflict(
            "this promotion has already been used by this customer", code="promo_code_used_up", field=_FIELD
        ) from None


def confirm(order: Order, at: datetime) -> None:
    """The order is paid: its redemptions hold for good. A use released by a failed attempt whose payment
    succeeded after all is taken again, past its limit if it must (the customer paid the discounted price)."""
    if not Quote.from_dict(order.quote).promotions:
        return  # uses are only ever reserved for a quote's promotions: nothing to confirm (no statement)
    released = Redemption.objects.select_related("code", "campaign").filter(
        order_id=order.id, state=rows.RELEASED
    )
    for redemption in released:
        log.warning("promotion %s: a released use taken again by its paid order", redemption.campaign_id,
                    extra={"order_id": order.id})  # fmt: skip
        try:
            with transaction.atomic():  # a savepoint: the payment is recorded whatever happens here
                _retake(redemption, Quote.from_dict(order.quote), at, force=True)
        except DomainError as exc:  # the customer's once went to another order meanwhile: staff's to see
            log.error("promotion %s not retaken for a paid order: %s", redemption.campaign_id, exc.code,
                      extra={"order_id": order.id, "alert": "promotion_not_retaken"})  # fmt: skip
    Redemption.objects.filter(order_id=order.id, state=rows.RESERVED).update(
        state=rows.CONFIRMED, updated_at=at
    )
    Entitlement.objects.filter(used_by=order.id, state=rows.RESERVED).update(state=rows.USED, updated_at=at)


def roll_back(order: Order, at: datetime) -> None:
    """The order was refunded: each redemption is rolled back as its campaign says (its use restored, or
    kept used), and a free purchase it consumed is given back; one it granted is void if still unused."""
    for redemption in Redemption.objects.select_related("campaign").filter(
        order_id=order.id, state__in=(rows.RESERVED, rows.CONFIRMED)
    ):
        restore = redemption.campaign.refund_rule == rules.RefundRule.RESTORE.value
        changes: dict[str, object] = {"state": rows.ROLLED_BACK, "updated_at": at}
        if restore:
            changes |= {"counted": False, "customer_key": ""}
        if Redemption.objects.filter(id=redemption.id, state=redemption.state).update(**changes) and restore:
            _give_back(redemption)
    Entitlement.objects.filter(used_by=order.id, state__in=(rows.RESERVED, rows.USED)).update(
        state=rows.AVAILABLE, used_by="", updated_at=at
    )
    Entitlement.objects.filter(granted_by=order.id, state=rows.AVAILABLE).update(
        state=rows.VOID, updated_at=at
    )


def on_transition(order: Order, status: OrderStatus, at: datetime) -> None:
    """Called by services/transitions for every state change, inside its transaction."""
    if status is OrderStatus.PAID:
        confirm(order, at)
    elif status in {OrderStatus.EXPIRED, OrderStatus.CANCELLED}:
        release(order.id, at)
    elif status is OrderStatus.REFUNDED:
        roll_back(order, at)


def at_delivery(order: Order, quote: Quote, at: datetime) -> None:
    """What the promotions add when the order is delivered (inside its transaction): a free second bundle,
    bonus data on the bundle, bonus credit on the line (promotion expense), a free next purchase."""
    from topup.services import esim  # noqa: PLC0415 - esim imports the delivery's neighbours

    for promotion in quote.promotions:
        if promotion.rule == rules.Rule.BOGO.value and promotion.free_plan_id and order.line_id:
            esim.add_bundle(order.line_id, order, at)
        if promotion.bonus_data_mb and order.line_id:
            _bonus_data(order, promotion.bonus_data_mb)
        if promotion.bonus_credit is not None and order.line_id:
            _bonus_credit(order, promotion.bonus_credit, at)
        if promotion.rule == rules.BOGO_GRANT:
            _grant(order, promotion, at)


def _bonus_data(order: Order, data_mb: int) -> None:
    from topup.db.models import BundleRecord  # noqa: PLC0415

    counted = BundleRecord.objects.filter(line_id=order.line_id, data_kb__isnull=False)
    # The bundle this order created, else the one it extended (the line's latest usable one).
    bundle = counted.filter(order_id=order.id).first() or (
        counted.filter(status__in=("active", "pending")).order_by("-expires_at").first()
    )
    if bundle is not None:
        BundleRecord.objects.filter(id=bundle.id).update(data_kb=F("data_kb") + data_mb * 1024)


def _bonus_credit(order: Order, bonus: Money, at: datetime) -> None:
    Line.objects.filter(id=order.line_id).update(credit_minor=F("credit_minor") + bonus.amount_minor)
    ledger.post(postings.promotion_bonus(order.id, str(order.line_id), bonus), now=at, order_id=order.id)


def _grant(order: Order, promotion: AppliedPromotion, at: datetime) -> None:
    # The line it was delivered to (a new eSIM's line exists now): its next top-up finds the free purchase.
    customer = blind_index(str(order.line_id), purpose="line") if order.line_id else (
        Redemption.objects.filter(order_id=order.id, campaign_id=promotion.campaign_id)
        .values_list("customer_index", flat=True).first() or ""
    )  # fmt: skip
    if not customer:
        return
    Entitlement.objects.get_or_create(
        granted_by=order.id,
        defaults={
            "id": new_id("ent"), "campaign_id": promotion.campaign_id, "customer_index": customer,
            "plan_id": promotion.free_plan_id, "state": rows.AVAILABLE, "created_at": at, "updated_at": at,
        },
    )  # fmt: skip


def release_stale(cutoff: datetime, at: datetime, limit: int = 500) -> int:
    """Reservations older than `cutoff` whose order never came to be (a crash or a provider refusal
    between the reservation and the order's commit) are released."""
    stale = Redemption.objects.filter(state=rows.RESERVED, created_at__lt=cutoff).values_list(
        "order_id", flat=True
    )
    orphans = set(stale[:limit]) - set(
        Order.objects.filter(id__in=list(stale[:limit])).values_list("id", flat=True)
    )
    return sum(release(order_id, at) for order_id in orphans)
