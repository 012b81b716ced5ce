"""`/healthz` (alive and the database answers) and `/metrics` (Prometheus text format)."""

from __future__ import annotations

from django.db import connection
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse

from topup.clock import now
from topup.db.models import InboxEvent, Job, Order
from topup.services import breaker


def healthz(request: HttpRequest) -> HttpResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok"})


def metrics(request: HttpRequest) -> HttpResponse:
    lines = ["# HELP topup_orders Orders by status.", "# TYPE topup_orders gauge"]
    for row in Order.objects.values("status").annotate(n=Count("id")).order_by("status"):
        lines.append(f'topup_orders{{status="{row["status"]}"}} {row["n"]}')
    due = Job.objects.filter(status="queued", run_after__lte=now())
    lines += ["# HELP topup_jobs_due Jobs waiting to run, by kind.", "# TYPE topup_jobs_due gauge"]
    for kind, count in due.values_list("kind").annotate(n=Count("id")).order_by("kind"):
        lines.append(f'topup_jobs_due{{kind="{kind}"}} {count}')
    pending = InboxEvent.objects.filter(processed_at__isnull=True).count()
    lines += [
        "# HELP topup_webhooks_unprocessed Stored webhook events not applied yet.",
        "# TYPE topup_webhooks_unprocessed gauge",
        f"topup_webhooks_unprocessed {pending}",
    ]
    lines += _voucher_guessing()
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; version=0.0.4")


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
