"""Rate-limit counters: one row per limited subject, keyed by a blind index (never a number or an address)."""

from __future__ import annotations

from django.db import models


class RateCounter(models.Model):
    """Hits of one key in its current window (`otp_send:line:<index>`, `voucher_breaker:fail:3`, ...)."""

    key = models.CharField(max_length=120, unique=True)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "rate_counter"
        indexes = [models.Index(fields=["window_start"], name="rate_counter_by_window")]

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
