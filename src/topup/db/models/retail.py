"""Shops: retailers with their float, commissions, terminals and their nonces, float top-ups, sales, shifts.

A retailer's `float_minor` is changed only by one conditional UPDATE per sale, void, refund or top-up
(services/retail*), in the same transaction as the ledger's postings, which mirror it.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from topup.db.fields import EncryptedJSONField, EncryptedTextField
from topup.domain.shifts import closed


class Retailer(models.Model):
    id = models.CharField(primary_key=True, max_length=40, verbose_name=_("ID"))  # rtl_…
    name = models.CharField(max_length=120, verbose_name=_("name"))
    # Printed on receipts, one string a line
    address_lines = models.JSONField(default=list, verbose_name=_("address"))
    vat_number = models.CharField(max_length=20, blank=True, default="", verbose_name=_("VAT number"))
    language = models.CharField(max_length=10, default="nl", verbose_name=_("language"))
    currency = models.CharField(max_length=3, default="EUR", verbose_name=_("currency"))
    # May go below zero down to -credit_limit_minor
    float_minor = models.BigIntegerField(default=0, verbose_name=_("float"))
    credit_limit_minor = models.BigIntegerField(default=0, verbose_name=_("credit limit"))
    active = models.BooleanField(default=True, verbose_name=_("active"))
    created_at = models.DateTimeField(verbose_name=_("created at"))

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
        verbose_name = _("retailer")
        verbose_name_plural = _("retailers")

    def __str__(self) -> str:
        return self.name


class Commission(models.Model):
    """A retailer's commission for a plan, a network, or (both blank) by default; the most specific wins."""

    retailer = models.ForeignKey(
        Retailer, on_delete=models.CASCADE, related_name="commissions", verbose_name=_("retailer")
    )
    network_id = models.CharField(max_length=40, blank=True, default="", verbose_name=_("network"))
    plan_id = models.CharField(max_length=60, blank=True, default="", verbose_name=_("plan"))
    rate_bp = models.PositiveIntegerField(verbose_name=_("rate (basis points)"))

    class Meta:
        db_table = "retailer_commission"
        constraints = [
            models.UniqueConstraint(fields=["retailer", "network_id", "plan_id"], name="commission_once")
        ]
        verbose_name = _("commission")
        verbose_name_plural = _("commissions")

    def __str__(self) -> str:
        return f"{self.retailer_id} {self.network_id or '*'}/{self.plan_id or '*'} {self.rate_bp} bp"


