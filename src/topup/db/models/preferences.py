"""What we remember of a customer's line outside any order: the language to answer in, reminders on/off."""

from __future__ import annotations

from django.db import models

from topup.db.fields import BlindIndexField, EncryptedTextField, PersonalManager


class LinePreference(models.Model):
    """Keyed by the line as the customer reaches us: an E.164 number (SMS, USSD, IVR) or an ICCID, kept
    encrypted and found through its blind index (`filter(line_ref=x)` looks the index up)."""

    line_ref = EncryptedTextField()
    ref_index = BlindIndexField(source="line_ref", primary_key=True)
    objects = PersonalManager()
    language = models.CharField(max_length=10, default="en")
    email = EncryptedTextField(blank=True, default="")
    email_index = BlindIndexField(source="email", purpose="email", blank=True, default="", db_index=True)
    chosen = models.BooleanField(
        default=False
    )  # set explicitly (LANG, a menu, the website): never guessed over
    reminders = models.BooleanField(default=True)  # bundle reminders (75 %/90 % used, end in 7/3 days)
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "line_preference"

    def __str__(self) -> str:
        return f"{self.ref_index[:8]}: {self.language}"
