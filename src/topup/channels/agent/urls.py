"""URL map of the agent console under /agent/."""

from __future__ import annotations

from django.urls import path

from topup.channels.agent import auth_views, supervisor_views, views

urlpatterns = [
    path("agent/", views.home, name="agent-home"),
    path("agent/sign-in", auth_views.sign_in, name="agent-sign-in"),
    path("agent/sign-in/code", auth_views.totp, name="agent-totp"),
    path("agent/sign-out", auth_views.sign_out, name="agent-sign-out"),
    path("agent/customer", views.customer, name="agent-customer"),
    path("agent/customer/note", views.note, name="agent-note"),
    path("agent/customer/sell", views.sell, name="agent-sell"),
    path("agent/customer/goodwill", views.goodwill, name="agent-goodwill"),
    path("agent/orders/<str:order_id>", views.order, name="agent-order"),
    path("agent/orders/<str:order_id>/refund", views.refund, name="agent-refund"),
    path("agent/orders/<str:order_id>/receipt.pdf", views.receipt_pdf, name="agent-receipt"),
    path("agent/orders/<str:order_id>/resend", views.resend, name="agent-resend"),
    path("agent/requests", supervisor_views.my_requests, name="agent-requests"),
    path("agent/approvals", supervisor_views.approvals, name="agent-approvals"),
    path("agent/approvals/<str:request_id>", supervisor_views.decide, name="agent-decide"),
    path("agent/audit", supervisor_views.audit, name="agent-audit"),
]
