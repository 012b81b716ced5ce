"""One-time codes that prove a caller holds a line (by SMS; then a short-lived bearer token) or reads an
e-mail address (My eSIMs: the address an eSIM was bought with).

Codes and tokens are stored only as digests and never logged. Errors (stable codes):
InvalidInput otp_invalid | otp_expired, Conflict otp_locked | otp_rate_limited | otp_too_many_checks.
Sending and checking are limited per line or e-mail address and per client address in one atomic step
(services.limits); the address is kept only as its keyed hash, inside the limit's key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from django.db import transaction
from django.db.models import F
from django.utils import translation
from django.utils.translation import gettext as _

from topup.clock import new_id, now
from topup.db.fields import digest
from topup.db.models import AccessToken, OtpChallenge
from topup.domain.commands import LANGUAGES
from topup.domain.errors import Conflict, DomainError, InvalidInput
from topup.domain.identifiers import ascii_digits, parse_belgian_mobile
from topup.metrics import record
from topup.pii import hash_ip
from topup.ports import PortUnavailable
from topup.services import limits, notifications, selfcare
from topup.settings import CONFIG

CODE_TTL_S = 300
TOKEN_TTL_S = 900
MAX_ATTEMPTS = 5  # wrong codes per challenge before it is locked
LINE_LIMIT = (3, timedelta(minutes=15))  # codes per line per window
IP_LIMIT = (10, timedelta(hours=1))  # codes per client address per window
CHECK_LINE_LIMIT = (10, timedelta(minutes=15))  # codes checked per line per window (all challenges)
CHECK_IP_LIMIT = (30, timedelta(hours=1))  # codes checked per client address per window

# A key of its own (TOPUP_OTP_KEY), so that a leaked secret key or OTP digest says nothing about the other.
_KEY = hmac.new(CONFIG.otp_key.encode(), b"topup-otp-code", hashlib.sha256).digest()


def _code_hash(challenge_id: str, address: str, code: str) -> str:
    return hmac.new(_KEY, f"{challenge_id}:{address}:{code}".encode(), hashlib.sha256).hexdigest()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class _Target:
    """Where a code goes: a line (by SMS) or an e-mail address; `field` names the challenge's column."""

    kind: str  # "line" | "email": the rate limits' key prefix
    field: str  # "msisdn" | "email"
    address: str  # E.164, or the address lower-cased

    @property
    def index(self) -> str:
        return digest(self.address, "email" if self.field == "email" else "msisdn")


def _within_limits(action: str, target: _Target, ip: str | None, at: datetime) -> bool:
    """One hit on the address's and the client's limits for `action` ("send" or "check"), both or neither.
    The client's limit is shared by SMS and e-mail codes: one budget per address of the caller."""
    by_line, by_ip = (LINE_LIMIT, IP_LIMIT) if action == "send" else (CHECK_LINE_LIMIT, CHECK_IP_LIMIT)
    wanted = [
        limits.Limit(f"otp_{action}:{target.kind}:{target.index}", by_line[0], by_line[1].total_seconds())
    ]
    if ip:
        wanted.append(limits.Limit(f"otp_{action}:ip:{hash_ip(ip)}", by_ip[0], by_ip[1].total_seconds()))
    return limits.take(wanted, at)


def _new_challenge(target: _Target, ip: str | None) -> tuple[str, str]:
    """A challenge for the target within its limits (otp_rate_limited otherwise): its id and the code."""
    at = now()
    code = f"{secrets.randbelow(1_000_000):06d}"
    challenge_id = new_id("otp")
    with transaction.atomic():  # the limits' hits and the challenge commit together
        if not _within_limits("send", target, ip, at):
            raise Conflict("too many codes asked for this address", code="otp_rate_limited")
        OtpChallenge.objects.create(
            id=challenge_id,
            code_hash=_code_hash(challenge_id, target.address, code),
            expires_at=at + timedelta(seconds=CODE_TTL_S),
            created_at=at,
            **{target.field: target.address},
        )
    return challenge_id, code


