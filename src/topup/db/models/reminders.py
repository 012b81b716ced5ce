"""Reminders a line's bundles earned (75 %/90 % used, end in 7/3 days): one row per (bundle, kind), so each
goes at most once, and the day's reminder of a line is found by its `sent_at`."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class BundleReminder(models.Model):
    """status: due (earned, waiting for its moment) → sent (the line's reminder of that day; its SMS and
    e-mail go through `Notification`) | dropped (a more urgent one went instead, or it no longer holds) |
    off (the line had opted out of reminders when it was due)."""

    id = models.CharField(primary_key=True, max_length=40, verbose_name=_("ID"))
    line = models.ForeignKey("topup.Line", on_delete=models.CASCADE, related_name="+", verbose_name=_("line"))
    bundle = models.ForeignKey(
        "topup.BundleRecord", on_delete=models.CASCADE, related_name="+", verbose_name=_("bundle")
    )
    kind = models.CharField(max_length=12, verbose_name=_("kind"))  # domain.reminders.ReminderKind
    status = models.CharField(max_length=8, default="due", verbose_name=_("status"))
    due_at = models.DateTimeField(verbose_name=_("due at"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))
    note = models.CharField(max_length=60, blank=True, default="", verbose_name=_("note"))

    class Meta:
        db_table = "bundle_reminder"
        constraints = [models.UniqueConstraint(fields=["bundle", "kind"], name="bundle_reminder_once")]
        indexes = [
            models.Index(fields=["status", "line"], name="bundle_reminder_due"),
            models.Index(fields=["line", "sent_at"], name="bundle_reminder_sent"),
        ]
        verbose_name = _("bundle reminder")
        verbose_name_plural = _("bundle reminders")

    def __str__(self) -> str:
        return f"{self.kind}({self.bundle_id}) {self.status}"
