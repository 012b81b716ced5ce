"""Customer sign-in by a one-time SMS code, and what a signed-in line may read: its balance and orders."""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.security import HttpBearer

from topup.channels.api.documents import ERRORS, money_document
from topup.channels.clients import client_ip
from topup.db.models import Order
from topup.services import otp, selfcare
from topup.services.order_view import order_document

router = Router(tags=["self-care"])
ORDERS_SHOWN = 20


class OtpIn(Schema):
    msisdn: str


class OtpVerifyIn(Schema):
    msisdn: str
    code: str


class OtpSentOut(Schema):
    sent: bool
    expires_in_s: int


class TokenOut(Schema):
    token: str
    expires_in_s: int


class LineToken(HttpBearer):
    """`Authorization: Bearer <token>` from POST /auth/otp/verify; the request's `auth` is the line."""

    def authenticate(self, request: HttpRequest, token: str) -> str | None:
        return otp.token_line(token)


def _line(request: HttpRequest) -> str:
    """The line LineToken authenticated (django-ninja sets `request.auth` to what `authenticate` returned)."""
    return str(getattr(request, "auth", ""))


@router.post("/auth/otp", response={202: OtpSentOut, **ERRORS})
def send_otp(request: HttpRequest, body: OtpIn) -> Status[OtpSentOut]:
    otp.send_code(body.msisdn, client_ip(request))
    return Status(202, OtpSentOut(sent=True, expires_in_s=otp.CODE_TTL_S))


@router.post("/auth/otp/verify", response={200: TokenOut, **ERRORS})
def verify_otp(request: HttpRequest, body: OtpVerifyIn) -> TokenOut:
    token = otp.verify(body.msisdn, body.code, client_ip(request))
    return TokenOut(token=token, expires_in_s=otp.TOKEN_TTL_S)


@router.get("/me/balance", auth=LineToken(), response={200: dict[str, object], **ERRORS})
def my_balance(request: HttpRequest) -> dict[str, object]:
    found = selfcare.balance(_line(request))
    return {
        "msisdn": found.line_ref,
        "network": found.network_name,
        "credit": money_document(found.credit),
        "valid_until": found.valid_until,
        "bundles": [
            {
                "plan": b.plan_name,
                "remaining_mb": b.remaining_mb,
                "total_mb": b.total_mb,
                "unlimited": b.unlimited,
                "expires_at": b.expires_at,
            }
            for b in found.bundles
        ],
    }


@router.get("/me/orders", auth=LineToken(), response={200: dict[str, object], **ERRORS})
def my_orders(request: HttpRequest) -> dict[str, object]:
    msisdn = _line(request)
    orders = (
        Order.objects.filter(Q(msisdn=msisdn) | Q(line__msisdn=msisdn))
        .select_related("line")
        .prefetch_related("payments", "events")
        .order_by("-created_at")[:ORDERS_SHOWN]
    )
    return {"orders": [order_document(o, list(o.payments.all()), list(o.events.all())) for o in orders]}
