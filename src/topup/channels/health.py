"""`/healthz` (alive and the database answers) and `/metrics` (Prometheus text format, behind a token; what it
answers is `topup.metrics.scrape`)."""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from topup.channels.clients import client_ip
from topup.metrics import scrape


def healthz(request: HttpRequest) -> HttpResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok"})


def metrics_refusal(request: HttpRequest) -> HttpResponse | None:
    """None when the caller may read the metrics: `Authorization: Bearer <TOPUP_METRICS_TOKEN>`, or, when no
    token is configured (demo and test only: production requires one), a caller on the loopback interface."""
    token: str = settings.METRICS_TOKEN
    if not token:
        try:
            loopback = ipaddress.ip_address(client_ip(request) or "").is_loopback
        except ValueError:
            loopback = False
        return None if loopback else HttpResponse("metrics: loopback only\n", status=403)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        answer = HttpResponse("metrics: bearer token required\n", status=401)
        answer["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return answer
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        return HttpResponse("metrics: wrong token\n", status=403)
    return None


def metrics(request: HttpRequest) -> HttpResponse:
    refused = metrics_refusal(request)
    if refused is not None:
        return refused
    return HttpResponse(scrape.exposition(), content_type=scrape.CONTENT_TYPE)
