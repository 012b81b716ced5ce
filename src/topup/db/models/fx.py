"""Exchange rates as published: one row per (currency, day, source), the rate as its exact decimal text."""

from __future__ import annotations

from django.db import models


class FxRateRecord(models.Model):
    currency = models.CharField(max_length=3)
    rate_date = models.DateField()
    source = models.CharField(max_length=10)  # ECB
    rate = models.CharField(max_length=24)  # units of `currency` per EUR, e.g. "7.6880"; never a float
    imported_at = models.DateTimeField()

    class Meta:
        db_table = "fx_rate"
        constraints = [
            models.UniqueConstraint(fields=["currency", "rate_date", "source"], name="fx_rate_once"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.currency} {self.rate_date}: {self.rate}"