class Terminal(models.Model):
    # Trm_…: the X-Terminal-Id header
    id = models.CharField(primary_key=True, max_length=40, verbose_name=_("ID"))
    retailer = models.ForeignKey(
        Retailer, on_delete=models.PROTECT, related_name="terminals", verbose_name=_("retailer")
    )
    label = models.CharField(max_length=80, verbose_name=_("label"))
    kind = models.CharField(max_length=10, default="pos", verbose_name=_("kind"))  # pos | kiosk
    # A kiosk's own devices; empty: the platform's TOPUP_KIOSK_READER_ID, TOPUP_CASH_URL, TOPUP_KIOSK_PRINTER.
    reader_id = models.CharField(max_length=64, blank=True, default="", verbose_name=_("card reader"))
    cash_url = models.CharField(
        max_length=200, blank=True, default="", verbose_name=_("cash acceptor address")
    )
    printer = models.CharField(max_length=200, blank=True, default="", verbose_name=_("receipt printer"))
    # Which secret; a new one on rotation
    key_id = models.CharField(max_length=20, default="k1", verbose_name=_("key"))
    # The HMAC secret, AES-GCM sealed under TOPUP_DATA_KEYS (kept apart from the database): the server
    # must compute the HMAC, so a one-way hash cannot do; a database dump alone cannot sign.
    secret = EncryptedTextField(verbose_name=_("secret"))
    active = models.BooleanField(default=True, verbose_name=_("active"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    last_seen_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last seen at"))

    class Meta:
        db_table = "retail_terminal"
        verbose_name = _("terminal")
        verbose_name_plural = _("terminals")

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
    id = models.CharField(primary_key=True, max_length=40, verbose_name=_("ID"))  # flt_…
    retailer = models.ForeignKey(
        Retailer, on_delete=models.PROTECT, related_name="float_topups", verbose_name=_("retailer")
    )
    amount_minor = models.BigIntegerField(verbose_name=_("amount"))
    currency = models.CharField(max_length=3, default="EUR", verbose_name=_("currency"))
    # The idempotency key
    bank_reference = models.CharField(max_length=80, unique=True, verbose_name=_("bank reference"))
    recorded_by = models.CharField(max_length=150, verbose_name=_("recorded by"))  # the staff user
    at = models.DateTimeField(verbose_name=_("at"))

    class Meta:
        db_table = "retailer_float_topup"
        verbose_name = _("float top-up")
        verbose_name_plural = _("float top-ups")

    def __str__(self) -> str:
        return self.bank_reference


class Shift(models.Model):
    id = models.CharField(primary_key=True, max_length=40, verbose_name=_("ID"))  # shf_…
    terminal = models.ForeignKey(
        Terminal, on_delete=models.PROTECT, related_name="shifts", verbose_name=_("terminal")
    )
    opened_at = models.DateTimeField(verbose_name=_("opened at"))
    opened_by = models.CharField(max_length=80, verbose_name=_("opened by"))
    opening_float_minor = models.BigIntegerField(verbose_name=_("opening float"))
    # The previous Z's counted cash
    carried_minor = models.BigIntegerField(null=True, blank=True, verbose_name=_("carried over"))
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed at"))
    counted_cash_minor = models.BigIntegerField(null=True, blank=True, verbose_name=_("counted cash"))
    variance_minor = models.BigIntegerField(null=True, blank=True, verbose_name=_("variance"))
    variance_reason = models.CharField(
        max_length=200, blank=True, default="", verbose_name=_("reason for the variance")
    )
    # Frozen at close, never changed
    z_report = models.JSONField(null=True, blank=True, verbose_name=_("Z report"))
    # Bumped with each movement: its row lock
    movements_count = models.PositiveIntegerField(default=0, verbose_name=_("movements"))

    class Meta:
        db_table = "retail_shift"
        constraints = [
            models.UniqueConstraint(
                fields=["terminal"], condition=models.Q(closed_at__isnull=True), name="one_open_shift"
            )
        ]
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")

    def __str__(self) -> str:
        return self.id

    def save(self, *args: Any, **kwargs: Any) -> None:
        """A closed shift (its Z frozen) is never saved again, from any code path that loads it."""
        if not self._state.adding and Shift.objects.filter(pk=self.pk, closed_at__isnull=False).exists():
            raise closed()
        super().save(*args, **kwargs)


class Sale(models.Model):
    id = models.CharField(primary_key=True, max_length=40, verbose_name=_("ID"))  # sale_…
    terminal = models.ForeignKey(
        Terminal, on_delete=models.PROTECT, related_name="sales", verbose_name=_("terminal")
    )
    retailer = models.ForeignKey(
        Retailer, on_delete=models.PROTECT, related_name="sales", verbose_name=_("retailer")
    )
    # The terminal's idempotency key
    terminal_ref = models.CharField(max_length=64, verbose_name=_("terminal reference"))
    request_hash = models.CharField(max_length=64, verbose_name=_("request hash"))
    kind = models.CharField(max_length=10, verbose_name=_("kind"))  # direct | pin
    plan = models.ForeignKey(
        "topup.PlanRecord", on_delete=models.PROTECT, related_name="+", verbose_name=_("plan")
    )
    order = models.ForeignKey(
        "topup.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("order"),
    )
    voucher = models.ForeignKey(
        "topup.Voucher",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("voucher"),
    )
    # For reprints within the void window, then erased
    pin = EncryptedTextField(blank=True, default="", verbose_name=_("PIN"))
    # When the sweep erases it
    pin_kept_until = models.DateTimeField(
        null=True, blank=True, db_index=True, verbose_name=_("pin kept until")
    )
    price_minor = models.BigIntegerField(verbose_name=_("price"))
    commission_minor = models.BigIntegerField(verbose_name=_("commission"))
    currency = models.CharField(max_length=3, default="EUR", verbose_name=_("currency"))
    tender = models.CharField(max_length=10, verbose_name=_("tender"))  # cash | card
    cash_given_minor = models.BigIntegerField(null=True, blank=True, verbose_name=_("cash given"))
    change_minor = models.BigIntegerField(null=True, blank=True, verbose_name=_("change given"))
    language = models.CharField(max_length=10, default="en", verbose_name=_("language"))
    shift = models.ForeignKey(Shift, on_delete=models.PROTECT, related_name="sales", verbose_name=_("shift"))
    status = models.CharField(max_length=10, verbose_name=_("status"))  # sold | voided | refunded
    sold_at = models.DateTimeField(verbose_name=_("sold at"))
    ended_at = models.DateTimeField(null=True, blank=True, verbose_name=_("ended at"))  # voided or refunded
    # The first answer, replayed for the same request
    response = EncryptedJSONField(null=True, blank=True, verbose_name=_("first answer"))

    class Meta:
        db_table = "retail_sale"
        constraints = [
            models.UniqueConstraint(fields=["terminal", "terminal_ref"], name="sale_terminal_ref_once")
        ]
        verbose_name = _("sale")
        verbose_name_plural = _("sales")

    def __str__(self) -> str:
        return self.id


class ShiftMovement(models.Model):
    """Money moved at a terminal: a sale, a void, a refund handed back, paid in/out. A refund that comes
    when no shift is open waits (shift empty) and is taken by the terminal's next shift."""

    terminal = models.ForeignKey(
        Terminal, on_delete=models.PROTECT, related_name="+", verbose_name=_("terminal")
    )
    shift = models.ForeignKey(
        Shift,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="movements",
        verbose_name=_("shift"),
    )
    sale = models.ForeignKey(
        Sale,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="movements",
        verbose_name=_("sale"),
    )
    kind = models.CharField(max_length=10, verbose_name=_("kind"))
    tender = models.CharField(max_length=10, verbose_name=_("tender"))
    amount_minor = models.BigIntegerField(verbose_name=_("amount"))
    cash_given_minor = models.BigIntegerField(default=0, verbose_name=_("cash given"))
    change_minor = models.BigIntegerField(default=0, verbose_name=_("change given"))
    # Why cash was paid in or out
    note = models.CharField(max_length=200, blank=True, default="", verbose_name=_("note"))
    at = models.DateTimeField(verbose_name=_("at"))

    class Meta:
        db_table = "retail_shift_movement"
        constraints = [models.UniqueConstraint(fields=["sale", "kind"], name="movement_once_per_sale")]
        verbose_name = _("cash movement")
        verbose_name_plural = _("cash movements")
