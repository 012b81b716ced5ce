"""An order a promotion makes free (a 100 % discount, a buy-one-get-one's free next purchase): no payment
provider is asked for nothing; the order is paid at once by the promotion, its delivery queued, in the
transaction that reserves the promotion and stores the idempotent answer."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from topup.clock import now
from topup.db.models import Order
from topup.services import promotions
from topup.services.idempotency import Claim, IdempotencyKey, StoredResponse, complete, twin_answer
from topup.services.order_access import order_token, token_hash
from topup.services.order_view import order_document
from topup.services.orders import Priced, QuoteRequest
from topup.services.paid_orders import PaidBy, create_paid_order


def place_free(
    request: QuoteRequest,
    priced: Priced,
    claimed: Claim,
    *,
    channel: str,
    language: str,
    idem: IdempotencyKey,
    api_key_id: str,
) -> StoredResponse:
    at, order_id = now(), claimed.order_id
    token = order_token(order_id)
    paid_by = PaidBy(provider="promotion", method="promotion", provider_ref="", code="promotion", detail="")
    try:
        with transaction.atomic():
            promotions.reserve(order_id, priced.quote, promotions.customer_keys(request, priced), at)
            order, payment = create_paid_order(
                priced, paid_by, channel=channel, language=language, at=at, order_id=order_id
            )
            Order.objects.filter(id=order_id).update(
                token_hash=token_hash(token), email=request.email, eid=priced.eid, api_key_id=api_key_id
            )
            order = Order.objects.get(id=order_id)
            body = order_document(order, [payment], history=list(order.events.all()))
            complete(idem, 201, body)
    except IntegrityError:
        return twin_answer(idem)
    return StoredResponse(201, body)
