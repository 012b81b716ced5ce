"""REST API v1 for shop terminals (`/api/v1/pos/...`): every request signed by its terminal
(channels/terminal_auth); each route is one service call. A terminal sees only its own sales."""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Router, Schema, Status
from ninja.params.functions import Query
from pydantic import Field

from topup.channels.api import errors
from topup.channels.api.documents import ERRORS
from topup.channels.messages import error_body
from topup.channels.terminal_auth import TerminalRefused, TerminalSignature
from topup.db.models import Terminal
from topup.domain.shifts import MovementKind
from topup.services import retail, retail_receipts, shifts
from topup.services.retail_documents import sale_document
from topup.services.retail_voids import find_sale, void

router = Router(tags=["pos"], auth=TerminalSignature())
Doc = dict[str, object]


class PosQuoteIn(Schema):
    plan_id: str = Field(min_length=1, max_length=60)
    kind: Literal["direct", "pin"] = "direct"
    msisdn: str = Field(default="", max_length=40, description="a direct top-up's Belgian number, as typed")
    network_confirmed: bool = Field(
        default=False, description="the clerk confirmed a ported number's network"
    )
    promo_code: str = Field(
        default="",
        max_length=40,
        description="a direct top-up's promo code (a flyer's), as the customer shows it",
    )


class PosSaleIn(PosQuoteIn):
    terminal_ref: str = Field(
        min_length=1,
        max_length=64,
        description="the terminal's own unique reference: letters, digits, . _ : -",
    )
    tender: Literal["cash", "card"] = "cash"
    language: Literal["en", "nl", "fr", "de", "zh-hans"] = "en"
    cash_given_minor: int | None = Field(default=None, ge=0, le=10_000_000)


class PosShiftIn(Schema):
    opened_by: str = Field(default="", max_length=80)
    opening_float_minor: int | None = Field(default=None, ge=0, le=100_000_000, description="default: last Z")


class PosCloseIn(Schema):
    counted_cash_minor: int = Field(ge=0, le=100_000_000)
    reason: str = Field(default="", max_length=200, description="required when counted ≠ expected")


class PosCashIn(Schema):
    kind: Literal["paid_in", "paid_out"]
    amount_minor: int = Field(gt=0, le=100_000_000)
    note: str = Field(default="", max_length=200, description="why: change from the bank, to the safe, …")


def _terminal(request: HttpRequest) -> Terminal:
    terminal = request.auth  # type: ignore[attr-defined]
    assert isinstance(terminal, Terminal)
    return terminal


def _sale_request(body: PosSaleIn) -> retail.SaleRequest:
    return retail.SaleRequest(
        terminal_ref=body.terminal_ref, plan_id=body.plan_id, kind=body.kind, msisdn=body.msisdn,
        tender=body.tender, language=body.language, cash_given_minor=body.cash_given_minor,
        network_confirmed=body.network_confirmed, promo_code=body.promo_code.strip(),
    )  # fmt: skip


@router.get("/pos/catalogue", response={200: list[Doc], **ERRORS})
def pos_catalogue(request: HttpRequest) -> list[Doc]:
    """The plans on sale, with the commission this terminal's retailer earns on each."""
    return retail.catalogue_for(_terminal(request).id)


@router.post("/pos/quote", response={200: Doc, **ERRORS})
def pos_quote(request: HttpRequest, body: PosQuoteIn) -> Doc:
    request_ = retail.SaleRequest(
        "quote", body.plan_id, body.kind, body.msisdn, network_confirmed=body.network_confirmed,
        promo_code=body.promo_code.strip(),
    )  # fmt: skip
    return retail.quote(_terminal(request).id, request_)


@router.post("/pos/sales", response={200: Doc, 201: Doc, **ERRORS})
def pos_sell(request: HttpRequest, body: PosSaleIn) -> Status[Doc]:
    """Sell: 201 with the sale (a PIN sale's PIN, shown this once and on the receipt). The same
    terminal_ref with the same body answers 200 with the first answer; with another body 409."""
    result = retail.sell(_terminal(request).id, _sale_request(body))
    return Status(result.status, result.document)


@router.get("/pos/sales/{terminal_ref}", response={200: Doc, **ERRORS})
def pos_sale(request: HttpRequest, terminal_ref: str) -> Doc:
    return sale_document(find_sale(_terminal(request).id, terminal_ref))


@router.post("/pos/sales/{terminal_ref}/void", response={200: Doc, **ERRORS})
def pos_void(request: HttpRequest, terminal_ref: str) -> Doc:
    """Void: a direct top-up while not yet sent to the carrier, a PIN while unused and within 72 h."""
    return void(_terminal(request).id, terminal_ref)


@router.get("/pos/sales/{terminal_ref}/receipt", response={200: Doc, **ERRORS})
def pos_receipt(
    request: HttpRequest,
    terminal_ref: str,
    format_: Literal["json", "text", "escpos", "pdf"] = Query("json", alias="format"),
) -> HttpResponse | Doc:
    """The receipt, in the customer's language: JSON (ReceiptData), text, ESC/POS bytes or PDF."""
    body, content_type = retail_receipts.render(find_sale(_terminal(request).id, terminal_ref), format_)
    if isinstance(body, dict):
        return body
    return HttpResponse(body, content_type=content_type)


@router.post("/pos/shifts", response={201: Doc, **ERRORS})
def pos_open_shift(request: HttpRequest, body: PosShiftIn) -> Status[Doc]:
    terminal = _terminal(request)
    shifts.open_shift(terminal, opened_by=body.opened_by, opening_float_minor=body.opening_float_minor)
    return Status(201, shifts.x_report(terminal))


@router.get("/pos/shifts/current/x", response={200: Doc, **ERRORS})
def pos_x(request: HttpRequest) -> Doc:
    """The X report: the open shift's numbers now, read-only."""
    return shifts.x_report(_terminal(request))


@router.post("/pos/shifts/current/z", response={200: Doc, **ERRORS})
def pos_z(request: HttpRequest, body: PosCloseIn) -> Doc:
    """The Z: the same report with the counted cash, frozen, and the shift closed."""
    return shifts.close(_terminal(request), counted_cash_minor=body.counted_cash_minor, reason=body.reason)


@router.post("/pos/shifts/current/cash", response={200: Doc, **ERRORS})
def pos_cash(request: HttpRequest, body: PosCashIn) -> Doc:
    """Cash paid into or out of the drawer during the shift; answers the X report after it."""
    kind = MovementKind(body.kind)
    return shifts.pay_in_or_out(_terminal(request), kind, body.amount_minor, body.note)


def install(api: NinjaAPI) -> None:
    """Add the POS routes and their 401 answer (a stable code per reason a signature is refused)."""

    @api.exception_handler(TerminalRefused)
    def refused(request: HttpRequest, exc: TerminalRefused) -> HttpResponse:
        return errors.json_response(401, error_body(exc.code, field="X-Signature"))

    api.add_router("/", router)
