"""What we remember of a customer's line outside any order: the language to answer in."""

from __future__ import annotations

from django.db import models


class LinePreference(models.Model):
    """Keyed by the line as the customer reaches us: an E.164 number (SMS, USSD, IVR) or an ICCID."""

    line_ref = models.CharField(primary_key=True, max_length=22)
    language = models.CharField(max_length=10, default="en")
    email = models.EmailField(blank=True, default="")
    chosen = models.BooleanField(
        default=False
    )  # set explicitly (LANG, a menu, the website): never guessed over
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "line_preference"

    def __str__(self) -> str:
        return f"{self.line_ref}: {self.language}"
