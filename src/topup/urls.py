"""URL map: the REST API under /api/v1/, health and metrics, the back office and the agent console."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from topup.channels import carrier_callbacks, es2plus, health, ivr, sms, ussd
from topup.channels.api.routes import api
from topup.channels.web import views as web

urlpatterns = [
    path("", web.home, name="home"),
    path("orders/<str:order_id>", web.order_status, name="order-status"),
    path("healthz", health.healthz),
    path("metrics", health.metrics),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("", include("topup.channels.agent.urls")),
    path("", include(ussd.urlpatterns)),
    path("", include(ivr.urlpatterns)),
    path("", include(sms.urlpatterns)),
    path("", include(es2plus.urlpatterns)),
    path("", include(carrier_callbacks.urlpatterns)),
    path("", include("topup.channels.kiosk.urls")),
    path("", include("topup.channels.web.urls")),
]
