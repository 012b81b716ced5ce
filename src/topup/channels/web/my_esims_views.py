"""My eSIMs: sign in with a one-time code sent to the e-mail address an eSIM was bought with, then see each
eSIM (bundles as bars, usage, validity, install state, the QR code again while not installed), add data or
set up auto-renew. The session holds only the address's blind index, signed, bound to the session id and
short-lived; anyone else (no session, another session, a guessed ICCID) gets the sign-in page or a 404."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from datetime import datetime
from typing import Final

import segno
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from topup.channels import phone_words as words
from topup.channels.clients import client_ip
from topup.channels.web import esim_topup_views
from topup.channels.web.common import GENERAL, errors_of, page, percent, requested_language
from topup.channels.web.views import ESIM_STATE_WORDS
from topup.domain.errors import DomainError, NotFound
from topup.ports import PortUnavailable
from topup.services import locale_text, my_esims
from topup.services.my_esims import BundleView, EsimView
from topup.services.plan_text import plan_title

SIGNED_IN_KEY: Final = "web_my_esims"  # the signed {"e": blind index, "s": session digest}
TYPED_KEY: Final = "web_my_esims_email"  # the address typed, until its code is given
SESSION_TTL_S: Final = 1800  # signed in for 30 minutes at most; then a new code
_SALT: Final = "topup.web.my-esims"
CODE_PAGE: Final = {"by_email": True}  # topup/my_code.html, shared with My line, in its e-mail form
# The e-mail's own wording where the SMS wording of a code would be wrong.
_EMAIL_WORDS: Final[Mapping[str, Promise]] = {
    "otp_invalid": _("This code is not right. Check the e-mail and try again."),
}


def _session_digest(request: HttpRequest) -> str:
    return hashlib.sha256(str(request.session.session_key).encode()).hexdigest()[:32]


def signed_in(request: HttpRequest) -> str:
    """The blind index of the signed-in address ("" when nobody is signed in here, or no longer)."""
    value = request.session.get(SIGNED_IN_KEY)
    if not isinstance(value, str):
        return ""
    try:
        data = signing.loads(value, salt=_SALT, max_age=SESSION_TTL_S)
    except signing.BadSignature:  # also SignatureExpired
        return ""
    if not isinstance(data, dict) or data.get("s") != _session_digest(request):
        return ""
    return str(data.get("e") or "")


def _errors(exc: DomainError | None = None, *, code: str = "", field: str = "") -> dict[str, str]:
    code = exc.code if exc is not None else code
    if code in _EMAIL_WORDS:
        return {(exc.field if exc is not None else "") or field or GENERAL: str(_EMAIL_WORDS[code])}
    return errors_of(exc, code=code, field=field)


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    """GET: the eSIMs when signed in, else the e-mail form; POST: send a code to that address."""
    requested_language(request)  # before dates and amounts are worded
    index = signed_in(request) if request.method == "GET" else ""
    if index:
        return page(request, "topup/my_esims.html", {"esims": [_esim(e) for e in my_esims.esims(index)]})
    if request.method == "POST":
        typed = request.POST.get("email", "")[:400]
        try:
            my_esims.ask_code(typed, client_ip(request), language=translation.get_language() or "en")
        except DomainError as exc:
            context = {"typed": typed, "errors": _errors(exc, field="email")}
            return page(request, "topup/my_esims_sign_in.html", context, 422)
        except PortUnavailable as exc:
            context = {"typed": typed, "errors": _errors(code=exc.code)}
            return page(request, "topup/my_esims_sign_in.html", context, 503)
        request.session[TYPED_KEY] = typed
        return HttpResponseRedirect("/my/esims/code")
    return page(request, "topup/my_esims_sign_in.html", {"typed": ""})


@require_http_methods(["GET", "POST"])
def code(request: HttpRequest) -> HttpResponse:
    typed = request.session.get(TYPED_KEY)
    if not isinstance(typed, str):
        return HttpResponseRedirect("/my/esims")
    if request.method == "POST":
        try:
            index = my_esims.sign_in(typed, request.POST.get("code", ""), client_ip(request))
        except DomainError as exc:
            context = {"errors": _errors(exc, field="code"), **CODE_PAGE}
            return page(request, "topup/my_code.html", context, 422)
        request.session.cycle_key()  # a new session id once signed in
        request.session[SIGNED_IN_KEY] = signing.dumps(
            {"e": index, "s": _session_digest(request)}, salt=_SALT
        )
        del request.session[TYPED_KEY]
        return HttpResponseRedirect("/my/esims")
    return page(request, "topup/my_code.html", CODE_PAGE)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    request.session.flush()
    return HttpResponseRedirect("/my/esims")


def _owned(request: HttpRequest, iccid: str) -> str:
    """The signed-in index when the ICCID is one of its eSIMs; 404 for anyone else, as for no eSIM."""
    index = signed_in(request)
    try:
        my_esims.owned_line(index, iccid)
    except NotFound as exc:
        raise Http404(iccid) from exc
    return index


@require_GET
def qr_svg(request: HttpRequest, iccid: str) -> HttpResponse:
    """The eSIM's QR code again, for its signed-in owner only, while the profile is not installed."""
    try:
        activation = my_esims.activation_code(signed_in(request), iccid)
    except NotFound as exc:
        raise Http404(iccid) from exc
    out = io.BytesIO()
    segno.make_qr(activation, mode="byte", error="m").save(out, kind="svg", scale=6, border=4)
    answer = HttpResponse(out.getvalue(), content_type="image/svg+xml")
    answer["Cache-Control"] = "no-store"  # a bearer secret: no shared cache keeps it
    return answer


