"""The customer's web journeys: top up a number, buy an eSIM, and My line (sign-in by SMS code)."""

from __future__ import annotations

from django.urls import path

from topup.channels.web import (
    autotopup_views,
    esim_views,
    my_views,
    payment_views,
    topup_views,
    voucher_views,
)

urlpatterns = [
    path("topup", topup_views.number, name="web-topup"),
    path("topup/network", topup_views.network, name="web-topup-network"),
    path("topup/plans", topup_views.plans, name="web-topup-plans"),
    path("topup/review", topup_views.review, name="web-topup-review"),
    path("voucher", voucher_views.redeem, name="web-voucher"),  # printed on shop receipts
    path("esim", esim_views.plans, name="web-esim"),
    path("esim/review", esim_views.review, name="web-esim-review"),
    path("orders/<str:order_id>/pay", payment_views.pay_again, name="web-order-pay"),
    path("auto-topup/cancel/<str:token>", autotopup_views.cancel, name="web-auto-topup-cancel"),
    path("my", my_views.sign_in, name="web-my"),
    path("my/code", my_views.code, name="web-my-code"),
    path("my/language", my_views.language, name="web-my-language"),
    path("my/sign-out", my_views.sign_out, name="web-my-sign-out"),
]
