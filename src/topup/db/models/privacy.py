"""The record of GDPR erasures: whose (a blind index, never the number), when, and what was erased."""

from __future__ import annotations

from django.db import models


class Erasure(models.Model):
    subject_index = models.CharField(max_length=64, db_index=True)  # blind_index of the number or e-mail
    purpose = models.CharField(max_length=10)  # msisdn | email
    at = models.DateTimeField()
    counts = models.JSONField(default=dict)  # table -> rows whose personal fields were erased

    class Meta:
        db_table = "privacy_erasure"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"erasure {self.subject_index[:8]} at {self.at:%Y-%m-%d}"
