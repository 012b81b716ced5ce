"""REST API v1 for auto top-ups: read and cancel one, for whoever may read the order that set it up."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router
from ninja.params.functions import Header

from topup.channels import owners
from topup.channels.api.autotopup_schemas import AutoTopupIn, AutoTopupOut
from topup.channels.api.documents import ERRORS
from topup.services import autotopup

router = Router(tags=["auto top-up"])
ORDER_TOKEN = Header(
    None,
    alias="X-Order-Token",
    description="The `order_token` of the order that set the auto top-up up, unless the API key that created "
    "it or the signed-in line's bearer token is sent; anyone else gets 404 auto_topup_not_found.",
)


def choice(body: AutoTopupIn | None) -> autotopup.Choice | None:
    """The service's reading of the `auto_topup` object of POST /orders."""
    if body is None:
        return None
    return autotopup.Choice(
        trigger=body.trigger, period=body.recurring_period or "", threshold_minor=body.threshold_minor,
        cap_minor=body.cap_per_month_minor, number_of_periods=body.number_of_periods,
    )  # fmt: skip


@router.get("/auto-topups/{auto_topup_id}", response={200: AutoTopupOut, **ERRORS})
def get_auto_topup(
    request: HttpRequest, auto_topup_id: str, order_token: str | None = ORDER_TOKEN
) -> dict[str, object]:
    return autotopup.get(auto_topup_id, owners.caller(request, with_session=True))


@router.delete("/auto-topups/{auto_topup_id}", response={200: AutoTopupOut, **ERRORS})
def cancel_auto_topup(
    request: HttpRequest, auto_topup_id: str, order_token: str | None = ORDER_TOKEN
) -> dict[str, object]:
    """Cancel it (again: no change); the saved card is forgotten at the provider."""
    return autotopup.cancel_owned(auto_topup_id, owners.caller(request, with_session=False))
