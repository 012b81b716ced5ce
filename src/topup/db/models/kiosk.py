"""The self-service kiosk: how a kiosk browser is enrolled as a retailer's terminal, and its cash sessions
(what the customer is buying, the notes and coins the acceptor reported, each device event once)."""

from __future__ import annotations

from django.db import models

from topup.db.fields import EncryptedTextField, HashedField


class KioskEnrolment(models.Model):
    """A one-time code staff make with `topup kiosk enrol TERMINAL`; opening `/kiosk/enrol?code=` once on the
    kiosk's browser uses it and binds that browser (a signed cookie naming this row) to the terminal.
    Revoking the row (`revoked_at`) unbinds the browser at its next request."""

    id = models.CharField(primary_key=True, max_length=40)  # kenr_…, what the cookie carries
    terminal = models.ForeignKey("topup.Terminal", on_delete=models.CASCADE, related_name="+")
    code = HashedField(purpose="kiosk_enrolment", unique=True)  # only a keyed digest of the code
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()  # an unused code dies after this
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "kiosk_enrolment"

    def __str__(self) -> str:
        return f"{self.id} ({self.terminal_id})"


class KioskCashSession(models.Model):
    """One purchase paid in cash at a kiosk: the plan and number, the price, the cash inserted so far; paid
    (with the sale, and the change top-up when the customer overpaid) or cancelled (the escrow handed
    back)."""

    id = models.CharField(primary_key=True, max_length=40)  # kcs_…
    terminal = models.ForeignKey("topup.Terminal", on_delete=models.PROTECT, related_name="+")
    plan_id = models.CharField(max_length=60)
    network_id = models.CharField(max_length=30)
    network_confirmed = models.BooleanField(default=False)  # the customer chose another network than guessed
    msisdn = EncryptedTextField()  # E.164; personal data, sealed
    language = models.CharField(max_length=10)
    price_minor = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    inserted_minor = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10)  # topup.domain.kiosk.CashStatus
    sale_id = models.CharField(max_length=40, blank=True, default="")
    change_plan_id = models.CharField(max_length=60, blank=True, default="")  # the extra credit, if any
    change_sale_id = models.CharField(max_length=40, blank=True, default="")
    created_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "kiosk_cash_session"

    def __str__(self) -> str:
        return f"{self.id} {self.status} {self.inserted_minor}/{self.price_minor}"


class KioskCashEvent(models.Model):
    """One note or coin the acceptor reported, kept once by the device's event id (a retried report finds
    its first answer): stacked or handed back, and why."""

    session = models.ForeignKey(KioskCashSession, on_delete=models.PROTECT, related_name="events")
    event_id = models.CharField(max_length=64)  # the device's own id of the insertion
    amount_minor = models.PositiveIntegerField()
    accepted = models.BooleanField()
    code = models.CharField(max_length=40, blank=True, default="")
    at = models.DateTimeField()

    class Meta:
        db_table = "kiosk_cash_event"
        constraints = [
            models.UniqueConstraint(fields=["session", "event_id"], name="kiosk_cash_event_once"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} {self.amount_minor} {'stacked' if self.accepted else 'returned'}"