@require_GET
def add_data(request: HttpRequest, iccid: str) -> HttpResponse:
    """Buy a plan for this eSIM: the eSIM top-up journey with the ICCID already chosen."""
    if not signed_in(request):
        return HttpResponseRedirect("/my/esims")
    index = _owned(request, iccid)
    # The receipt goes to the address the eSIM was bought with: the review's field comes filled in.
    esim_topup_views.start(request, iccid, email=my_esims.address_of(index, iccid))
    return HttpResponseRedirect("/esim/topup/plans")


@require_GET
def auto_renew(request: HttpRequest, iccid: str) -> HttpResponse:
    """Auto-renew for this eSIM: the eSIM top-up journey with the ICCID chosen and auto top-up asked for
    (the review step offers it, helper "auto")."""
    if not signed_in(request):
        return HttpResponseRedirect("/my/esims")
    index = _owned(request, iccid)
    esim_topup_views.start(request, iccid, auto=True, email=my_esims.address_of(index, iccid))
    return HttpResponseRedirect("/esim/topup/plans")


# ---- presentation -----------------------------------------------------------------------------------


def _when(value: datetime | None) -> str:
    """A date and time in Brussels as every page and message writes them (`locale_text.moment`)."""
    return "" if value is None else locale_text.moment(value, translation.get_language())


def _bundle(bundle: BundleView, language: str) -> dict[str, object]:
    left_mb, cap_mb, used_mb = bundle.left_kb // 1024, bundle.cap_kb // 1024, bundle.used_kb // 1024
    if bundle.unlimited:
        left = pgettext("data", "unlimited")
        fair_use = str(_("Fair use: %(used)s of %(cap)s used")) % {
            "used": words.data_amount(used_mb), "cap": words.data_amount(cap_mb)
        }  # fmt: skip
    else:
        left = pgettext("data", "%(left)s of %(total)s left") % {
            "left": words.data_amount(left_mb), "total": words.data_amount(cap_mb)
        }  # fmt: skip
        fair_use = ""
    return {
        "title": plan_title(bundle.plan_id, language),
        "left": left,
        "fair_use": fair_use,
        "used_percent": bundle.used_percent,
        "used_text": str(_("%(percent)s used")) % {"percent": percent(bundle.used_percent * 100)},
        "unlimited": bundle.unlimited,
        "pending": bundle.status == "pending",
        "exhausted": bundle.status == "exhausted" or bundle.left_kb == 0,
        "starts": _when(bundle.starts_at),
        "expires": _when(bundle.expires_at),
    }


def _esim(esim: EsimView) -> dict[str, object]:
    language = translation.get_language() or "en"
    return {
        "iccid": esim.iccid,
        "state": esim.profile_state,
        "state_words": ESIM_STATE_WORDS.get(esim.profile_state, esim.profile_state),
        "bought": _when(esim.bought_at),
        "bundles": [_bundle(b, language) for b in esim.bundles],
        "used_recently": words.data_amount(esim.used_recently_kb // 1024),
        "show_qr": esim.show_qr,
        "qr_path": f"/my/esims/{esim.iccid}/qr.svg",
        "activation_code": esim.activation_code,
        "can_add_data": esim.can_add_data,
        "add_path": f"/my/esims/{esim.iccid}/add",
        "auto_path": f"/my/esims/{esim.iccid}/auto",
    }
