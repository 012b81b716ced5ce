"""Auto top-up on the website: the choice on the review step, and the one-click cancel page of its messages
(`/auto-topup/cancel/<token>`: GET shows what would stop, POST with its button stops it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from django.http import HttpRequest, HttpResponse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from topup.channels.web.common import errors_of, money, page
from topup.domain.autotopup import Status
from topup.domain.catalogue import PlanKind
from topup.domain.errors import DomainError
from topup.domain.money import Money
from topup.services import autotopup, catalogue, plan_text

CHOICES: Final[Mapping[str, Promise]] = {
    "": _("Never"),
    "weekly": _("Every week"),
    "fortnightly": _("Every two weeks"),
    "monthly": _("Every month"),
    "credit": _("When my credit is below the amount below"),
    "renew": _("Renew this bundle when 10 percent is left or it is about to expire"),
}
DEFAULT_CAP_EUR = 50
MAX_EUR = 1000


def _euros(text: str, default: int) -> int:
    """Whole euros typed in a number field, in cents; empty or not a number: the default."""
    digits = text.strip()
    value = int(digits) if digits.isascii() and digits.isdigit() else default
    return min(max(value, 0), MAX_EUR) * 100


def review_context(plan_id: str) -> dict[str, object]:
    """The choices the review step offers for this plan (credit below an amount, or renew a bundle)."""
    plan, _network = catalogue.plan_and_network(plan_id)
    wanted = {"", "weekly", "fortnightly", "monthly", "credit" if plan.kind is PlanKind.CREDIT else "renew"}
    return {
        "auto_choices": [(code, name) for code, name in CHOICES.items() if code in wanted],
        "auto_cap_eur": DEFAULT_CAP_EUR,
        "auto_credit": plan.kind is PlanKind.CREDIT,
    }


def choice_from_post(data: Mapping[str, str]) -> autotopup.Choice | None:
    """The buyer's choice on the review form; None for "never"."""
    chosen = data.get("auto_topup", "")
    cap_minor = _euros(data.get("auto_cap", ""), DEFAULT_CAP_EUR)
    if chosen in {"weekly", "fortnightly", "monthly"}:
        return autotopup.Choice("periodic", period=chosen, cap_minor=cap_minor)
    if chosen == "credit":
        threshold_minor = _euros(data.get("auto_threshold", ""), 5)
        return autotopup.Choice("threshold", threshold_minor=threshold_minor, cap_minor=cap_minor)
    if chosen == "renew":
        return autotopup.Choice("threshold", cap_minor=cap_minor)
    if chosen:
        return autotopup.Choice("unknown", cap_minor=cap_minor)  # refused by the rules: auto_topup_invalid
    return None


CANCEL_TEMPLATE = "topup/auto_topup_cancel.html"


def cancel(request: HttpRequest, token: str) -> HttpResponse:
    try:
        found = autotopup.by_cancel_token(token)
    except DomainError as exc:
        return page(request, CANCEL_TEMPLATE, {"errors": errors_of(exc)}, status=404)
    done = False
    if request.method == "POST" and found.status != Status.CANCELLED:
        found = autotopup.cancel(found.id, reason="cancel link")
        done = True
    language = request.LANGUAGE_CODE
    context = {
        "plan": plan_text.plan_title(found.plan_id, language),
        "cap": money(Money(found.cap_minor, found.currency)),
        "card": found.card_label,
        "cancelled": found.status == Status.CANCELLED,
        "just_cancelled": done,
        "errors": {},
    }
    return page(request, CANCEL_TEMPLATE, context)
