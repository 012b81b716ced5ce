"""The kiosk's URLs under /kiosk/: the screens, the cash session, the acceptor's signed events, enrolment."""

from __future__ import annotations

from django.urls import path

from topup.channels.kiosk import card_views, cash_views, views

urlpatterns = [
    path("kiosk/", views.start, name="kiosk"),
    path("kiosk/enrol", views.enrol, name="kiosk-enrol"),
    path("kiosk/language", views.language, name="kiosk-language"),
    path("kiosk/reset", views.reset, name="kiosk-reset"),
    path("kiosk/number", views.number, name="kiosk-number"),
    path("kiosk/plans", views.plans, name="kiosk-plans"),
    path("kiosk/pay", views.pay, name="kiosk-pay"),
    path("kiosk/cash", cash_views.cash, name="kiosk-cash"),
    path("kiosk/cash/start", cash_views.start_cash, name="kiosk-cash-start"),
    path("kiosk/cash/status", cash_views.cash_status, name="kiosk-cash-status"),
    path("kiosk/cash/cancel", cash_views.cancel, name="kiosk-cash-cancel"),
    path("kiosk/cash/events", cash_views.events, name="kiosk-cash-events"),
    path("kiosk/receipt", cash_views.receipt, name="kiosk-receipt"),
    path("kiosk/card", card_views.waiting, name="kiosk-card"),
    path("kiosk/card/start", card_views.start, name="kiosk-card-start"),
    path("kiosk/card/status", card_views.status, name="kiosk-card-status"),
    path("kiosk/card/declined", card_views.declined, name="kiosk-card-declined"),
    path("kiosk/card/cancel", card_views.cancel, name="kiosk-card-cancel"),
    path("kiosk/card/receipt", card_views.receipt, name="kiosk-card-receipt"),
]
