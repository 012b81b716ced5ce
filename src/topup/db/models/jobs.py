"""The outbox of jobs, the inbox of webhook events and stored idempotent responses."""

from __future__ import annotations

from django.db import models

from topup.db.fields import EncryptedJSONField, EncryptedTextField


class Job(models.Model):
    """A unit of background work written in the same transaction as the state change that needs it."""

    id = models.CharField(primary_key=True, max_length=40)
    kind = models.CharField(max_length=40)  # deliver | refund | apply_webhook
    subject_id = models.CharField(max_length=60)  # the order (or event) it acts on
    status = models.CharField(max_length=10, default="queued")  # queued | done | dead
    attempts = models.PositiveIntegerField(default=0)
    run_after = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)
    last_error = EncryptedTextField(blank=True, default="")
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "job"
        indexes = [models.Index(fields=["status", "run_after"], name="job_due")]
        constraints = [
            models.UniqueConstraint(fields=["kind", "subject_id"], name="job_once_per_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}({self.subject_id})"


class InboxEvent(models.Model):
    """A verified webhook event; the unique key makes every event apply once, whatever the retries."""

    provider = models.CharField(max_length=40)
    event_id = models.CharField(max_length=120)
    type = models.CharField(max_length=80)
    payload = EncryptedJSONField(null=True)  # dropped (None) after TOPUP_RETENTION_INBOX_PAYLOADS_DAYS
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=60, blank=True, default="")

    class Meta:
        db_table = "inbox_event"
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="inbox_event_once")]

    def __str__(self) -> str:
        return f"{self.provider}:{self.event_id}"


class IdempotencyRecord(models.Model):
    """The first answer to a write request, replayed for the same key and refused for another body."""

    scope = models.CharField(max_length=60)  # endpoint and caller
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = EncryptedJSONField()  # order documents carry the number
    created_at = models.DateTimeField()

    class Meta:
        db_table = "idempotency_record"
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_key_once")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"
