"""/metrics keeps the payments that need a person (webhook amount under review, refund to pay out by hand) as
two counters in `rate_counter`, moved where a payment is flagged or cleared: this counts the ones flagged
before, once, so that the gauges start right."""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.utils import timezone

OPEN_NEEDS_REVIEW = "total:open:payments_needs_review"  # as topup.metrics.record
OPEN_PAYOUTS = "total:open:payouts_needed"


def count_open_items(apps: Any, schema_editor: Any) -> None:
    payment, counter = apps.get_model("topup", "Payment"), apps.get_model("topup", "RateCounter")
    found = {
        OPEN_NEEDS_REVIEW: payment.objects.filter(status="needs_review").count(),
        OPEN_PAYOUTS: payment.objects.filter(refund_status="payout_needed").count(),
    }
    at = timezone.now()
    for key, count in found.items():
        counter.objects.update_or_create(key=key, defaults={"count": count, "window_start": at})


class Migration(migrations.Migration):
    dependencies = [("topup", "0032_job_request_context")]

    operations = [migrations.RunPython(count_open_items, migrations.RunPython.noop)]
