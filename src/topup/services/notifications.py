"""Customer notifications (receipts, refunds, bundle warnings) by SMS and e-mail, in the line's language.

State changes only enqueue a `notify` job (in the caller's transaction); its handler (services/
notification_sends) renders and sends. Each (kind, channel, subject) goes out at most once, recorded in
`Notification` when the worker marks the job.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from django.db.models import F, OuterRef, Subquery
from django.utils import translation
from django.utils.translation import gettext as _

from topup import order_trail
from topup.clock import new_id, now
from topup.db.models import AgentSale, BundleRecord, Line, LinePreference, Notification, Order, Payment
from topup.domain.commands import LANGUAGES
from topup.domain.fx import FxQuote
from topup.domain.money import Money
from topup.ports import Mailer, NotSent, SmsSender
from topup.services import locale_text, plan_text, receipt_mail, selfcare
from topup.services.fx_text import both_currencies
from topup.services.receipt_mail import Mail

if TYPE_CHECKING:
    from topup.services.delivery import JobResult

log = logging.getLogger(__name__)

JOB_KIND = "notify"
AGENT_KINDS = ("pay_link", "esim_code")  # written by the agent console (services/agent_sales)
MAX_ATTEMPTS = 5  # refusals by the SMS or mail peer before a notification is given up as failed
ORDER_KINDS = {"delivered": "receipt", "refunded": "refund"}  # order status -> notification kind
BABEL_LOCALES = locale_text.BABEL_LOCALES


@dataclass
class _Senders:
    sms: SmsSender | None = None
    mailer: Mailer | None = None


_senders = _Senders()


def configure(*, sms: SmsSender | None = None, mailer: Mailer | None = None) -> None:
    """Bind the senders (`topup.wiring` at start-up, tests with their own peers)."""
    _senders.sms, _senders.mailer = sms, mailer


def sms_sender() -> SmsSender:
    if _senders.sms is None:
        raise NotSent("no SMS sender configured")
    return _senders.sms


def _mailer() -> Mailer:
    if _senders.mailer is None:
        raise NotSent("no mailer configured")
    return _senders.mailer


def mailer() -> Mailer:
    """The configured mailer (NotSent when none): for mail sent at once, such as My eSIMs' sign-in codes."""
    return _mailer()


# ---- enqueueing: inside the caller's transaction, once per (kind, subject) ----------------------------


def _enqueue_all(subjects: set[str], at: datetime) -> None:
    """Write the `notify` jobs in one INSERT that skips (kind, subject) pairs already queued: no query
    first and no savepoint, and a concurrent twin is simply skipped."""
    from topup.services import jobs  # noqa: PLC0415 - models import this module's callers

    jobs.enqueue_many(JOB_KIND, subjects, at=at, skip_queued=True)


def _enqueue(kind: str, ref: str, at: datetime) -> None:
    _enqueue_all({f"{kind}:{ref}"}, at)


def order_changed(order: Order, new_status: str, at: datetime) -> None:
    """Called by `transitions.move`: a receipt when delivered, a refund notice when refunded."""
    kind = ORDER_KINDS.get(str(new_status))
    if kind is not None:
        _enqueue(kind, order.id, at)


def orders_changed(orders: list[Order], new_status: str, at: datetime) -> None:
    """`order_changed` for a batch of orders moved together (the worker's deliveries): one INSERT."""
    kind = ORDER_KINDS.get(str(new_status))
    if kind is not None and orders:
        _enqueue_all({f"{kind}:{order.id}" for order in orders}, at)


def payment_failed(payment_id: str, at: datetime) -> None:
    """Called when a payment fails (the order keeps waiting, so no transition says it)."""
    _enqueue("payment_failed", payment_id, at)


def bundle_usage_crossed(bundle_id: str, percent: int, at: datetime) -> None:
    """Called by usage rating when a bundle crosses a threshold: its reminders are checked at once."""
    bundles_crossed([(bundle_id, percent)], at)


def bundles_crossed(crossings: list[tuple[str, int]], at: datetime) -> None:
    """Usage rating's threshold crossings for a whole batch: the bundles' reminders (services/reminders:
    75 %/90 % used, at most one a day, never at night) are recorded together."""
    from topup.services import reminders  # noqa: PLC0415 - reminders sends through this module

    if crossings:
        reminders.check({bundle_id for bundle_id, _percent in crossings}, at)


def expiring_soon(at: datetime) -> int:
    """The periodic sweep of bundle reminders (end in 7 or 3 days, and usage): see services/reminders."""
    from topup.services import reminders  # noqa: PLC0415

    return reminders.sweep(at)


def configured() -> _Senders:
    """The senders bound now (either may be None: that channel is not configured here)."""
    return _senders


# ---- rendering ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    language: str
    sms_to: str
    email_to: str
    subject: str
    text: str
    mail: Mail | None = None  # the e-mail, when it is more than `text` (an order's receipt: HTML and PDF)


