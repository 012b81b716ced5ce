"""Orders with their history, payments, and API keys."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from topup import logcontext, tracing
from topup.db.fields import BlindIndexField, EncryptedJSONField, EncryptedTextField, PersonalManager


class Order(models.Model):
    id = models.CharField(primary_key=True, max_length=40, verbose_name=_("ID"))
    plan = models.ForeignKey(
        "topup.PlanRecord", on_delete=models.PROTECT, related_name="+", verbose_name=_("plan")
    )
    network = models.ForeignKey(
        "topup.NetworkRecord", on_delete=models.PROTECT, related_name="+", verbose_name=_("network")
    )
    msisdn = EncryptedTextField(blank=True, default="", verbose_name=_("number"))
    msisdn_index = BlindIndexField(
        source="msisdn", blank=True, default="", db_index=True, verbose_name=_("msisdn index")
    )
    objects = PersonalManager()
    line = models.ForeignKey(
        "topup.Line",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("line"),
    )
    # Where the receipt (and a new eSIM's QR code) is e-mailed; found again by "My eSIMs" through its index
    email = EncryptedTextField(blank=True, default="", verbose_name=_("e-mail address"))
    email_index = BlindIndexField(
        source="email", purpose="email", blank=True, default="", db_index=True, verbose_name=_("e-mail index")
    )
    # Binds a new eSIM profile to one device (a device id)
    eid = EncryptedTextField(blank=True, default="", verbose_name=_("EID"))
    # The profile reserved for a new eSIM
    iccid = models.CharField(max_length=22, blank=True, default="", verbose_name=_("ICCID"))
    channel = models.CharField(max_length=10, default="api", verbose_name=_("channel"))
    language = models.CharField(max_length=10, default="en", verbose_name=_("language"))
    status = models.CharField(max_length=20, verbose_name=_("status"))
    total_minor = models.BigIntegerField(verbose_name=_("total"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    # The frozen quote: price, VAT, commission, promotions (and the number)
    quote = EncryptedJSONField(verbose_name=_("frozen quote"))
    failure_code = models.CharField(max_length=60, blank=True, default="", verbose_name=_("failure code"))
    carrier_ref = models.CharField(max_length=80, blank=True, default="", verbose_name=_("carrier reference"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    updated_at = models.DateTimeField(verbose_name=_("updated at"))
    delivery_deadline = models.DateTimeField(null=True, blank=True, verbose_name=_("delivery deadline"))
    # Who may read, cancel and fetch the QR of this order (services/order_access): the SHA-256 of the
    # order's own token, and the API key that created it ("" when an anonymous caller or a channel did).
    token_hash = models.CharField(max_length=64, blank=True, default="", verbose_name=_("token hash"))
    api_key_id = models.CharField(max_length=40, blank=True, default="", verbose_name=_("API key"))
    # The payment attempt the buyer is on now; once the order is paid, the attempt that paid it. Any other
    # attempt that succeeds is refunded (services/payments).
    current_payment_id = models.CharField(
        max_length=40, blank=True, default="", verbose_name=_("current payment")
    )
    # The request that placed it (read from the context at construction, as a job's): its jobs' and its
    # carrier calls' log lines carry it as `order_request_id`, so the placing request's id finds them all.
    request_id = models.CharField(
        max_length=64, blank=True, default=logcontext.job_request_id, verbose_name=_("request ID")
    )
    # Its span when tracing: the spans of the webhook and the jobs that load it link to it (`order_trail`).
    traceparent = models.CharField(
        max_length=55, blank=True, default=tracing.current_traceparent, verbose_name=_("trace parent")
    )

    class Meta:
        db_table = "order"
        indexes = [models.Index(fields=["status", "updated_at"], name="order_status")]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        # Staff without it see numbers masked (+32 470 •• •• 56) in the back office and its exports.
        permissions = [("see_numbers", _("Can see phone numbers in full"))]

    def __str__(self) -> str:
        return self.id


class OrderEvent(models.Model):
    """One status change of an order, with the reason (a stable code) when there is one."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events", verbose_name=_("order"))
    from_status = models.CharField(max_length=20, blank=True, default="", verbose_name=_("from"))
    to_status = models.CharField(max_length=20, verbose_name=_("to"))
    code = models.CharField(max_length=60, blank=True, default="", verbose_name=_("code"))
    detail = EncryptedTextField(blank=True, default="", verbose_name=_("detail"))
    at = models.DateTimeField(verbose_name=_("at"))

    class Meta:
        db_table = "order_event"
        ordering = ["at", "id"]
        verbose_name = _("order event")
        verbose_name_plural = _("order events")

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status}->{self.to_status}"


class Payment(models.Model):
    id = models.CharField(primary_key=True, max_length=40, verbose_name=_("ID"))
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="payments", verbose_name=_("order")
    )
    provider = models.CharField(max_length=40, verbose_name=_("provider"))
    method = models.CharField(max_length=20, verbose_name=_("method"))
    # requires_action | processing | succeeded | failed | refunded | needs_review
    status = models.CharField(max_length=20, verbose_name=_("status"))
    # 1 for the order's first payment, then 2, 3, ...
    attempt = models.PositiveSmallIntegerField(default=1, verbose_name=_("attempt"))
    provider_ref = models.CharField(
        max_length=80, null=True, blank=True, verbose_name=_("provider reference")
    )
    checkout_url = models.CharField(
        max_length=300, blank=True, default="", verbose_name=_("checkout address")
    )
    amount_minor = models.BigIntegerField(verbose_name=_("amount"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    refunded_minor = models.BigIntegerField(default=0, verbose_name=_("refunded"))
    failure_code = models.CharField(max_length=60, blank=True, default="", verbose_name=_("failure code"))
    # What a webhook said arrived when it did not match what we asked for (status needs_review).
    review_code = models.CharField(max_length=40, blank=True, default="", verbose_name=_("review code"))
    received_minor = models.BigIntegerField(null=True, blank=True, verbose_name=_("amount received"))
    received_currency = models.CharField(
        max_length=3, blank=True, default="", verbose_name=_("currency received")
    )
    # What the order page shows while the payment waits for the buyer (ports.NextAction).
    # Redirect | display_qr
    next_action_kind = models.CharField(
        max_length=20, blank=True, default="", verbose_name=_("next action kind")
    )
    next_action_url = models.CharField(
        max_length=2000, blank=True, default="", verbose_name=_("next action address")
    )
    qr_data = models.TextField(blank=True, default="", verbose_name=_("QR code data"))
    instructions_url = models.CharField(
        max_length=2000, blank=True, default="", verbose_name=_("instructions address")
    )
    # The refund of this payment: "" | requested | pending | succeeded | payout_needed | paid_out.
    refund_status = models.CharField(max_length=20, blank=True, default="", verbose_name=_("refund status"))
    refund_ref = models.CharField(max_length=80, blank=True, default="", verbose_name=_("refund reference"))
    payout_reference = models.CharField(
        max_length=200, blank=True, default="", verbose_name=_("payout reference")
    )
    payout_at = models.DateTimeField(null=True, blank=True, verbose_name=_("payout at"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    updated_at = models.DateTimeField(verbose_name=_("updated at"))

    class Meta:
        db_table = "payment"
        constraints = [
            models.UniqueConstraint(fields=["provider", "provider_ref"], name="payment_provider_ref_once"),
            models.UniqueConstraint(fields=["order", "attempt"], name="payment_attempt_once"),
        ]
        indexes = [models.Index(fields=["refund_status"], name="payment_refund_status")]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")

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
