"""Customer messaging: each notification sent once per (kind, channel, subject), OTP challenges and the
short-lived bearer tokens they grant. Secrets (codes, tokens) are stored only as HMAC/SHA-256 digests."""

from __future__ import annotations

from django.db import models

from topup.db.fields import BlindIndexField, EncryptedTextField, HashedField, PersonalManager


class Notification(models.Model):
    """One message to one address; the unique key makes a receipt, a warning or an OTP go out once.

    status: queued (not tried, or refused by the peer and to be retried) → sending (handed to the peer,
    outcome unknown until marked) → sent; failed after too many refusals.
    """

    id = models.CharField(primary_key=True, max_length=40)
    kind = models.CharField(max_length=20)  # receipt | payment_failed | refund | bundle_80 | ... | otp
    channel = models.CharField(max_length=10)  # sms | email
    to = EncryptedTextField()
    to_index = BlindIndexField(source="to", purpose="address", blank=True, default="", db_index=True)
    objects = PersonalManager()
    language = models.CharField(max_length=10)
    subject_id = models.CharField(max_length=60)  # the order, bundle (with its expiry day) or OTP challenge
    status = models.CharField(max_length=10, default="queued")
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "notification"
        constraints = [
            models.UniqueConstraint(fields=["kind", "channel", "subject_id"], name="notification_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.channel}({self.subject_id})"


class OtpChallenge(models.Model):
    """A one-time code sent by SMS to prove that the caller holds the line, or by e-mail to prove that the
    caller reads the address an eSIM was bought with (My eSIMs); exactly one of the two is set. The code is
    kept as an HMAC."""

    id = models.CharField(primary_key=True, max_length=40)
    msisdn = EncryptedTextField(blank=True, default="")
    msisdn_index = BlindIndexField(source="msisdn", blank=True, default="")
    email = EncryptedTextField(blank=True, default="")
    email_index = BlindIndexField(source="email", purpose="email", blank=True, default="")
    objects = PersonalManager()
    code_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    consumed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    ip = HashedField(purpose="ip", null=True, blank=True)  # topup.pii.hash_ip of the client address

    class Meta:
        db_table = "otp_challenge"
        indexes = [
            models.Index(fields=["msisdn_index", "created_at"], name="otp_by_line"),
            models.Index(fields=["email_index", "created_at"], name="otp_by_email"),
            models.Index(fields=["ip", "created_at"], name="otp_by_ip"),
        ]

    def __str__(self) -> str:
        return self.id


class AccessToken(models.Model):
    """A bearer token for one line, stored as the SHA-256 of the token (high entropy needs no slow hash)."""

    token_hash = models.CharField(primary_key=True, max_length=64)
    msisdn = EncryptedTextField()
    msisdn_index = BlindIndexField(source="msisdn", blank=True, default="", db_index=True)
    objects = PersonalManager()
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField()

    class Meta:
        db_table = "access_token"

    def __str__(self) -> str:
        return f"token {self.token_hash[:8]}"