def _money(amount: Money, language: str) -> str:
    return locale_text.money(amount, language)


def _when(at: datetime | None, language: str) -> str:
    return locale_text.moment(at, language)


def _recipients(
    refs: list[str], fallback_language: str, told: dict[str, tuple[str, str] | None] | None = None
) -> tuple[str, str]:
    """(language, e-mail) from the first line reference the customer told us about (one query for all);
    `told`: references already looked up (see `_order_to_tell`), with their (language, e-mail) or None
    when the customer told us nothing about them, are not asked again."""
    known = dict(told or {})
    # Only references before the first one already known to have a preference could change the answer.
    first_told = next((i for i, ref in enumerate(refs) if known.get(ref) is not None), len(refs))
    asking = [ref for ref in refs[:first_told] if ref not in known]
    if asking:
        found = LinePreference.objects.filter(line_ref__in=asking)
        known.update((p.line_ref, (p.language, p.email)) for p in found)
    for ref in refs:
        preference = known.get(ref)
        if preference is not None:
            language, email = preference
            return (language if language in LANGUAGES else fallback_language), email
    return (fallback_language if fallback_language in LANGUAGES else selfcare.DEFAULT_LANGUAGE), ""


def _order_message(
    kind: str, order: Order, told: dict[str, tuple[str, str] | None] | None = None
) -> Outgoing:
    refs = [r for r in (order.msisdn, order.iccid, order.line.iccid if order.line else "") if r]
    language, email = _recipients(refs, order.language, told)
    with translation.override(language):
        plan_name = plan_text.plan_title(order.plan_id, language)
        total = Money(order.total_minor, order.currency)
        vat_minor = int(order.quote.get("vat", {}).get("amount_minor", 0))
        fx = order.quote.get("fx")  # an Alipay or WeChat Pay payer reads the yuan too
        values = {
            "plan": plan_name,
            "line": order.msisdn or (refs[0] if refs else ""),
            "amount": both_currencies(total, FxQuote.from_dict(fx) if fx else None, BABEL_LOCALES[language]),
            "vat": _money(Money(vat_minor, order.currency), language),
            "order": order.id,
        }
        if kind == "receipt":
            subject = _("Your top-up is delivered")
            text = _("Top-up delivered: %(plan)s for %(line)s. Paid %(amount)s, VAT included: %(vat)s. "
                     "Order %(order)s.") % values  # fmt: skip
            if order.msisdn and order.line_id is None:  # external network: the operator keeps the balance
                text += " " + _("Your new balance will show shortly.")
        elif kind == "refund":
            subject = _("Your refund")
            text = _("We could not deliver %(plan)s for %(line)s. %(amount)s is refunded to your payment "
                     "method. Order %(order)s.") % values  # fmt: skip
        else:
            subject = _("Your payment did not go through")
            text = _("Your payment of %(amount)s for %(plan)s (%(line)s) did not go through. Nothing was "
                     "charged. Order %(order)s.") % values  # fmt: skip
    email = order.email or email  # the address given with the order first, then the line's
    mail = None
    if email and kind in ORDER_KINDS.values() and _senders.mailer is not None:
        mail = receipt_mail.order_mail(kind, order, language, subject=str(subject), intro=str(text))
    return Outgoing(language, order.msisdn or _sold_to(order.id), email, str(subject), str(text), mail)


def _order_to_tell(order_id: str) -> tuple[Order, dict[str, tuple[str, str] | None]] | None:
    """The order with its line and what its number's customer told us (language, e-mail), in one read
    (a preference is keyed by the number's blind index, which the order keeps as `msisdn_index`)."""
    told = LinePreference.objects.filter(ref_index=OuterRef("msisdn_index"))
    order = next(
        iter(
            Order.objects.select_related("line")
            .filter(id=order_id)
            .annotate(
                told_language=Subquery(told.values("language")), told_email=Subquery(told.values("email"))
            )[:1]
        ),
        None,
    )
    if order is None:
        return None
    order_trail.follow(order)  # a receipt's lines carry the placing request's id too
    language: str | None = order.told_language
    email: str = order.told_email or ""
    return order, ({order.msisdn: None if language is None else (language, email)} if order.msisdn else {})


def _sold_to(order_id: str) -> str:
    """The number an agent sold a new eSIM to (its receipt goes there), or ""."""
    return AgentSale.objects.filter(order_id=order_id).values_list("msisdn", flat=True).first() or ""


