"""What an HTTP request proves about who sends it, for reading orders and scoping Idempotency-Keys.

- `X-Order-Token: <token>`: the order's own secret (the 201 answer's `order_token`).
- `Authorization: Bearer tpk_…`: an API key; it sees the orders it created and scopes its keys.
- `Authorization: Bearer <token>` from `/auth/otp/verify`: a signed-in line; it sees that line's orders.
- The web session (reads only, never a cancel: a cookie rides along with cross-site requests): the
  orders this browser placed or opened from the checkout return link, and the line signed in on My line.
"""

from __future__ import annotations

import hashlib

from django.http import HttpRequest

from topup.channels.api.auth import STAFF_SCOPE, verified_key
from topup.channels.clients import client_ip
from topup.db.models import ApiKey
from topup.pii import hash_ip
from topup.services import otp
from topup.services.order_access import Caller

ORDER_TOKEN_HEADER = "X-Order-Token"  # noqa: S105 (a header name, not a secret)
SESSION_ORDERS = "web_orders"  # ids of the orders this browser may see
SESSION_LINE_TOKEN = "web_my_token"  # noqa: S105 (a session key name; set by web/my_views on sign-in)
SESSION_ORDERS_KEPT = 50


def _bearer(request: HttpRequest) -> str:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def api_key_id(request: HttpRequest) -> str:
    """The id of a valid, unrevoked API key sent as the bearer token ("" when there is none)."""
    key = _api_key(request)
    return key.id if key else ""


def _api_key(request: HttpRequest) -> ApiKey | None:
    token = _bearer(request)
    return verified_key(token) if token.startswith("tpk_") else None  # the route's own check, cached


def api_caller_scope(request: HttpRequest) -> str:
    """Who owns an API request's Idempotency-Key: its API key, else the hash of the client address."""
    key_id = api_key_id(request)
    return f"key:{key_id}" if key_id else f"ip:{hash_ip(client_ip(request))}"


def web_caller_scope(request: HttpRequest) -> str:
    """A browser's Idempotency-Keys belong to its session."""
    if not request.session.session_key:
        request.session.save()
    digest = hashlib.sha256(str(request.session.session_key).encode()).hexdigest()
    return f"web:{digest[:32]}"


def remember_order(request: HttpRequest, order_id: str) -> None:
    """Let this browser see the order from now on (it placed it, or came back from the checkout)."""
    kept = [i for i in session_orders(request) if i != order_id][-(SESSION_ORDERS_KEPT - 1) :]
    request.session[SESSION_ORDERS] = [*kept, order_id]


def session_orders(request: HttpRequest) -> list[str]:
    found = request.session.get(SESSION_ORDERS)
    return [str(i) for i in found] if isinstance(found, list) else []


def _session_line(request: HttpRequest) -> str:
    token = request.session.get(SESSION_LINE_TOKEN)
    return (otp.token_line(token) or "") if isinstance(token, str) and token else ""


def caller(request: HttpRequest, *, with_session: bool) -> Caller:
    """Everything the request proves; `with_session` only for reads (GET), never for a change."""
    token = request.headers.get(ORDER_TOKEN_HEADER, "").strip()
    bearer = _bearer(request)
    line = otp.token_line(bearer) if bearer and not bearer.startswith("tpk_") else None
    order_ids: frozenset[str] = frozenset()
    if with_session:
        order_ids = frozenset(session_orders(request))
        line = line or _session_line(request)
    key = _api_key(request)
    return Caller(
        tokens=(token,) if token else (),
        api_key_id=key.id if key else "",
        line=line or "",
        order_ids=order_ids,
        staff=key is not None and STAFF_SCOPE in key.scopes,
    )
