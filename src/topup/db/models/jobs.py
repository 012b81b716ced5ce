"""The outbox of jobs, the inbox of webhook events and stored idempotent responses."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _

from topup import logcontext, tracing
from topup.db import wakeup
from topup.db.fields import EncryptedJSONField, EncryptedTextField


class Job(models.Model):
    """A unit of background work written in the same transaction as the state change that needs it.

    On PostgreSQL the table is partitioned by month of `created_at` (primary key (id, created_at)); its
    once-per-(kind, subject) key lives in `JobKey`, written with it (services/jobs.add)."""

    id = models.CharField(primary_key=True, max_length=40, verbose_name=_("ID"))
    kind = models.CharField(max_length=40, verbose_name=_("kind"))  # deliver | refund | apply_webhook
    subject_id = models.CharField(max_length=60, verbose_name=_("subject"))  # the order (or event) it acts on
    # Queued | done | dead
    status = models.CharField(max_length=10, default="queued", verbose_name=_("status"))
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    run_after = models.DateTimeField(verbose_name=_("run after"))
    locked_until = models.DateTimeField(null=True, blank=True, verbose_name=_("locked until"))
    # Fences completion to the claim
    lease_token = models.CharField(max_length=40, blank=True, default="", verbose_name=_("lease token"))
    last_error = EncryptedTextField(blank=True, default="", verbose_name=_("last error"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    # The request (or job) that queued it, and its span when tracing: read from the context at construction,
    # so `Job(...)`, `create` and `bulk_create` all keep them (topup.logcontext, topup.tracing).
    request_id = models.CharField(
        max_length=64, blank=True, default=logcontext.job_request_id, verbose_name=_("request ID")
    )
    traceparent = models.CharField(
        max_length=55, blank=True, default=tracing.current_traceparent, verbose_name=_("trace parent")
    )

    class Meta:
        db_table = "job"
        indexes = [models.Index(fields=["status", "run_after"], name="job_due")]
        verbose_name = _("job")
        verbose_name_plural = _("jobs")

    def __str__(self) -> str:
        return f"{self.kind}({self.subject_id})"


@receiver(post_save, sender=Job)
def _wake_workers(sender: type[Job], instance: Job, created: bool, **_kwargs: Any) -> None:
    """A job saved by the ORM (tests' fixtures) wakes the workers at its commit; the code writes jobs with
    their keys through services/jobs.add, which calls `wakeup.notify` itself."""
    if created:
        wakeup.notify(wakeup.JOBS, instance.kind)


class JobKey(models.Model):
    """The once-per-(kind, subject) key of a job, in a narrow table that is not partitioned: a partitioned
    table's unique keys must hold its partition key, and no time can be told from a subject. Written in the
    job's own transaction (services/jobs.add); deleted with its job once that is past retention."""

    pk = models.CompositePrimaryKey("kind", "subject_id")
    kind = models.CharField(max_length=40)
    subject_id = models.CharField(max_length=60)
    job_id = models.CharField(max_length=40)

    class Meta:
        db_table = "job_key"

    def __str__(self) -> str:
        return f"{self.kind}({self.subject_id}) -> {self.job_id}"


class SweepLease(models.Model):
    """Who runs a periodic sweep now: one row per sweep group, held until `leased_until` and renewed."""

    name = models.CharField(primary_key=True, max_length=40)
    holder = models.CharField(max_length=120, blank=True, default="")
    leased_until = models.DateTimeField()

    class Meta:
        db_table = "sweep_lease"

    def __str__(self) -> str:
        return f"{self.name}: {self.holder}"


class InboxEvent(models.Model):
    """A verified webhook event; the unique key makes every event apply once, whatever the retries."""

    provider = models.CharField(max_length=40, verbose_name=_("provider"))
    event_id = models.CharField(max_length=120, verbose_name=_("event ID"))
    type = models.CharField(max_length=80, verbose_name=_("type"))
    # Dropped (None) after TOPUP_RETENTION_INBOX_PAYLOADS_DAYS
    payload = EncryptedJSONField(null=True, verbose_name=_("payload"))
    received_at = models.DateTimeField(verbose_name=_("received at"))
    processed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("processed at"))
    outcome = models.CharField(max_length=60, blank=True, default="", verbose_name=_("outcome"))

    class Meta:
        db_table = "inbox_event"
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="inbox_event_once")]
        verbose_name = _("inbox event")
        verbose_name_plural = _("inbox events")

    def __str__(self) -> str:
        return f"{self.provider}:{self.event_id}"


class IdempotencyRecord(models.Model):
    """A claimed Idempotency-Key: `in_progress` with the ids chosen before any outside call, then `done`
    with the first answer, replayed for the same key and refused for another body."""

    scope = models.CharField(max_length=120)  # endpoint and caller (API key, client address hash, session)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=12, default="done")  # in_progress | done
    order_id = models.CharField(max_length=40, blank=True, default="")  # chosen when the key is claimed
    payment_id = models.CharField(max_length=40, blank=True, default="")
    response_status = models.PositiveSmallIntegerField(default=0)
    response_body = EncryptedJSONField(default=dict)  # order documents carry the number
    created_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)  # when the current attempt took the claim
    # What the first attempt decided besides the ids (a payment attempt's yuan quote), so that a resumed
    # attempt asks the provider the same under the same payment id.
    frozen = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "idempotency_record"
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_key_once")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"
