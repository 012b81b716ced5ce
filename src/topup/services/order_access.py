"""Who may see an order: the holder of its token, the API key that created it, or the line it is for.

An order's token is 32 bytes, URL-safe, unguessable: an HMAC of the order id under a key derived from
`TOPUP_SECRET_KEY`, so that a replayed or resumed request hands out the same token and the checkout return
link is byte-for-byte the same at the provider. The database keeps only the token's SHA-256 (a database
dump gives nobody access). Anyone else gets `order_not_found`, exactly as for an order that does not exist.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field

from django.db.models import QuerySet

from topup.db.models import Order
from topup.domain.errors import NotFound
from topup.settings import CONFIG

_KEY = hmac.new(CONFIG.secret_key.encode(), b"topup order token v1", hashlib.sha256).digest()


def order_token(order_id: str) -> str:
    """The order's own secret, handed to the buyer in the 201 answer and in the checkout return link."""
    digest = hmac.new(_KEY, order_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def with_token(body: dict[str, object]) -> dict[str, object]:
    """An order document with the order's token, which stored answers never keep."""
    return {**body, "order_token": order_token(str(body["id"]))}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Caller:
    """What a request proves about its sender; each channel fills in what it can read."""

    tokens: tuple[str, ...] = ()  # order tokens presented (X-Order-Token, the checkout return link)
    api_key_id: str = ""  # a valid API key sent with the request
    line: str = ""  # the MSISDN of a signed-in line (bearer token or the web session of My line)
    order_ids: frozenset[str] = field(default_factory=frozenset)  # orders this web session placed
    staff: bool = False  # the API key is the operator's (admin scope): it also reads an order's economics


def may_access(order: Order, caller: Caller) -> bool:
    if order.id in caller.order_ids:
        return True
    if order.api_key_id and caller.api_key_id and hmac.compare_digest(order.api_key_id, caller.api_key_id):
        return True
    # Orders placed before tokens were stored, or by a channel that hands out none, still have one.
    expected = order.token_hash or token_hash(order_token(order.id))
    if any(hmac.compare_digest(expected, token_hash(token)) for token in caller.tokens):
        return True
    return bool(caller.line) and caller.line in {order.msisdn, order.line.msisdn if order.line else None}


def owned_order(order_id: str, caller: Caller, query: QuerySet[Order] | None = None) -> Order:
    """The order when the caller may see it; otherwise `order_not_found`, whether it exists or not.
    `query` (orders, with what the caller needs joined or annotated) makes the read and the check one
    statement; by default the order and its line."""
    found = query if query is not None else Order.objects.select_related("line")
    return checked(found.filter(id=order_id).first(), order_id, caller)


def checked(order: Order | None, order_id: str, caller: Caller) -> Order:
    """`order` (read by `order_id`, with its line) when the caller may see it; else `order_not_found`."""
    if order is None or not may_access(order, caller):
        raise NotFound(f"no order {order_id!r}", code="order_not_found", field="order_id")
    return order
