"""The customer's web journeys: top up a number, buy an eSIM or add data to one, My line (sign-in by SMS
code) and My eSIMs (sign-in by e-mail code)."""

from __future__ import annotations

from django.urls import path

from topup.channels.web import (
    autotopup_views,
    esim_topup_views,
    esim_views,
    info_views,
    my_esims_views,
    my_views,
    order_views,
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
    path("esim/topup", esim_topup_views.number, name="web-esim-topup"),
    path("esim/topup/plans", esim_topup_views.plans, name="web-esim-topup-plans"),
    path("esim/topup/review", esim_topup_views.review, name="web-esim-topup-review"),
    path("orders/<str:order_id>/pay", payment_views.pay_again, name="web-order-pay"),
    path("orders/<str:order_id>/status", order_views.status, name="web-order-status"),
    path("orders/<str:order_id>/events", order_views.events, name="web-order-events"),
    path("orders/<str:order_id>/receipt.pdf", order_views.receipt, name="web-order-receipt"),
    path("orders/<str:order_id>/again", order_views.again, name="web-order-again"),
    path("terms", info_views.terms, name="web-terms"),
    path("privacy", info_views.privacy, name="web-privacy"),
    path("contact", info_views.contact, name="web-contact"),
    path("help", info_views.help_page, name="web-help"),
    path("auto-topup/cancel/<str:token>", autotopup_views.cancel, name="web-auto-topup-cancel"),
    path("my", my_views.sign_in, name="web-my"),
    path("my/code", my_views.code, name="web-my-code"),
    path("my/language", my_views.language, name="web-my-language"),
    path("my/reminders", my_views.reminders_switch, name="web-my-reminders"),
    path("my/sign-out", my_views.sign_out, name="web-my-sign-out"),
    path("my/esims", my_esims_views.sign_in, name="web-my-esims"),
    path("my/esims/code", my_esims_views.code, name="web-my-esims-code"),
    path("my/esims/sign-out", my_esims_views.sign_out, name="web-my-esims-sign-out"),
    path("my/esims/<str:iccid>/qr.svg", my_esims_views.qr_svg, name="web-my-esims-qr"),
    path("my/esims/<str:iccid>/add", my_esims_views.add_data, name="web-my-esims-add"),
    path("my/esims/<str:iccid>/auto", my_esims_views.auto_renew, name="web-my-esims-auto"),
]
