"""Reconciliation of payments: the provider's records of a day against our payments and our ledger.

For each provider whose records can be listed (`ListablePaymentProvider`: Stripe), the PaymentIntents
and refunds created during one Europe/Brussels day are compared with the provider clearing account's
movements of that day (captures and refunds) and with our payments. Each difference is one `Mismatch`,
named by order:

    succeeded_not_captured   the provider took the money; our ledger holds no capture for the order
    captured_not_succeeded   our ledger captured the order; the provider's payment did not succeed
    amount_mismatch          both agree it was paid, not on how much
    refund_not_in_ledger     the provider refunded (or is refunding); our ledger has no refund
    refund_not_at_provider   our ledger refunded; the provider has no refund, or only failed ones
    refund_amount_mismatch   both refunded, different amounts
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from topup.clock import BRUSSELS
from topup.db.models import Order, Payment
from topup.db.models.ledger import Transfer
from topup.domain.ledger import provider_clearing
from topup.domain.money import Money
from topup.ports import (
    ListablePaymentProvider,
    PaymentStatus,
    ProviderPayment,
    ProviderRefund,
    ProviderRequestError,
    RefundState,
)
from topup.services import peers

TAKEN = {PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED}
REFUND_WINDOW = timedelta(days=180)  # the longest a refund may follow its payment (Bancontact, WeChat Pay)


@dataclass(frozen=True, slots=True)
class Mismatch:
    kind: str
    order_id: str  # "-" when the provider's record names no order we know
    provider: str
    provider_ref: str
    detail: str

    def line(self) -> str:
        return f"{self.order_id}  {self.kind}  {self.provider} {self.provider_ref}: {self.detail}"


def business_day(day: date) -> tuple[datetime, datetime]:
    """The [start, end) of a Europe/Brussels calendar day, as aware datetimes."""
    start = datetime.combine(day, time.min, BRUSSELS)
    return start, datetime.combine(day + timedelta(days=1), time.min, BRUSSELS)


def today() -> date:
    return datetime.now(BRUSSELS).date()


def reconcile_payments(day: date) -> list[Mismatch]:
    """Every mismatch of `day` over all listable providers; empty when the books agree."""
    found: list[Mismatch] = []
    for name, provider in sorted(peers.current().payments.items()):
        if isinstance(provider, ListablePaymentProvider):
            found += _reconcile_provider(name, provider, day)
    return found


def _ledger(provider: str, code: str, side: str, start: datetime, end: datetime) -> dict[str, Money]:
    """The day's transfers of `code` on `side` of the provider's clearing accounts, per order."""
    prefix = provider_clearing(provider, "EUR").id.rsplit(":", 1)[0] + ":"
    rows = Transfer.objects.filter(
        code=code, status="posted", created_at__gte=start, created_at__lt=end,
        **{f"{side}_account__id__startswith": prefix},
    ).values_list("order_id", "amount_minor", "currency")  # fmt: skip
    totals: dict[str, Money] = {}
    for order_id, amount_minor, currency in rows:
        if order_id:
            previous = totals.get(order_id, Money(0, currency))
            totals[order_id] = previous + Money(amount_minor, currency)
    return _as_charged(totals)


def _stray_captures(provider: str, start: datetime, end: datetime) -> dict[str, Money]:
    """The day's captures of stray attempts (each under its payment's own transfer id, code
    stray_payment_captured), by the provider's reference of that payment."""
    prefix = provider_clearing(provider, "EUR").id.rsplit(":", 1)[0] + ":"
    rows = list(
        Transfer.objects.filter(
            code="stray_payment_captured", status="posted", created_at__gte=start, created_at__lt=end,
            debit_account__id__startswith=prefix,
        ).values_list("id", "amount_minor", "currency")
    )  # fmt: skip
    refs = dict(
        Payment.objects.filter(id__in=[row[0].removesuffix(":capture") for row in rows]).values_list(
            "id", "provider_ref"
        )
    )
    found: dict[str, Money] = {}
    for transfer_id, amount_minor, currency in rows:
        ref = refs.get(transfer_id.removesuffix(":capture"))
        if ref:
            found[ref] = Money(amount_minor, currency)
    return found


def _as_charged(totals: dict[str, Money]) -> dict[str, Money]:
    """The ledger keeps euros, while the provider saw what the paying attempt charged: yuan for an order
    charged in CNY (TOPUP_CHARGE_CURRENCY). The order's whole total is compared as that frozen amount."""
    orders = Order.objects.filter(id__in=list(totals)).values_list(
        "id", "total_minor", "currency", "current_payment_id"
    )
    rows = list(orders)
    paying = {p.id: p for p in Payment.objects.filter(id__in=[row[3] for row in rows])}
    for order_id, total_minor, currency, payment_id in rows:
        payment = paying.get(payment_id)
        if payment and payment.currency != currency and totals[order_id] == Money(total_minor, currency):
            totals[order_id] = Money(payment.amount_minor, payment.currency)
    return totals


