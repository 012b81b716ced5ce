"""How the order page ends: a clear success (the top-up arrived, the eSIM is ready) or a clear failure
(refunded, expired, cancelled: what happened and what to do), with the plan's title, the network's brand,
the receipt and "top up again". Presentation only: the words for each outcome, and the links.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final
from urllib.parse import urlencode

from django.http import HttpRequest
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from topup.channels import owners
from topup.services.order_access import order_token
from topup.services.order_receipts import has_receipt
from topup.services.order_watch import state_of_document
from topup.services.plan_text import network_brand, plan_title

# (kind, title, what happened and what to do) per final status; a new eSIM has its own success words.
_OUTCOMES: Final[Mapping[str, tuple[str, Promise, Promise]]] = {
    "delivered": (
        "success",
        _("Your top-up has arrived"),
        _("Your top-up is on the number now. You can use it right away."),
    ),
    "delivery_failed": (
        "failure",
        _("We could not deliver your top-up"),
        _("Your money is being refunded automatically. You do not need to do anything."),
    ),
    "refunded": (
        "failure",
        _("We could not deliver your top-up"),
        _(
            "We have refunded the full amount to the way you paid. Depending on your bank, it can take a "
            "few days to show. You can try again, or contact us with your order number."
        ),
    ),
    "expired": (
        "failure",
        _("This order has expired"),
        _("It was not paid in time. Nothing was charged. You can start again."),
    ),
    "cancelled": (
        "failure",
        _("This order was cancelled"),
        _("Nothing was charged. You can start again."),
    ),
}
_ESIM_READY: Final = (
    "success",
    _("Your eSIM is ready"),
    _("Install it now with the QR code or the details below."),
)
_ESIM_NOT_DELIVERED: Final = _("We could not deliver your eSIM")


def order_extras(request: HttpRequest, order: Mapping[str, object]) -> dict[str, object]:
    """What the order page shows beyond the order's document: names, outcome, receipt, again, live status."""
    order_id, status = str(order["id"]), str(order["status"])
    new_esim = not order.get("msisdn")
    language = translation.get_language() or "en"
    return {
        "plan_title": plan_title(str(order["plan_id"]), language),
        "network_name": network_brand(str(order["network"])),
        "outcome": _outcome(status, new_esim=new_esim),
        "receipt_url": f"/orders/{order_id}/receipt.pdf" if has_receipt(status) else "",
        "again_url": f"/orders/{order_id}/again",
        "again_words": _("Buy again") if new_esim else _("Top up again"),
        "live_url": _live_url(request, order_id),
        "events_url": _live_url(request, order_id).replace("/status", "/events", 1),
        "live_state": state_of_document(order),
    }


def _outcome(status: str, *, new_esim: bool) -> dict[str, object] | None:
    found = _OUTCOMES.get(status)
    if found is None:
        return None
    kind, title, text = found
    if new_esim and status == "delivered":
        kind, title, text = _ESIM_READY
    elif new_esim and kind == "failure" and status in {"delivery_failed", "refunded"}:
        title = _ESIM_NOT_DELIVERED
    return {"kind": kind, "title": title, "text": text}


def _live_url(request: HttpRequest, order_id: str) -> str:
    """Where the page's script waits for a change. The order's token goes along only to the browser that
    already holds it (it placed the order or came back from the checkout), never to a My line visitor."""
    if order_id in owners.session_orders(request):
        return f"/orders/{order_id}/status?{urlencode({'token': order_token(order_id)})}"
    return f"/orders/{order_id}/status"
