"""The agent console's rows: agents' profiles (role, limit, sealed TOTP secret, lock-out), notes, identity
checks, assisted sales, refund/goodwill requests, and the append-only audit log."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from topup.db.fields import EncryptedTextField, PersonalManager


class AgentProfile(models.Model):
    """What the console knows of a Django user beyond the password: role, limit, second factor, lock-out."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="agent")
    role = models.CharField(max_length=12)  # agent | supervisor | admin (topup.domain.agents.Role)
    refund_limit_minor = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, default="EUR")
    counter = models.CharField(max_length=40, default="main")  # the cash drawer this agent sells from
    totp_secret = EncryptedTextField()  # sealed at rest (topup.crypto)
    totp_last_step = models.BigIntegerField(default=0)  # the last accepted RFC 6238 step: a code works once
    failed_attempts = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        db_table = "agent_profile"

    def __str__(self) -> str:
        return f"{self.user_id}:{self.role}"


class AgentNote(models.Model):
    """A note an agent wrote on a customer (keyed by the customer's blind index), sealed at rest."""

    id = models.CharField(primary_key=True, max_length=40)
    customer_index = models.CharField(max_length=64, db_index=True)
    text = EncryptedTextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        db_table = "agent_note"

    def __str__(self) -> str:
        return self.id


class AgentSale(models.Model):
    """An order an agent made for a customer: how it is paid (cash at a counter, or a link sent by SMS)."""

    order = models.OneToOneField("topup.Order", on_delete=models.PROTECT, related_name="agent_sale")
    customer_index = models.CharField(max_length=64, db_index=True)
    msisdn = EncryptedTextField(blank=True, default="")  # where the payment link or receipt goes
    objects = PersonalManager()
    method = models.CharField(max_length=10)  # cash | link
    counter = models.CharField(max_length=40, blank=True, default="")
    pay_link = EncryptedTextField(blank=True, default="")  # carries the order's token: sealed
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    attempt = models.CharField(max_length=60, blank=True, default="")  # the sale form's idempotency key
    created_at = models.DateTimeField()

    class Meta:
        db_table = "agent_sale"
        constraints = [
            # A form sent twice (a double click, a retry) makes one sale.
            models.UniqueConstraint(
                fields=["agent", "attempt"], condition=~models.Q(attempt=""), name="agent_sale_attempt_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.order_id}:{self.method}"


class IdentityCheck(models.Model):
    """The identity check for a new prepaid line: document type and its last 4 characters, no more."""

    order = models.OneToOneField("topup.Order", on_delete=models.PROTECT, related_name="identity_check")
    document_type = models.CharField(max_length=20)
    document_last4 = EncryptedTextField()
    nationality = models.CharField(max_length=2, blank=True, default="")
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    checked_at = models.DateTimeField()

    class Meta:
        db_table = "identity_check"

    def __str__(self) -> str:
        return f"{self.order_id}:{self.document_type}"


class AgentRequest(models.Model):
    """A refund or goodwill credit: executed at once within the agent's limit, else after approval."""

    id = models.CharField(primary_key=True, max_length=40)
    kind = models.CharField(max_length=10)  # refund | goodwill
    status = models.CharField(max_length=10)  # topup.domain.agents.RequestStatus
    order = models.ForeignKey(
        "topup.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    line = models.ForeignKey("topup.Line", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    plan_id = models.CharField(max_length=40, blank=True, default="")  # goodwill on an external number
    msisdn = EncryptedTextField(blank=True, default="")  # that number, sealed
    customer_index = models.CharField(max_length=64, db_index=True)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3, default="EUR")
    reason = EncryptedTextField(blank=True, default="")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    outcome = models.CharField(max_length=60, blank=True, default="")
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    executed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "agent_request"
        constraints = [
            # One live refund per order: two agents cannot both refund it.
            models.UniqueConstraint(
                fields=["order"],
                condition=models.Q(kind="refund") & ~models.Q(status__in=["rejected", "failed"]),
                name="agent_refund_once",
            )
        ]

    def __str__(self) -> str:
        return self.id


class AuditEntry(models.Model):
    """One agent action. Append-only: database triggers refuse UPDATE and DELETE (migration 0016), and
    each row hashes the previous one (`topup agents audit-verify`)."""

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField()
    actor = models.CharField(max_length=150)  # the username (kept even if the user is removed)
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    action = models.CharField(max_length=30)
    subject = models.CharField(max_length=80, blank=True, default="")  # an order id, a masked number
    detail = models.CharField(max_length=300, blank=True, default="")  # never a full number or document
    prev_hash = models.CharField(max_length=64, unique=True)  # two writers cannot follow the same row
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        db_table = "agent_audit"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.id}:{self.action}"


__all__ = ["AgentNote", "AgentProfile", "AgentRequest", "AgentSale", "AuditEntry", "IdentityCheck"]
