"""REST API v1: an order's status pushed (Server-Sent Events), and a partner's status callback URL.

Who may read the order may follow it; anyone else gets 404 order_not_found, as for reading it. A partner
(an API key) registers one callback URL; each status change of the orders that key placed is POSTed to it,
signed (services/partner_hooks).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from ninja import Field, Router, Schema
from ninja.params.functions import Header, Query

from topup.channels import order_stream, owners
from topup.channels.api import errors
from topup.channels.api.auth import ScopedKey
from topup.channels.api.documents import ERRORS
from topup.channels.messages import error_body
from topup.db.models import ApiKey
from topup.services import order_view, order_watch, partner_hooks
from topup.services.order_access import Caller

router = Router()
LAST_EVENT_ID = Header(
    None,
    alias="Last-Event-ID",
    max_length=80,
    description="The `id` of the last event received (EventSource sends it when it reconnects): the stream "
    "starts with the next change instead of the current document.",
)
EVENT_SCHEMA = {
    "type": "object",
    "description": "One event of the stream",
    "properties": {
        "event": {"type": "string", "enum": ["order"]},
        "id": {"type": "string", "description": "The order's state: send it back as Last-Event-ID"},
        "data": {"type": "string", "description": "The order's document (as GET /orders/{order_id}), JSON"},
        "retry": {"type": "integer", "description": "Milliseconds to wait before reconnecting"},
    },
}
SSE_DOC = {
    "responses": {
        200: {
            "description": "text/event-stream: `retry: 1000`, then `event: order` with `id: <state>` and "
            "`data: <the order's document>` each time the order changes; ends after a terminal status "
            "(delivered, refunded, expired, cancelled) or after 60 s, then reconnect with Last-Event-ID. "
            "204 when the order already ended at the state given. 503 with Retry-After when this server "
            "follows as many orders as it may at once.",
            "content": {"text/event-stream": {"schema": EVENT_SCHEMA}},
        }
    }
}


class CallbackIn(Schema):
    url: str = Field(
        ...,
        max_length=500,
        pattern=r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[!-~]*)?$",
        description="Where the events are POSTed: https to a public address (http and loopback are allowed "
        "in the demo and tests only)",
    )


class CallbackOut(Schema):
    url: str | None = Field(None, description="Where status changes are POSTed; null when none is set")
    signing_secret: str | None = Field(
        None, description="Shown once, when the callback is first set: verifies `Topup-Signature`"
    )


def too_busy() -> HttpResponse:
    response = errors.json_response(503, error_body("too_many_waiters"))
    for name, value in order_stream.busy().items():
        response[name] = value
    return response


@router.get(
    "/orders/{order_id}/events", response={200: str, **ERRORS}, tags=["orders"], openapi_extra=SSE_DOC
)
def order_events(
    request: HttpRequest,
    order_id: str,
    after: str | None = Query(None, max_length=80, description="A state or status already seen"),
    last_event_id: str | None = LAST_EVENT_ID,
    order_token: str | None = Header(None, alias="X-Order-Token", description="The order's own secret"),
) -> HttpResponseBase:
    """The order's document each time it changes, as Server-Sent Events."""
    caller = owners.caller(request, with_session=True)
    now = order_watch.state_of_owned(order_id, caller)  # order_not_found for anyone else
    seen = (last_event_id or after or "")[:80]
    response = order_stream.stream(order_id, seen, lambda: _document(order_id, caller), now)
    return response if response is not None else too_busy()


def _document(order_id: str, caller: Caller) -> tuple[str, str, dict[str, object]]:
    """The order's document (as GET /orders/{order_id}) with its status and state, from one statement."""
    document = order_view.owned_document(order_id, caller)
    return str(document["status"]), order_watch.state_of_document(document), document


@router.get("/partner/callback", response={200: CallbackOut, **ERRORS}, auth=ScopedKey("orders:write"),
            tags=["partners"])  # fmt: skip
def get_callback(request: HttpRequest) -> dict[str, object]:
    """The status callback URL of this API key (never its secret)."""
    return partner_hooks.hook_document(_key(request))


@router.put("/partner/callback", response={200: CallbackOut, **ERRORS}, auth=ScopedKey("orders:write"),
            tags=["partners"])  # fmt: skip
def set_callback(request: HttpRequest, body: CallbackIn) -> dict[str, object]:
    """Set or change where this key's orders' status changes are POSTed. The first time, the answer holds
    the signing secret, shown only then. Refused with 400 invalid_callback_url (in production: https to a
    public address only)."""
    key_id = _key(request)
    secret = partner_hooks.set_hook(key_id, body.url)
    return {**partner_hooks.hook_document(key_id), "signing_secret": secret or None}


@router.delete("/partner/callback", response={200: CallbackOut, **ERRORS}, auth=ScopedKey("orders:write"),
               tags=["partners"])  # fmt: skip
def clear_callback(request: HttpRequest) -> dict[str, object]:
    """Stop the callbacks and forget the secret (a new one comes with the next PUT)."""
    partner_hooks.clear_hook(_key(request))
    return {"url": None, "signing_secret": None}


def _key(request: HttpRequest) -> str:
    key = request.auth  # type: ignore[attr-defined]  # ninja sets it after ScopedKey
    assert isinstance(key, ApiKey)
    return key.id
