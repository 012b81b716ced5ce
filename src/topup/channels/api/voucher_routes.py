"""REST API v1: redeeming a recharge voucher (the same PIN rules as SMS, USSD and IVR)."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import get_language
from ninja import Router, Schema, Status
from pydantic import Field

from topup.channels import owners
from topup.channels.api.documents import ERRORS
from topup.channels.api.schemas import CreatedOrderOut
from topup.channels.clients import client_ip
from topup.domain.errors import Conflict, InvalidInput
from topup.services import vouchers
from topup.services.idempotency import StoredResponse, make_key, replay, scoped
from topup.services.order_access import with_token

router = Router(tags=["vouchers"])


class RedeemIn(Schema):
    pin: str = Field(min_length=1, max_length=40, description="the code printed on the voucher")
    msisdn: str = Field(default="", max_length=40, description="the Belgian number to top up")
    iccid: str = Field(default="", max_length=22, description="or the eSIM to top up")


@router.post("/vouchers/redeem", response={201: CreatedOrderOut, **ERRORS})
def redeem_voucher(request: HttpRequest, body: RedeemIn) -> Status[dict[str, object]]:
    """Redeem a PIN: 201 with the new paid order. The Idempotency-Key replays the first answer."""
    scope = scoped("vouchers", owners.api_caller_scope(request))
    idem = make_key(scope, request.headers.get("Idempotency-Key"), body.model_dump())
    stored = replay(idem)
    if stored is not None:
        return _with_token(stored)
    if not (body.msisdn.strip() or body.iccid.strip()):  # nobody to top up: refused before any PIN is tried
        raise InvalidInput("msisdn or iccid is required", code="msisdn_required", field="msisdn")
    callers = [f"ip:{client_ip(request) or 'unknown'}", f"line:{body.msisdn or body.iccid}"]
    try:
        order = vouchers.redeem(
            body.pin, msisdn=body.msisdn, iccid=body.iccid, channel="api", caller_keys=callers,
            language=get_language() or "en", idem=idem,
        )  # fmt: skip
    except Conflict:
        # A retry of a request whose answer was not stored yet: the first attempt's answer, if there is one.
        stored = replay(idem)
        if stored is not None:
            return _with_token(stored)
        raise
    return _with_token(StoredResponse(201, order))


def _with_token(answer: StoredResponse) -> Status[dict[str, object]]:
    return Status(answer.status, with_token(answer.body))