def send_code(msisdn: str, ip: str | None, *, language: str | None = None) -> None:
    """Send a 6-digit code to the line by SMS, valid 5 minutes; otp_rate_limited when asked too often.
    In `language` (the page's the code was asked from), else in the line's own."""
    e164 = parse_belgian_mobile(msisdn)
    challenge_id, code = _new_challenge(_Target("line", "msisdn", e164), ip)
    language = language if language in LANGUAGES else selfcare.language_of(e164)
    with translation.override(language):
        text = _("%(code)s is your Topup code. It is valid for 5 minutes. Never share it.") % {"code": code}
    # Sent now, not through the outbox: the code exists in clear only in this call. The Notification row
    # still records (without the text) that it went, once per challenge.
    outcome = notifications.deliver_once(
        "otp", "sms", challenge_id, to=e164, language=language,
        send=lambda: notifications.sms_sender().send(e164, text),
    )  # fmt: skip
    if outcome in ("retry", "failed"):
        raise PortUnavailable(
            "the SMS could not be sent", code="sms_unavailable"
        )  # 503: the challenge counts, ask again later


class Compose(Protocol):
    def __call__(self, code: str) -> tuple[str, str]: ...


def send_email_code(email: str, ip: str | None, *, language: str, compose: Compose) -> None:
    """E-mail a 6-digit code (valid 5 minutes) to an address already normalised (lower-case): the caller's
    `compose(code)` gives the subject and text, in `language`. Same limits as SMS codes; email_unavailable
    (503) when the mail relay did not take it."""
    challenge_id, code = _new_challenge(_Target("email", "email", email), ip)
    subject, text = compose(code)
    outcome = notifications.deliver_once(
        "otp", "email", challenge_id, to=email, language=language,
        send=lambda: notifications.mailer().send(email, subject, text),
    )  # fmt: skip
    if outcome in ("retry", "failed"):
        raise PortUnavailable("the e-mail could not be sent", code="email_unavailable")


def _check(target: _Target, code: str, ip: str | None, at: datetime) -> str:
    """The id of the target's latest challenge when `code` is its code, else raise (counted in /metrics)."""
    try:
        return _checked(target, code, ip, at)
    except DomainError as error:
        record.otp_failed(error.code)
        raise


def _checked(target: _Target, code: str, ip: str | None, at: datetime) -> str:
    """`_check` itself. Every try is counted in its own committed statement (never in the caller's
    transaction): a failed guess is never rolled back."""
    if not _within_limits("check", target, ip, at):
        raise Conflict("too many codes checked for this address", code="otp_too_many_checks")
    challenge = (
        OtpChallenge.objects.filter(consumed_at__isnull=True, **{target.field: target.address})
        .order_by("-created_at")
        .first()
    )
    if challenge is None:
        raise InvalidInput("no code is waiting for this address", code="otp_invalid", field="code")
    if challenge.expires_at <= at:
        raise InvalidInput("the code has expired", code="otp_expired", field="code")
    counted = OtpChallenge.objects.filter(
        id=challenge.id, attempts__lt=MAX_ATTEMPTS, consumed_at__isnull=True
    ).update(attempts=F("attempts") + 1)
    if not counted:
        raise Conflict("too many wrong codes; ask for a new one", code="otp_locked")
    typed = "".join(ascii_digits(code).split())
    if not hmac.compare_digest(challenge.code_hash, _code_hash(challenge.id, target.address, typed)):
        raise InvalidInput("wrong code", code="otp_invalid", field="code")
    return challenge.id


def _consume(challenge_id: str, at: datetime) -> None:
    consumed = OtpChallenge.objects.filter(id=challenge_id, consumed_at__isnull=True).update(consumed_at=at)
    if not consumed:  # a concurrent verify with the same code won
        raise InvalidInput("the code was already used", code="otp_invalid", field="code")


def verify(msisdn: str, code: str, ip: str | None) -> str:
    """A bearer token (valid 15 minutes) for the line, once, after the right code of its latest challenge."""
    e164 = parse_belgian_mobile(msisdn)
    at = now()
    challenge_id = _check(_Target("line", "msisdn", e164), code, ip, at)
    token = f"tpo_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        _consume(challenge_id, at)
        AccessToken.objects.create(
            token_hash=_token_hash(token),
            msisdn=e164,
            expires_at=at + timedelta(seconds=TOKEN_TTL_S),
            created_at=at,
        )
    return token


def verify_email(email: str, code: str, ip: str | None) -> None:
    """Return when `code` is the right code of the address's latest challenge (used once), else raise."""
    at = now()
    _consume(_check(_Target("email", "email", email), code, ip, at), at)


def token_line(token: str) -> str | None:
    """The line a bearer token was granted for, while it is valid."""
    found = AccessToken.objects.filter(token_hash=_token_hash(token), expires_at__gt=now()).first()
    return found.msisdn if found else None
