"""A payment link sent by SMS for an order a phone channel placed (USSD cannot show a link to tap):
queued as a `notify` job in the order's transaction, worded in the order's language when the job runs.

The link is the order's own page with its token (services/order_access), where the buyer pays, sees the
promotion it got and the status; the text names the plan, the number and the amount to pay.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Final

from django.utils import translation
from django.utils.translation import gettext as _

from topup.db.models import Order
from topup.domain.money import Money
from topup.domain.orders import OrderStatus
from topup.services import jobs, plan_text
from topup.services.fx_text import money_text
from topup.services.order_access import order_token
from topup.settings import CONFIG

if TYPE_CHECKING:
    from topup.services.notifications import Outgoing

KIND: Final = "order_pay_link"
_SPACES: Final = str.maketrans({"\u00a0": " ", "\u202f": " "})
_LOCALES: Final = {"nl": "nl_BE", "fr": "fr_BE", "de": "de_BE", "en": "en_BE", "zh-hans": "zh_Hans_CN"}


def send_by_sms(order_id: str, at: datetime) -> None:
    """Queue the link's SMS once per order (a replayed request finds the job already there)."""
    from topup.services import notifications  # noqa: PLC0415 - notifications renders through us

    jobs.add_one(notifications.JOB_KIND, f"{KIND}:{order_id}", at=at, skip_duplicate=True)


def link(order_id: str) -> str:
    return f"{CONFIG.public_url}/orders/{order_id}?token={order_token(order_id)}"


def message(order_id: str) -> Outgoing | None:
    """The SMS for `order_id` in its language; None once the order is gone or no longer waits for payment."""
    from topup.services.notifications import Outgoing  # noqa: PLC0415

    order = Order.objects.filter(id=order_id).first()
    if order is None or not order.msisdn or order.status != OrderStatus.AWAITING_PAYMENT:
        return None
    language = order.language if order.language in _LOCALES else "nl"
    with translation.override(language):
        values = {
            # Babel's no-break spaces are not in the GSM alphabet: plain ones keep the SMS in one encoding.
            "amount": money_text(Money(order.total_minor, order.currency), _LOCALES[language]).translate(
                _SPACES
            ),
            "plan": plan_text.plan_title(order.plan_id, language),
            "line": order.msisdn,
            "link": link(order.id),
        }
        text = _("Pay %(amount)s for %(plan)s for %(line)s here: %(link)s") % values
        subject = _("Your payment link")
    return Outgoing(language, order.msisdn, "", str(subject), str(text))
