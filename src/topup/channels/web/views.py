"""The pages a customer lands on: the home page and the live status of an order after paying."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from topup.domain.errors import NotFound
from topup.domain.orders import OrderStatus, is_terminal
from topup.services import catalogue, orders


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "topup/home.html", {"networks": catalogue.networks()})


def order_status(request: HttpRequest, order_id: str) -> HttpResponse:
    try:
        order = orders.get_order(order_id)
    except NotFound as exc:
        raise Http404(order_id) from exc
    total = order["total"]
    assert isinstance(total, dict)
    context = {
        "order": order,
        "amount": f"{total['amount_minor'] / 100:.2f}",
        "settled": is_terminal(OrderStatus(str(order["status"]))),
    }
    return render(request, "topup/order.html", context)
