"""SMS commands: the text a customer sends to our short number, answered in the line's language.

One parser (`domain.commands`) and the same self-care services as USSD and IVR; this module only words
the answers. Unknown text gets help, and no error is ever shown as a stack trace.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.utils.translation import get_language, ngettext, override, pgettext
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from topup.adapters.messaging.sms_text import split_text
from topup.channels import phone_words as words
from topup.channels.gateway_auth import gateway, sms_check
from topup.channels.messages import error_body, message_for
from topup.domain.commands import Command, CommandKind, parse
from topup.domain.errors import DomainError
from topup.domain.identifiers import parse_belgian_mobile
from topup.domain.money import Money
from topup.domain.promotions import AppliedPromotion
from topup.jsonbody import JsonBodyError, read_object
from topup.ports import PortUnavailable
from topup.services import orders, promotion_text, reminders, selfcare, vouchers
from topup.services.idempotency import make_key

log = logging.getLogger(__name__)
MAX_BALANCE_PARTS = 3  # a balance stays a short read: bundles beyond it are counted, not listed


def handle_inbound(sender: str, text: str) -> str:
    """The reply to one mobile-originated SMS (never raises for a customer's mistake)."""
    command = parse(text)
    try:
        line = parse_belgian_mobile(sender)
    except DomainError:
        return _("Sorry, this service is for Belgian mobile numbers.")
    selfcare.remember_language(line, command.keyword_language)
    language = selfcare.language_of(line)
    with override(language):
        try:
            return _answer(line, command)
        except DomainError as error:
            return message_for(error.code, error.message)
        except PortUnavailable:
            return _("The operator cannot be reached right now. Please try again in a few minutes.")


def _answer(line: str, command: Command) -> str:
    kind = command.kind
    if kind is CommandKind.BALANCE:
        return _balance_text(line)
    if kind is CommandKind.TOPUP:
        return _redeem_text(line, command.argument)
    if kind is CommandKind.PLANS:
        return _plans_text(line)
    if kind is CommandKind.BUY:
        return _buy_text(line, command.argument, command.promo_code)
    if kind is CommandKind.LANGUAGE and command.argument:
        with override(selfcare.set_language(line, command.argument)):
            return _("From now on we answer in English. Send HELP for the commands.")
    if kind is CommandKind.REMINDERS:
        return _reminders_text(line, command.argument)
    return _help_text()


def _reminders_text(line: str, switch: str) -> str:
    if switch == "off":
        reminders.set_reminders(line, on=False)
        return _("Reminders are off: we no longer tell you when your data runs low or ends. "
                 "Send REMINDERS ON to turn them back on.")  # fmt: skip
    if switch == "on":
        reminders.set_reminders(line, on=True)
        return _("Reminders are on: we tell you when your data runs low or is about to end.")
    return _("Send REMINDERS OFF to stop reminders about your data, REMINDERS ON to get them again.")


def money(amount: Money) -> str:
    """An amount in the reply's language ("€ 10,50", "10,50 €", "€10.50"), in the GSM alphabet."""
    return words.money_short(amount)


def _balance_text(line: str) -> str:
    """Credit, validity and every bundle that fits in MAX_BALANCE_PARTS parts; the rest are counted."""
    found = selfcare.balance(line)
    parts = [
        _("%(network)s balance: %(credit)s.") % {"network": found.network_name, "credit": money(found.credit)}
    ]
    if found.valid_until:
        parts.append(_("Valid until %(date)s.") % {"date": words.date_short(found.valid_until)})
    for shown, bundle in enumerate(found.bundles):
        text = words.bundle_text(bundle) + "."
        if _parts(" ".join([*parts, text, *_more(len(found.bundles) - shown - 1)])) > MAX_BALANCE_PARTS:
            return " ".join([*parts, *_more(len(found.bundles) - shown)])
        parts.append(text)
    return " ".join(parts)


def _more(count: int) -> list[str]:
    """The bundles a balance SMS has no room for: counted, with where to see them."""
    if not count:
        return []
    more = ngettext("%(count)s more bundle: %(site)s/my", "%(count)s more bundles: %(site)s/my", count)
    return [more % {"count": count, "site": words.site_address()}]


def _parts(text: str) -> int:
    """How many concatenated SMS parts `text` takes (GSM 03.38, or UCS-2 for Chinese)."""
    return len(split_text(text)[1])


def _redeem_text(line: str, pin: str) -> str:
    if not pin:
        return _("Send TOPUP followed by the code on your voucher, for example: TOPUP 1234 5678 9012 3")
    # The sender is both the line and the source: an SMS gateway gives no other session.
    order = vouchers.redeem(pin, msisdn=line, channel="sms", caller_keys=[f"line:{line}", f"sms:{line}"],
                            language=selfcare.language_of(line))  # fmt: skip
    total = order["total"]
    assert isinstance(total, dict)
    amount = money(Money(int(total["amount_minor"]), str(total["currency"])))
    return _("Voucher accepted: %(amount)s top-up for %(line)s is on its way. Reference %(order)s.") % {
        "amount": amount, "line": line, "order": str(order["id"])[-8:],
    }  # fmt: skip


def _plans_text(line: str) -> str:
    plans = selfcare.plans_for(line)[:8]
    if not plans:
        return _("No plans are available for this number.")
    listing = "; ".join(f"{code} {name} {money(price)}" for code, name, price in plans)
    return _("Plans: %(plans)s. Send BUY and a code, for example BUY %(code)s.") % {
        "plans": listing, "code": plans[0][0],
    }  # fmt: skip


# Refusals of a purchase from credit after which the customer can still pay for the plan by link.
_PAY_INSTEAD = frozenset({"insufficient_balance", selfcare.NOT_FROM_CREDIT})


def _buy_text(line: str, code: str, promo_code: str = "") -> str:
    """A bundle is bought from the line's credit when it covers the price; otherwise, for credit plans, or
    with a promo code (a promotion lowers what we are paid, and a purchase from credit pays the operator),
    the answer is a payment link."""
    match = [plan_code for plan_code, _name, _price in selfcare.plans_for(line) if plan_code == code]
    if not code or not match:
        return _plans_text(line)
    if promo_code:
        return _pay_link_text(line, code, promo_code)
    bought = selfcare.buy_from_credit(line, code)
    if bought.ok:
        credit = money(bought.balance_after) if bought.balance_after is not None else "?"
        return _("%(plan)s bought with your credit for %(price)s. Credit left: %(credit)s.") % {
            "plan": bought.plan_name, "price": money(bought.price), "credit": credit,
        }  # fmt: skip
    if bought.code not in _PAY_INSTEAD:
        return message_for(
            bought.code or "", pgettext("phone", "Sorry, this did not work. Please try again later.")
        )
    return _pay_link_text(line, code)


def _pay_link_text(line: str, code: str, promo_code: str = "") -> str:
    """An order awaiting payment by card and its link; with a promo code, what it saves and the total.
    A refused code raises its stable error (the reply is its message): nothing is created."""
    plan_id = selfcare.plan_id_for_code(line, code)
    request = orders.QuoteRequest(
        plan_id, msisdn=line, network_confirmed=True, promo_code=promo_code, channel="sms"
    )
    key = make_key("sms", uuid.uuid4().hex, {"plan": plan_id, "line": line, "promo": promo_code})
    stored = orders.place_order(request, payment_method="card", channel="sms",
                                language=selfcare.language_of(line), idem=key)  # fmt: skip
    payment = stored.body["payment"]
    assert isinstance(payment, dict)
    link = _("Pay here to buy %(code)s for %(line)s: %(link)s") % {
        "code": code, "line": line, "link": payment["checkout_url"],
    }  # fmt: skip
    saved = _promotions_text(stored.body)
    return f"{saved} {link}" if saved else link


def _promotions_text(order: Mapping[str, object]) -> str:
    """ "Flyer: €5 off -€5.00. To pay: €10.00." for an order whose quote applied promotions, else ""."""
    quote = order.get("quote")
    frozen = quote.get("promotions") if isinstance(quote, dict) else None
    total = order.get("total")
    if not isinstance(frozen, list) or not frozen or not isinstance(total, dict):
        return ""
    applied = [AppliedPromotion.from_dict(item) for item in frozen]
    language = get_language() or "en"
    described = promotion_text.lines(applied, language, money, minus=promotion_text.GSM_MINUS)
    shown = "; ".join(f"{line.name} {line.effect}" for line in described)
    to_pay = money(Money(int(total["amount_minor"]), str(total["currency"])))
    return _("%(promotions)s. To pay: %(total)s.") % {"promotions": shown, "total": to_pay}


def _help_text() -> str:
    commands = _(
        "Commands: BAL (balance), TOPUP <code> (voucher), PLANS, BUY <plan code>, LANG NL/FR/DE/EN/ZH. "
        "Also: SALDO, SOLDE, 余额, 充值."
    )
    return commands + " " + _("Promo code: BUY <plan code> CODE <promo code>.")


def _field(fields: Mapping[str, object], name: str) -> str:
    value = fields.get(name, "")
    return value if isinstance(value, str) else ""  # a number or an object is no phone number or text


@csrf_exempt  # a server-to-server callback authenticated by its signature or bearer key, not a browser form
@require_POST
@gateway("sms", sms_check)
def inbound_webhook(request: HttpRequest) -> HttpResponse:
    """`POST /channels/sms/inbound` for SMS aggregators: fields `from` and `text` (form or JSON);
    the answer carries the reply for the aggregator to send back."""
    fields: Mapping[str, object] = request.POST
    if request.content_type == "application/json":
        try:
            fields = read_object(request.body or b"{}")
        except JsonBodyError as refused:
            return JsonResponse(error_body(refused.code, field=refused.field), status=400)
    sender, text = _field(fields, "from"), _field(fields, "text")
    if not sender:
        return JsonResponse({"error": {"code": "invalid_request", "field": "from"}}, status=400)
    return JsonResponse({"to": sender, "reply": handle_inbound(sender, text)})


urlpatterns = [path("channels/sms/inbound", inbound_webhook)]
