"""Orders with their history, payments, and API keys."""

from __future__ import annotations

from django.db import models

from topup.db.fields import BlindIndexField, EncryptedJSONField, EncryptedTextField, PersonalManager


class Order(models.Model):
    id = models.CharField(primary_key=True, max_length=40)
    plan = models.ForeignKey("topup.PlanRecord", on_delete=models.PROTECT, related_name="+")
    network = models.ForeignKey("topup.NetworkRecord", on_delete=models.PROTECT, related_name="+")
    msisdn = EncryptedTextField(blank=True, default="")
    msisdn_index = BlindIndexField(source="msisdn", blank=True, default="", db_index=True)
    objects = PersonalManager()
    line = models.ForeignKey(
        "topup.Line", on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    eid = EncryptedTextField(blank=True, default="")  # binds a new eSIM profile to one device (a device id)
    iccid = models.CharField(max_length=22, blank=True, default="")  # the profile reserved for a new eSIM
    channel = models.CharField(max_length=10, default="api")
    language = models.CharField(max_length=10, default="en")
    status = models.CharField(max_length=20)
    total_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    quote = EncryptedJSONField()  # the frozen quote: price, VAT, commission, promotions (and the number)
    failure_code = models.CharField(max_length=60, blank=True, default="")
    carrier_ref = models.CharField(max_length=80, blank=True, default="")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    delivery_deadline = models.DateTimeField(null=True, blank=True)
    # Who may read, cancel and fetch the QR of this order (services/order_access): the SHA-256 of the
    # order's own token, and the API key that created it ("" when an anonymous caller or a channel did).
    token_hash = models.CharField(max_length=64, blank=True, default="")
    api_key_id = models.CharField(max_length=40, blank=True, default="")
    # The payment attempt the buyer is on now; once the order is paid, the attempt that paid it. Any other
    # attempt that succeeds is refunded (services/payments).
    current_payment_id = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        db_table = "order"
        indexes = [models.Index(fields=["status", "updated_at"], name="order_status")]

    def __str__(self) -> str:
        return self.id


class OrderEvent(models.Model):
    """One status change of an order, with the reason (a stable code) when there is one."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=20, blank=True, default="")
    to_status = models.CharField(max_length=20)
    code = models.CharField(max_length=60, blank=True, default="")
    detail = EncryptedTextField(blank=True, default="")
    at = models.DateTimeField()

    class Meta:
        db_table = "order_event"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status}->{self.to_status}"


class Payment(models.Model):
    id = models.CharField(primary_key=True, max_length=40)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=40)
    method = models.CharField(max_length=20)
    # requires_action | processing | succeeded | failed | refunded | needs_review
    status = models.CharField(max_length=20)
    attempt = models.PositiveSmallIntegerField(default=1)  # 1 for the order's first payment, then 2, 3, ...
    provider_ref = models.CharField(max_length=80, null=True, blank=True)
    checkout_url = models.CharField(max_length=300, blank=True, default="")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    refunded_minor = models.BigIntegerField(default=0)
    failure_code = models.CharField(max_length=60, blank=True, default="")
    # What a webhook said arrived when it did not match what we asked for (status needs_review).
    review_code = models.CharField(max_length=40, blank=True, default="")
    received_minor = models.BigIntegerField(null=True, blank=True)
    received_currency = models.CharField(max_length=3, blank=True, default="")
    # What the order page shows while the payment waits for the buyer (ports.NextAction).
    next_action_kind = models.CharField(max_length=20, blank=True, default="")  # redirect | display_qr
    next_action_url = models.CharField(max_length=2000, blank=True, default="")
    qr_data = models.TextField(blank=True, default="")
    instructions_url = models.CharField(max_length=2000, blank=True, default="")
    # The refund of this payment: "" | requested | pending | succeeded | payout_needed | paid_out.
    refund_status = models.CharField(max_length=20, blank=True, default="")
    refund_ref = models.CharField(max_length=80, blank=True, default="")
    payout_reference = models.CharField(max_length=200, blank=True, default="")
    payout_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "payment"
        constraints = [
            models.UniqueConstraint(fields=["provider", "provider_ref"], name="payment_provider_ref_once"),
            models.UniqueConstraint(fields=["order", "attempt"], name="payment_attempt_once"),
        ]
        indexes = [models.Index(fields=["refund_status"], name="payment_refund_status")]

    def __str__(self) -> str:
        return self.id


class ApiKey(models.Model):
    """An API key stored as a SHA-256 of its secret part (high-entropy keys need no slow hash)."""

    id = models.CharField(primary_key=True, max_length=40)
    name = models.CharField(max_length=80, blank=True, default="")
    secret_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "api_key"

    def __str__(self) -> str:
        return self.id
