"""Binding a kiosk's browser to a retailer's kiosk terminal: staff make a one-time code with
`topup kiosk enrol TERMINAL`, the kiosk opens `/kiosk/enrol?code=…` once, and from then on its signed cookie
names the enrolment. Only a keyed digest of the code is stored; a code works once and expires."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Final

from django.db import transaction

from topup.clock import new_id
from topup.db.models import KioskEnrolment, Terminal
from topup.domain.errors import InvalidInput, NotFound

CODE_ALPHABET: Final = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # nothing that reads as another character
CODE_LENGTH: Final = 12
CODE_TTL: Final = timedelta(hours=24)


def _kiosk_terminal_exists(terminal_id: str) -> bool:
    return Terminal.objects.filter(id=terminal_id, kind="kiosk", active=True, retailer__active=True).exists()


def make_code(terminal_id: str, *, at: datetime) -> tuple[str, str]:
    """A new one-time code for the kiosk terminal `terminal_id`: (enrolment id, code shown once)."""
    if not _kiosk_terminal_exists(terminal_id):
        raise NotFound(
            f"no active kiosk terminal {terminal_id!r}", code="terminal_not_found", field="terminal"
        )
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    enrolment = KioskEnrolment.objects.create(
        id=new_id("kenr"), terminal_id=terminal_id, code=code, created_at=at, expires_at=at + CODE_TTL
    )
    return enrolment.id, code


def use_code(code: str, *, at: datetime) -> str:
    """Spend a code (once: one conditional UPDATE); the enrolment id the kiosk's cookie will carry."""
    normalised = code.strip().upper().replace("-", "").replace(" ", "")
    if len(normalised) != CODE_LENGTH or set(normalised) - set(CODE_ALPHABET):
        raise InvalidInput("not an enrolment code", code="kiosk_enrolment_invalid", field="code")
    with transaction.atomic():
        enrolment = KioskEnrolment.objects.filter(code=normalised).first()
        used = (
            KioskEnrolment.objects.filter(
                pk=getattr(enrolment, "pk", ""),
                used_at__isnull=True,
                revoked_at__isnull=True,
                expires_at__gt=at,
            ).update(used_at=at)
            if enrolment is not None
            else 0
        )
    if enrolment is None or used != 1 or not _kiosk_terminal_exists(enrolment.terminal_id):
        raise InvalidInput(
            "unknown, used or expired enrolment code", code="kiosk_enrolment_invalid", field="code"
        )
    return enrolment.id


def terminal_of(enrolment_id: str) -> str | None:
    """The kiosk terminal a browser's enrolment binds it to, while neither is revoked; else None."""
    terminal_id = (
        KioskEnrolment.objects.filter(id=enrolment_id, used_at__isnull=False, revoked_at__isnull=True)
        .values_list("terminal_id", flat=True)
        .first()
    )
    return terminal_id if terminal_id and _kiosk_terminal_exists(terminal_id) else None


def revoke(terminal_id: str, *, at: datetime) -> int:
    """Unbind every browser enrolled for the terminal (a stolen kiosk PC, a replaced one)."""
    return KioskEnrolment.objects.filter(terminal_id=terminal_id, revoked_at__isnull=True).update(
        revoked_at=at
    )