def _reconcile_provider(name: str, provider: ListablePaymentProvider, day: date) -> list[Mismatch]:
    start, end = business_day(day)
    intents = [p for p in provider.list_payments(start) if p.created < end]
    refunds = [r for r in provider.list_refunds(start) if r.created < end]
    captures = _ledger(name, "payment_captured", "debit", start, end)
    ledger_refunds = _ledger(name, "refund_issued", "credit", start, end)
    orders = _OrderIndex(name, intents)
    strays = _stray_captures(name, start, end)
    found = list(_payments(name, provider, intents, captures, orders, strays=strays))
    found += _refunds(name, provider, refunds, ledger_refunds, orders, start)
    return found


class _OrderIndex:
    """Which order a provider payment belongs to: its metadata, else our payment row."""

    def __init__(self, provider: str, intents: Iterable[ProviderPayment]) -> None:
        self._provider = provider
        self._order_of = {p.provider_ref: p.order_id for p in intents if p.order_id}

    def order_of(self, provider_ref: str) -> str:
        order_id = self._order_of.get(provider_ref)
        if order_id is None:
            payment = Payment.objects.filter(provider=self._provider, provider_ref=provider_ref).first()
            order_id = payment.order_id if payment else "-"
            self._order_of[provider_ref] = order_id
        return order_id

    def taken_ref(self, order_id: str) -> str | None:
        """The provider reference of the order's captured payment, in our books."""
        payment = Payment.objects.filter(
            provider=self._provider, order_id=order_id, status__in=[s.value for s in TAKEN]
        ).first()
        return payment.provider_ref if payment else None


def _payments(
    name: str,
    provider: ListablePaymentProvider,
    intents: list[ProviderPayment],
    captures: dict[str, Money],
    orders: _OrderIndex,
    *,
    strays: dict[str, Money],
) -> Iterable[Mismatch]:
    succeeded: dict[str, ProviderPayment] = {}
    for intent in intents:
        if intent.status not in TAKEN:
            continue
        order_id = orders.order_of(intent.provider_ref)
        stray = strays.get(intent.provider_ref)
        if stray is not None:  # an attempt that paid late: captured on its own, not as the order
            if stray != intent.amount_received:
                detail = f"provider received {intent.amount_received}, our ledger captured {stray}"
                yield Mismatch("amount_mismatch", order_id, name, intent.provider_ref, detail)
            continue
        succeeded[order_id] = intent
        captured = captures.get(order_id)
        if captured is None:
            detail = f"provider received {intent.amount_received}, our ledger captured nothing"
            yield Mismatch("succeeded_not_captured", order_id, name, intent.provider_ref, detail)
        elif captured != intent.amount_received:
            detail = f"provider received {intent.amount_received}, our ledger captured {captured}"
            yield Mismatch("amount_mismatch", order_id, name, intent.provider_ref, detail)
    for order_id, captured in sorted(captures.items()):
        if order_id in succeeded:
            continue
        ref = orders.taken_ref(order_id)
        status = _status_at_provider(provider, ref)
        if status not in TAKEN:
            detail = f"our ledger captured {captured}, the provider's payment is {status or 'unknown'}"
            yield Mismatch("captured_not_succeeded", order_id, name, ref or "-", detail)


def _status_at_provider(provider: ListablePaymentProvider, provider_ref: str | None) -> PaymentStatus | None:
    """A payment created on another day than its capture is asked for directly."""
    if not provider_ref:
        return None
    try:
        return provider.get_payment(provider_ref).status
    except ProviderRequestError:  # a reference the provider does not know: no payment behind the capture
        return None


def _refunds(  # noqa: PLR0917 (one call site)
    name: str,
    provider: ListablePaymentProvider,
    refunds: list[ProviderRefund],
    ledger_refunds: dict[str, Money],
    orders: _OrderIndex,
    start: datetime,
) -> list[Mismatch]:
    found: list[Mismatch] = []
    at_provider: dict[str, list[ProviderRefund]] = defaultdict(list)
    for refund in refunds:
        if refund.state is not RefundState.FAILED:
            at_provider[orders.order_of(refund.provider_ref)].append(refund)
    for order_id, rows in sorted(at_provider.items()):
        total = sum((r.amount for r in rows[1:]), rows[0].amount)
        ours = ledger_refunds.get(order_id)
        if ours is None:
            found.append(Mismatch("refund_not_in_ledger", order_id, name, rows[0].refund_ref,
                                  f"provider refunded {total}, our ledger refunded nothing"))  # fmt: skip
        elif ours != total:
            found.append(Mismatch("refund_amount_mismatch", order_id, name, rows[0].refund_ref,
                                  f"provider refunded {total}, our ledger refunded {ours}"))  # fmt: skip
    for order_id, ours in sorted(ledger_refunds.items()):
        if order_id in at_provider:
            continue
        ref = _refunded_ref(order_id, name)
        earlier = provider.list_refunds(start - REFUND_WINDOW, provider_ref=ref) if ref else []
        if not [r for r in earlier if r.state is not RefundState.FAILED]:
            detail = f"our ledger refunded {ours}, the provider has no refund that stands"
            found.append(Mismatch("refund_not_at_provider", order_id, name, ref or "-", detail))
    return found


def _refunded_ref(order_id: str, provider: str) -> str | None:
    payment = (
        Payment.objects.filter(provider=provider, order_id=order_id)
        .exclude(provider_ref="")
        .order_by("-refunded_minor", "-created_at")
        .first()
    )
    return payment.provider_ref if payment else None
