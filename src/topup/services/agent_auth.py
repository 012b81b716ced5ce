"""Agents' accounts and sign-in: a Django user (Argon2 password) with a profile holding the role, the refund
limit and the sealed TOTP secret; the password step, the TOTP step (each code once), and the lock-out.

Failures are counted by one UPDATE on the profile row (`failed_attempts + 1`), so concurrent wrong guesses
all count; the account locks when the count reaches the maximum, and a locked account refuses even the
right password until the lock expires.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F

from topup.clock import now
from topup.db.models import AgentProfile
from topup.domain.agents import TOTP_PERIOD_S, Role, is_locked, lock_after, parse_role, totp_step
from topup.domain.errors import Conflict, InvalidInput
from topup.domain.money import parse_money
from topup.services.agent_audit import Actor, record

ISSUER = "Topup agent console"


class SignInRefused(Exception):
    """Wrong password, wrong or reused code, or a locked account; `code` says which (never to a caller
    who has not proven the password: the page shows one wording for every password failure)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class NewAgent:
    username: str
    password: str  # shown once, to be changed at first use
    provisioning_uri: str  # for the authenticator app (otpauth://totp/...)


def create_agent(username: str, role: str, refund_limit: str, counter: str = "main") -> NewAgent:
    """A new agent with a random password (printed once) and a fresh TOTP secret (sealed in the database)."""
    parsed_role = parse_role(role)
    limit = parse_money(refund_limit or "0", "EUR")
    if not username.strip():
        raise InvalidInput("a username is required", code="username_required", field="username")
    password = secrets.token_urlsafe(12)
    secret = pyotp.random_base32()
    with transaction.atomic():
        if User.objects.filter(username=username).exists():
            raise Conflict(f"user {username!r} exists", code="username_taken", field="username")
        user = User.objects.create_user(username=username, password=password)
        AgentProfile.objects.create(
            user=user, role=parsed_role.value, refund_limit_minor=limit.amount_minor, counter=counter,
            totp_secret=secret, created_at=now(),
        )  # fmt: skip
        record(Actor(None, "cli"), "agent_created", username, f"role {parsed_role.value}, limit {limit}")
    uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)
    return NewAgent(username, password, uri)


def _count_failure(profile_id: int, at: datetime) -> bool:
    """Count one failure; lock when it reaches the maximum. True when this failure locked the account."""
    AgentProfile.objects.filter(id=profile_id).update(failed_attempts=F("failed_attempts") + 1)
    failures = AgentProfile.objects.values_list("failed_attempts", flat=True).get(id=profile_id)
    until = lock_after(failures, at)
    if until is None:
        return False
    # Only the failure that crossed the line sets the lock; later ones do not extend it.
    return bool(
        AgentProfile.objects.filter(id=profile_id, failed_attempts=failures).update(
            locked_until=until, failed_attempts=0
        )
    )


def _fail(profile: AgentProfile, username: str, action: str, at: datetime) -> SignInRefused:
    with transaction.atomic():
        locked = _count_failure(profile.id, at)
        record(Actor(profile.user_id, username), action)
        if locked:
            record(Actor(profile.user_id, username), "locked_out")
    return SignInRefused("locked" if locked else action)


def check_password(username: str, password: str) -> int:
    """The user id when the password is right and the account is an agent's and not locked."""
    at = now()
    profile = AgentProfile.objects.select_related("user").filter(user__username=username).first()
    if profile is None:
        authenticate(username=username, password=password)  # as slow as a real check: no user probing
        record(Actor(None, username), "sign_in_failed", detail="unknown user")
        raise SignInRefused("sign_in_failed")
    if is_locked(profile.locked_until, at):
        record(Actor(profile.user_id, username), "sign_in_refused_locked")
        raise SignInRefused("locked")
    if authenticate(username=username, password=password) is None:
        raise _fail(profile, username, "sign_in_failed", at)
    return profile.user_id


def check_totp(user_id: int, code: str) -> Role:
    """The agent's role when `code` is the current TOTP (±1 step) and newer than the last one used."""
    at = now()
    profile = AgentProfile.objects.select_related("user").get(user_id=user_id)
    username = profile.user.username
    if is_locked(profile.locked_until, at):
        record(Actor(user_id, username), "sign_in_refused_locked")
        raise SignInRefused("locked")
    totp = pyotp.TOTP(profile.totp_secret)
    wanted, current = code.strip(), totp_step(at)
    step = next(
        (
            s
            for s in (current, current - 1, current + 1)
            if secrets.compare_digest(totp.at(s * TOTP_PERIOD_S), wanted)
        ),
        None,
    )
    # One statement accepts the step only if it is after the last one used: a replayed code fails.
    if step is None or not AgentProfile.objects.filter(id=profile.id, totp_last_step__lt=step).update(
        totp_last_step=step, failed_attempts=0
    ):
        raise _fail(profile, username, "totp_failed", at)
    record(Actor(user_id, username), "signed_in")
    return Role(profile.role)


def role_of(user_id: int) -> Role | None:
    profile = AgentProfile.objects.filter(user_id=user_id).values_list("role", flat=True).first()
    return Role(profile) if profile else None
