"""`/healthz` (alive and the database answers) and `/metrics` (Prometheus text format, behind a token)."""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse

from topup.channels.clients import client_ip
from topup.clock import now
from topup.db.models import InboxEvent, Job, Order, Payment
from topup.services import breaker, carrier_float


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
    lines = ["# HELP topup_orders Orders by status.", "# TYPE topup_orders gauge"]
    for row in Order.objects.values("status").annotate(n=Count("id")).order_by("status"):
        lines.append(f'topup_orders{{status="{row["status"]}"}} {row["n"]}')
    due = Job.objects.filter(status="queued", run_after__lte=now())
    lines += ["# HELP topup_jobs_due Jobs waiting to run, by kind.", "# TYPE topup_jobs_due gauge"]
    for kind, count in due.values_list("kind").annotate(n=Count("id")).order_by("kind"):
        lines.append(f'topup_jobs_due{{kind="{kind}"}} {count}')
    lines += _money_alerts()
    pending = InboxEvent.objects.filter(processed_at__isnull=True).count()
    lines += [
        "# HELP topup_webhooks_unprocessed Stored webhook events not applied yet.",
        "# TYPE topup_webhooks_unprocessed gauge",
        f"topup_webhooks_unprocessed {pending}",
    ]
    lines += _voucher_guessing()
    lines += carrier_float.metrics_lines()
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; version=0.0.4")


def _money_alerts() -> list[str]:
    """Dead jobs (every attempt used) and payments a webhook flagged: each needs a person."""
    dead = dict(
        Job.objects.filter(status="dead").values_list("kind").annotate(n=Count("id")).order_by("kind")
    )
    review = Payment.objects.filter(status="needs_review").count()
    payouts = Payment.objects.filter(refund_status="payout_needed").count()
    lines = [
        "# HELP topup_jobs_dead Jobs that used every attempt (topup jobs requeue).",
        "# TYPE topup_jobs_dead gauge",
        f"topup_jobs_dead {sum(dead.values())}",
        "# HELP topup_jobs_dead_by_kind Dead jobs by kind.",
        "# TYPE topup_jobs_dead_by_kind gauge",
    ]
    lines += [f'topup_jobs_dead_by_kind{{kind="{kind}"}} {count}' for kind, count in dead.items()]
    return [
        *lines,
        "# HELP topup_payments_needs_review Payments whose webhook did not match the amount or currency.",
        "# TYPE topup_payments_needs_review gauge",
        f"topup_payments_needs_review {review}",
        "# HELP topup_payouts_needed Refunds the provider could not make: to pay back by hand.",
        "# TYPE topup_payouts_needed gauge",
        f"topup_payouts_needed {payouts}",
    ]


def _voucher_guessing() -> list[str]:
    found = breaker.metrics(now())
    return [
        "# HELP topup_voucher_guessing_alerts_total Times the voucher guessing breaker opened.",
        "# TYPE topup_voucher_guessing_alerts_total counter",
        f"topup_voucher_guessing_alerts_total {found['alerts_total']}",
        "# HELP topup_voucher_breaker_open 1 while voucher redemptions are slowed for everyone.",
        "# TYPE topup_voucher_breaker_open gauge",
        f"topup_voucher_breaker_open {found['open']}",
        "# HELP topup_voucher_unknown_pins Unknown voucher PINs in the breaker's window.",
        "# TYPE topup_voucher_unknown_pins gauge",
        f"topup_voucher_unknown_pins {found['failures']}",
    ]
