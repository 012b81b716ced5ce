"""Cash at the kiosk: a cash session for one purchase, the acceptor's signed events counted once each, the
sale made through the retailer's float (`services.retail.sell`) in the same transaction that closes the
session, the change given as a second top-up of extra credit, and a cancel that hands the escrow back.

The rules (which notes are stacked, what change is possible) are `topup.domain.kiosk`'s.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from topup.clock import new_id, now
from topup.db.models import KioskCashEvent, KioskCashSession
from topup.domain.catalogue import PlanKind
from topup.domain.errors import Conflict, DomainError, NotFound
from topup.domain.kiosk import CashStatus, admit, change_plan_amount, require_cash_payable
from topup.ports import PortUnavailable
from topup.services import catalogue, kiosk_devices, orders, peers
from topup.services.kiosk_sales import print_receipt, receipt_data, sell_for_cash

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Purchase:
    """What the customer chose on the kiosk's screens."""

    plan_id: str
    msisdn: str
    network_confirmed: bool
    language: str


def credit_plans(network_id: str) -> dict[int, str]:
    """The network's credit plans by price: the amounts in which change can be given back as credit."""
    return {
        plan.price.amount_minor: plan.id
        for plan in catalogue.plans(network_id)
        if plan.kind is PlanKind.CREDIT and plan.active
    }


def start(terminal_id: str, purchase: Purchase) -> KioskCashSession:
    """Open a cash session for the purchase and on the acceptor; a price coins cannot reach is refused."""
    quote = orders.quote(
        orders.QuoteRequest(
            plan_id=purchase.plan_id,
            msisdn=purchase.msisdn,
            network_confirmed=purchase.network_confirmed,
            channel="kiosk",
        )
    )
    require_cash_payable(quote.total.amount_minor)
    at = now()
    session = KioskCashSession.objects.create(
        id=new_id("kcs"), terminal_id=terminal_id, plan_id=quote.plan_id, network_id=quote.network_id,
        network_confirmed=purchase.network_confirmed, msisdn=quote.msisdn, language=purchase.language,
        price_minor=quote.total.amount_minor,
        currency=quote.currency, status=CashStatus.OPEN.value, created_at=at,
    )  # fmt: skip
    acceptor = peers.current().cash
    try:
        if acceptor is None:
            raise PortUnavailable("no cash acceptor configured", code="cash_device_unavailable")
        acceptor.open_session(session.id, kiosk_devices.of(terminal_id).cash_url)
    except PortUnavailable:
        KioskCashSession.objects.filter(pk=session.pk).update(status=CashStatus.CANCELLED.value, closed_at=at)
        raise
    return session


def session_of(terminal_id: str, session_id: str) -> KioskCashSession:
    """The terminal's own session; another terminal's is as unknown as a made-up one."""
    session = KioskCashSession.objects.filter(id=session_id, terminal_id=terminal_id).first()
    if session is None:
        raise NotFound("no such cash session", code="cash_session_not_found", field="session_id")
    return session


def record_event(terminal_id: str, session_id: str, event_id: str, amount_minor: int) -> dict[str, object]:
    """One note or coin the acceptor reports: stacked or handed back by the domain's rule, kept once by its
    event id; the one that covers the price makes the sale in the same transaction."""
    try:
        with transaction.atomic():
            return _record(terminal_id, session_id, event_id, amount_minor)
    except IntegrityError:  # the same event, reported twice at once: the first one's answer
        with transaction.atomic():
            return _record(terminal_id, session_id, event_id, amount_minor)


def _record(terminal_id: str, session_id: str, event_id: str, amount_minor: int) -> dict[str, object]:
    session = (
        KioskCashSession.objects.select_for_update().filter(id=session_id, terminal_id=terminal_id).first()
    )
    if session is None:
        raise NotFound("no such cash session", code="cash_session_not_found", field="session_id")
    seen = KioskCashEvent.objects.filter(session=session, event_id=event_id).first()
    if seen is not None:
        return _answer(session, seen)
    plans = credit_plans(session.network_id)
    admission = admit(
        CashStatus(session.status), session.price_minor, session.inserted_minor, amount_minor, plans
    )
    code = admission.code
    if admission.accepted:
        inserted = session.inserted_minor + amount_minor
        code = _take(session, inserted, plans)
    event = KioskCashEvent.objects.create(
        session=session, event_id=event_id, amount_minor=amount_minor, accepted=not code, code=code, at=now()
    )
    return _answer(session, event)


def _take(session: KioskCashSession, inserted: int, plans: dict[int, str]) -> str:
    """Count the note; when it covers the price, sell (and the change as credit). '' or why it was refused."""
    if inserted < session.price_minor:
        session.inserted_minor = inserted
        session.save(update_fields=["inserted_minor"])
        return ""
    excess = inserted - session.price_minor
    change = change_plan_amount(excess, plans) or 0
    try:
        with transaction.atomic():  # a refused sale (the float spent) leaves the session as it was
            sale_id, change_sale_id = sell_for_cash(session, plans.get(change, "") if change else "", change)
    except DomainError as exc:
        log.warning("kiosk cash sale refused code=%s session=%s", exc.code, session.id)
        return exc.code
    session.inserted_minor = inserted
    session.status = CashStatus.PAID.value
    session.sale_id, session.change_sale_id = sale_id, change_sale_id
    session.change_plan_id = plans.get(change, "") if change else ""
    session.closed_at = now()
    session.save(
        update_fields=["inserted_minor", "status", "sale_id", "change_sale_id", "change_plan_id", "closed_at"]
    )
    transaction.on_commit(lambda: print_receipt(receipt_data(session)))
    return ""


def _answer(session: KioskCashSession, event: KioskCashEvent) -> dict[str, object]:
    return {
        "event_id": event.event_id, "accepted": event.accepted, "code": event.code,
        "session_id": session.id, "status": session.status, "inserted_minor": session.inserted_minor,
        "price_minor": session.price_minor,
    }  # fmt: skip


def cancel(terminal_id: str, session_id: str) -> KioskCashSession:
    """Give up before the sale: the session is closed and the acceptor hands the escrow back."""
    at = now()
    closed = KioskCashSession.objects.filter(
        id=session_id, terminal_id=terminal_id, status=CashStatus.OPEN.value
    ).update(status=CashStatus.CANCELLED.value, closed_at=at)
    session = session_of(terminal_id, session_id)
    if not closed and session.status == CashStatus.PAID.value:
        raise Conflict("the sale is already made", code="cash_session_paid", field="session_id")
    acceptor = peers.current().cash
    if closed and acceptor is not None:
        try:
            acceptor.hand_back(session_id, kiosk_devices.of(terminal_id).cash_url)
        except PortUnavailable:  # the device hands the escrow back by itself when it opens the next session
            log.warning("cash acceptor unreachable to hand back session=%s", session_id)
    return session
