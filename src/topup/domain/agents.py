"""Rules of the agent console: roles, lock-out, one-time TOTP steps, refund limits, approvals, the identity
check of the Royal Decree of 27 November 2016, what a search text names, and the audit log's hash chain.

Pure: the services give the time, the counters and the stored rows; these functions decide.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from topup.domain.errors import Conflict, InvalidInput
from topup.domain.identifiers import parse_belgian_mobile, parse_iccid

MAX_FAILURES: Final = 5  # password or TOTP failures in a row before the account locks
LOCK_FOR: Final = timedelta(minutes=15)
TOTP_PERIOD_S: Final = 30
GENESIS: Final = "0" * 64  # the hash the first audit row follows


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


_RANK: Final = {Role.AGENT: 1, Role.SUPERVISOR: 2, Role.ADMIN: 3}


def parse_role(text: str) -> Role:
    try:
        return Role(text.strip().lower())
    except ValueError:
        raise InvalidInput(f"unknown role {text!r}", code="invalid_role", field="role") from None


def role_allows(role: Role, needed: Role) -> bool:
    """An admin may do what a supervisor may, a supervisor what an agent may; never the other way."""
    return _RANK[role] >= _RANK[needed]


def is_locked(locked_until: datetime | None, at: datetime) -> bool:
    return locked_until is not None and at < locked_until


def lock_after(failures: int, at: datetime) -> datetime | None:
    """When `failures` (counted so far, this one included) reach the maximum: locked until; else None."""
    return at + LOCK_FOR if failures >= MAX_FAILURES else None


def totp_step(at: datetime) -> int:
    """The RFC 6238 time step of `at` (30 s): a code is accepted once, for a step after the last used."""
    return int(at.timestamp()) // TOTP_PERIOD_S


class RequestKind(StrEnum):
    REFUND = "refund"
    GOODWILL = "goodwill"


class RequestStatus(StrEnum):
    PENDING = "pending"  # above the agent's limit: waits for a supervisor
    APPROVED = "approved"  # claimed for execution (by the approval, or at once within the limit)
    REJECTED = "rejected"
    EXECUTED = "executed"
    FAILED = "failed"


def within_limit(amount_minor: int, limit_minor: int) -> bool:
    """An agent executes a refund or goodwill credit alone only up to their own limit (inclusive)."""
    return 0 < amount_minor <= limit_minor


def check_decider(requested_by: int, decided_by: int, decider_role: Role) -> None:
    """A supervisor (or admin) decides; never the one who asked."""
    if not role_allows(decider_role, Role.SUPERVISOR):
        raise Conflict("only a supervisor may decide a request", code="forbidden_role")
    if requested_by == decided_by:
        raise Conflict("nobody approves their own request", code="own_request")


class DocumentType(StrEnum):
    EID = "eid"
    PASSPORT = "passport"
    RESIDENCE_CARD = "residence_card"
    OTHER = "other"


_LAST4 = re.compile(r"[A-Z0-9]{4}")
_NATIONALITY = re.compile(r"[A-Z]{2}")


@dataclass(frozen=True, slots=True)
class IdentityFacts:
    """All we may keep of a seen identity document: its type, the last 4 characters, a nationality."""

    document_type: DocumentType
    last4: str
    nationality: str


def identity_facts(document_type: str, last4: str, nationality: str = "") -> IdentityFacts:
    """Validate an identity check: exactly the last 4 letters/digits of the document number, never more
    (a full number or a copy must not be kept), and an optional ISO 3166 alpha-2 nationality."""
    try:
        kind = DocumentType(document_type)
    except ValueError:
        raise InvalidInput(
            "choose a document type", code="invalid_document_type", field="document_type"
        ) from None
    tail = re.sub(r"[\s.\-]", "", last4).upper()
    if not _LAST4.fullmatch(tail):
        raise InvalidInput(
            "enter only the last 4 characters of the document number", code="invalid_document_last4",
            field="document_last4",
        )  # fmt: skip
    country = nationality.strip().upper()
    if country and not _NATIONALITY.fullmatch(country):
        raise InvalidInput(
            "nationality is a 2-letter country code", code="invalid_nationality", field="nationality"
        )
    return IdentityFacts(kind, tail, country)


class QueryKind(StrEnum):
    MSISDN = "msisdn"
    ICCID = "iccid"
    ORDER = "order"


_ORDER_ID = re.compile(r"ord_[0-9a-z]{10,36}")


def classify_query(text: str) -> tuple[QueryKind, str]:
    """What a search names, normalised: an order id, an ICCID (18-22 digits) or a Belgian mobile number
    in any way people write it (`0470 12 34 56`, `+32470123456`, `0032 470…`, `470123456`)."""
    cleaned = text.strip()
    if _ORDER_ID.fullmatch(cleaned.lower()):
        return QueryKind.ORDER, f"ord_{cleaned[4:].upper()}"  # ids are `ord_` + an upper-case ULID
    digits = re.sub(r"[\s.\-/()]", "", cleaned)
    if digits.isdigit() and 18 <= len(digits) <= 22 and not digits.startswith(("0032", "32")):
        return QueryKind.ICCID, parse_iccid(digits)
    if not cleaned:
        raise InvalidInput("enter a number, an ICCID or an order id", code="search_empty", field="q")
    return QueryKind.MSISDN, parse_belgian_mobile(cleaned)


def audit_hash(prev_hash: str, fields: tuple[str, ...]) -> str:
    """The SHA-256 of the previous row's hash and this row's fields: changing, removing or reordering
    any row breaks every hash after it."""
    text = "\x1f".join((prev_hash, *fields))
    return hashlib.sha256(text.encode()).hexdigest()


def first_broken(rows: list[tuple[str, str, tuple[str, ...]]]) -> int | None:
    """The index of the first row (prev_hash, hash, fields) that does not follow its predecessor, or None."""
    expected_prev = GENESIS
    for index, (prev_hash, row_hash, fields) in enumerate(rows):
        if prev_hash != expected_prev or audit_hash(prev_hash, fields) != row_hash:
            return index
        expected_prev = row_hash
    return None
