"""Partners' status callbacks: where an API client wants its orders' status changes POSTed, and each
event queued for it (the body is frozen at the change, so every retry sends the same bytes and event id)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from topup.db.fields import EncryptedTextField


class PartnerHook(models.Model):
    """One API key's status callback URL and its signing secret (sealed at rest, shown once)."""

    api_key = models.OneToOneField(
        "topup.ApiKey", on_delete=models.CASCADE, primary_key=True, verbose_name=_("API key")
    )
    url = models.URLField(max_length=500, verbose_name=_("callback URL"))
    secret = EncryptedTextField(verbose_name=_("signing secret"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    updated_at = models.DateTimeField(verbose_name=_("updated at"))

    class Meta:
        db_table = "partner_hook"
        verbose_name = _("partner status callback")
        verbose_name_plural = _("partner status callbacks")

    def __str__(self) -> str:
        return f"{self.api_key_id}: {self.url}"


class PartnerEvent(models.Model):
    """One status change of one order, for the partner whose key placed it; sent by a `partner_hook` job."""

    id = models.CharField(primary_key=True, max_length=40, verbose_name=_("event ID"))
    api_key_id = models.CharField(max_length=40, verbose_name=_("API key"))
    order_id = models.CharField(max_length=40, verbose_name=_("order"))
    status = models.CharField(max_length=20, verbose_name=_("status"))
    body = models.JSONField(verbose_name=_("body"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    delivered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("delivered at"))
    last_error = models.CharField(max_length=255, blank=True, default="", verbose_name=_("last error"))

    class Meta:
        db_table = "partner_event"
        indexes = [models.Index(fields=["order_id"], name="partner_event_order")]
        verbose_name = _("partner event")
        verbose_name_plural = _("partner events")

    def __str__(self) -> str:
        return self.id
