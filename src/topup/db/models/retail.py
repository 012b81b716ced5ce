"""Shops: retailers with their float, commissions, terminals and their nonces, float top-ups, sales, shifts.

A retailer's `float_minor` is changed only by one conditional UPDATE per sale, void, refund or top-up
(services/retail*), in the same transaction as the ledger's postings, which mirror it.
"""

from __future__ import annotations

from django.db import models

from topup.db.fields import EncryptedJSONField, EncryptedTextField


class Retailer(models.Model):
    id = models.CharField(primary_key=True, max_length=40)  # rtl_…
    name = models.CharField(max_length=120)
    address_lines = models.JSONField(default=list)  # printed on receipts, one string a line
    vat_number = models.CharField(max_length=20, blank=True, default="")
    language = models.CharField(max_length=10, default="nl")
    currency = models.CharField(max_length=3, default="EUR")
    float_minor = models.BigIntegerField(default=0)  # may go below zero down to -credit_limit_minor
    credit_limit_minor = models.BigIntegerField(default=0)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        db_table = "retailer"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(float_minor__gte=models.F("credit_limit_minor") * -1),
                name="retailer_float_floor",
            ),
            models.CheckConstraint(
                condition=models.Q(credit_limit_minor__gte=0), name="retailer_credit_limit"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Commission(models.Model):
    """A retailer's commission for a plan, a network, or (both blank) by default; the most specific wins."""

    retailer = models.ForeignKey(Retailer, on_delete=models.CASCADE, related_name="commissions")
    network_id = models.CharField(max_length=40, blank=True, default="")
    plan_id = models.CharField(max_length=60, blank=True, default="")
    rate_bp = models.PositiveIntegerField()

    class Meta:
        db_table = "retailer_commission"
        constraints = [
            models.UniqueConstraint(fields=["retailer", "network_id", "plan_id"], name="commission_once")
        ]

    def __str__(self) -> str:
        return f"{self.retailer_id} {self.network_id or '*'}/{self.plan_id or '*'} {self.rate_bp} bp"


class Terminal(models.Model):
    id = models.CharField(primary_key=True, max_length=40)  # trm_…: the X-Terminal-Id header
    retailer = models.ForeignKey(Retailer, on_delete=models.PROTECT, related_name="terminals")
    label = models.CharField(max_length=80)
    kind = models.CharField(max_length=10, default="pos")  # pos | kiosk
    key_id = models.CharField(max_length=20, default="k1")  # which secret; a new one on rotation
    # The HMAC secret, AES-GCM sealed under TOPUP_DATA_KEYS (kept apart from the database): the server
    # must compute the HMAC, so a one-way hash cannot do; a database dump alone cannot sign.
    secret = EncryptedTextField()
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "retail_terminal"

    def __str__(self) -> str:
        return f"{self.label} ({self.id})"


class TerminalNonce(models.Model):
    terminal = models.ForeignKey(Terminal, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=64)
    seen_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "retail_terminal_nonce"
        constraints = [models.UniqueConstraint(fields=["terminal", "nonce"], name="terminal_nonce_once")]


class FloatTopUp(models.Model):
    id = models.CharField(primary_key=True, max_length=40)  # flt_…
    retailer = models.ForeignKey(Retailer, on_delete=models.PROTECT, related_name="float_topups")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3, default="EUR")
    bank_reference = models.CharField(max_length=80, unique=True)  # the idempotency key
    recorded_by = models.CharField(max_length=150)  # the staff user
    at = models.DateTimeField()

    class Meta:
        db_table = "retailer_float_topup"

    def __str__(self) -> str:
        return self.bank_reference


class Shift(models.Model):
    id = models.CharField(primary_key=True, max_length=40)  # shf_…
    terminal = models.ForeignKey(Terminal, on_delete=models.PROTECT, related_name="shifts")
    opened_at = models.DateTimeField()
    opened_by = models.CharField(max_length=80)
    opening_float_minor = models.BigIntegerField()
    carried_minor = models.BigIntegerField(null=True, blank=True)  # the previous Z's counted cash
    closed_at = models.DateTimeField(null=True, blank=True)
    counted_cash_minor = models.BigIntegerField(null=True, blank=True)
    variance_minor = models.BigIntegerField(null=True, blank=True)
    variance_reason = models.CharField(max_length=200, blank=True, default="")
    z_report = models.JSONField(null=True, blank=True)  # frozen at close, never changed
    movements_count = models.PositiveIntegerField(default=0)  # bumped with each movement: its row lock

    class Meta:
        db_table = "retail_shift"
        constraints = [
            models.UniqueConstraint(
                fields=["terminal"], condition=models.Q(closed_at__isnull=True), name="one_open_shift"
            )
        ]

    def __str__(self) -> str:
        return self.id


class Sale(models.Model):
    id = models.CharField(primary_key=True, max_length=40)  # sale_…
    terminal = models.ForeignKey(Terminal, on_delete=models.PROTECT, related_name="sales")
    retailer = models.ForeignKey(Retailer, on_delete=models.PROTECT, related_name="sales")
    terminal_ref = models.CharField(max_length=64)  # the terminal's idempotency key
    request_hash = models.CharField(max_length=64)
    kind = models.CharField(max_length=10)  # direct | pin
    plan = models.ForeignKey("topup.PlanRecord", on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey(
        "topup.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    voucher = models.ForeignKey(
        "topup.Voucher", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    pin = EncryptedTextField(blank=True, default="")  # for reprints within the void window, then erased
    price_minor = models.BigIntegerField()
    commission_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3, default="EUR")
    tender = models.CharField(max_length=10)  # cash | card
    cash_given_minor = models.BigIntegerField(null=True, blank=True)
    change_minor = models.BigIntegerField(null=True, blank=True)
    language = models.CharField(max_length=10, default="en")
    shift = models.ForeignKey(Shift, on_delete=models.PROTECT, related_name="sales")
    status = models.CharField(max_length=10)  # sold | voided | refunded
    sold_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)  # voided or refunded
    response = EncryptedJSONField(null=True, blank=True)  # the first answer, replayed for the same request

    class Meta:
        db_table = "retail_sale"
        constraints = [
            models.UniqueConstraint(fields=["terminal", "terminal_ref"], name="sale_terminal_ref_once")
        ]

    def __str__(self) -> str:
        return self.id


class ShiftMovement(models.Model):
    """Money moved at a terminal: a sale, a void, a refund handed back, paid in/out. A refund that comes
    when no shift is open waits (shift empty) and is taken by the terminal's next shift."""

    terminal = models.ForeignKey(Terminal, on_delete=models.PROTECT, related_name="+")
    shift = models.ForeignKey(
        Shift, on_delete=models.PROTECT, null=True, blank=True, related_name="movements"
    )
    sale = models.ForeignKey(Sale, on_delete=models.PROTECT, null=True, blank=True, related_name="movements")
    kind = models.CharField(max_length=10)
    tender = models.CharField(max_length=10)
    amount_minor = models.BigIntegerField()
    cash_given_minor = models.BigIntegerField(default=0)
    change_minor = models.BigIntegerField(default=0)
    at = models.DateTimeField()

    class Meta:
        db_table = "retail_shift_movement"
        constraints = [models.UniqueConstraint(fields=["sale", "kind"], name="movement_once_per_sale")]
