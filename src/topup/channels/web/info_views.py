"""The pages every customer page links to in its footer: terms, privacy, contact and help (an FAQ).

Their words are templates through gettext, in the five languages; the facts they quote (who runs the
service, how to reach it, how long a refund waits, our margin on the yuan rate) come from the settings,
so the pages never promise what the platform does not do.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.views.decorators.http import require_GET

from topup.channels.web.common import page, percent, requested_language
from topup.services.agent_receipts import operator_seller
from topup.services.receipts.content import sms_command, ussd_code
from topup.settings import CONFIG


def _facts() -> dict[str, object]:
    seller = operator_seller("web")
    return {
        "operator": seller.name,
        "address": ", ".join(seller.address_lines),
        "vat_number": seller.vat_number,
        "support_phone": CONFIG.support_phone,
        "support_email": CONFIG.support_email,
        "short_code": CONFIG.sms_short_code,
        "refund_minutes": max(1, CONFIG.delivery_deadline_s // 60),
        "fx_markup": percent(CONFIG.fx_markup_bp),
        "fx_hold_minutes": max(1, CONFIG.fx_quote_ttl_s // 60),
    }


@require_GET
def terms(request: HttpRequest) -> HttpResponse:
    return page(request, "topup/terms.html", _facts())


@require_GET
def privacy(request: HttpRequest) -> HttpResponse:
    return page(request, "topup/privacy.html", _facts())


@require_GET
def contact(request: HttpRequest) -> HttpResponse:
    return page(request, "topup/contact.html", _facts())


@require_GET
def help_page(request: HttpRequest) -> HttpResponse:
    """The FAQ; the voucher's SMS command is shown in the reader's language (its keyword)."""
    requested_language(request)  # before the SMS keyword is chosen, not only for the template
    language = translation.get_language() or "en"
    context = {**_facts(), "sms_redeem": sms_command("PIN", language), "ussd_redeem": ussd_code("PIN")}
    return page(request, "topup/help.html", context)