def _bundle_message(kind: str, bundle: BundleRecord) -> Outgoing:
    line: Line = bundle.line
    refs = [r for r in (line.msisdn or "", line.iccid) if r]
    language, email = _recipients(refs, line.language)
    with translation.override(language):
        values = {
            "plan": plan_text.plan_title(bundle.plan_id, language),
            "left_mb": max((bundle.data_kb or 0) - bundle.used_kb, 0) // 1024,
            "expires": _when(bundle.expires_at, language),
        }
        subject = _("Your data bundle")
        if kind == "bundle_80":
            text = _("You have used 80%% of your %(plan)s bundle: %(left_mb)s MB left, valid until "
                     "%(expires)s.") % values  # fmt: skip
        elif kind == "bundle_100":
            text = _("Your %(plan)s bundle is used up. Buy a new bundle to stay connected.") % values
        elif kind == "expiry_3d":
            text = _("Your %(plan)s bundle ends in 3 days (%(expires)s). Top up to keep your data.") % values
        else:
            text = _("Your %(plan)s bundle ends within 24 hours (%(expires)s). Top up to keep your "
                     "data.") % values  # fmt: skip
    return Outgoing(language, line.msisdn or "", email, str(subject), str(text))


def _agent_message(kind: str, ref: str) -> Outgoing | None:
    """A message an agent sends a customer (a payment link, an eSIM's activation code), written by the
    agent console in the customer's language; None when it has nobody to send it to."""
    from topup.services import agent_sales  # noqa: PLC0415 - agent_sales enqueues through us

    found = agent_sales.message(kind, ref.partition("#")[0])
    return Outgoing(*found) if found else None


def render(kind: str, ref: str) -> Outgoing | None:
    """The message for a notify job, or None when its subject no longer exists."""
    if kind in AGENT_KINDS:
        return _agent_message(kind, ref)
    if kind == "order_pay_link":  # services/pay_links: a phone channel's order paid by link
        from topup.services import pay_links  # noqa: PLC0415 - pay_links builds our Outgoing

        return pay_links.message(ref)
    if kind.startswith("auto_"):  # auto top-up's own messages, each with its cancel link
        from topup.services import autotopup_notices  # noqa: PLC0415 - it renders with this module's parts

        return autotopup_notices.render(kind, ref)
    if kind in ("receipt", "refund"):
        # `<order>#<n>`: a receipt an agent resent (its own subject, so it goes out once more).
        found = _order_to_tell(ref.partition("#")[0])
        return _order_message(kind, *found) if found else None
    if kind == "payment_failed":
        payment = Payment.objects.select_related("order", "order__line").filter(id=ref).first()
        # An auto top-up's failed charge is told by auto top-up itself (retry, or paused).
        return _order_message(kind, payment.order) if payment and payment.order.channel != "auto" else None
    bundle = BundleRecord.objects.select_related("line").filter(id=ref.partition("@")[0]).first()
    return _bundle_message(kind, bundle) if bundle else None


# ---- sending --------------------------------------------------------------------------------------------


class Send(Protocol):
    def __call__(self) -> None: ...


def deliver_once(kind: str, channel: str, subject_id: str, *, to: str, language: str, send: Send) -> str:
    """Send one notification unless it already went: "sent", "skipped", "retry", "failed" or "unknown".

    At most once, on purpose: the row is claimed (queued -> sending, committed) *before* the peer is
    called, so a crash or a lease expiry after the hand-over never sends it again. A duplicate receipt
    reads as a second charge and costs an SMS; a lost one is rare and the order stays visible on every
    channel. Only a sure refusal (NotSent) puts the row back to queued for a retry.
    """
    row, _created = Notification.objects.get_or_create(
        kind=kind,
        channel=channel,
        subject_id=subject_id,
        defaults={"id": new_id("ntf"), "to": to, "language": language, "created_at": now()},
    )
    claimed = Notification.objects.filter(id=row.id, status="queued").update(
        status="sending", attempts=F("attempts") + 1, to=to, language=language
    )
    if not claimed:
        if row.status == "sending":
            log.warning("notification %s was handed over before; outcome unknown, not resent", row.id)
        return "skipped"
    try:
        send()
    except NotSent as exc:
        give_up = row.attempts + 1 >= MAX_ATTEMPTS
        Notification.objects.filter(id=row.id).update(status="failed" if give_up else "queued")
        log.warning("notification %s not sent: %s", row.id, exc)
        return "failed" if give_up else "retry"
    except Exception:
        log.exception("notification %s: outcome unknown, left as sending", row.id)
        return "unknown"
    Notification.objects.filter(id=row.id).update(status="sent", sent_at=now())
    return "sent"


def send_mail(to: str, message: Outgoing) -> None:
    """Hand the message's e-mail (its receipt with HTML and PDF, when it has one) to the mailer."""
    mail = message.mail
    if mail is None:
        _mailer().send(to, message.subject, message.text)
    else:
        _mailer().send(to, mail.subject, mail.text, html=mail.html, attachments=mail.attachments)


def _send_job(subject_id: str, attempt: int, *, abandoned: bool = False) -> JobResult:
    from topup.services import notification_sends  # noqa: PLC0415 - it builds on this module

    return notification_sends.send_job(subject_id, attempt, abandoned=abandoned)


def _remind(subject_id: str, attempt: int) -> JobResult:
    from topup.services import reminders  # noqa: PLC0415

    return reminders.send_due(subject_id, attempt)


HANDLERS = {JOB_KIND: _send_job, "remind": _remind}
