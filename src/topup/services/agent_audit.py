"""The agent console's audit log: one append-only row per action, each hashing the row before it.

Rows are only ever inserted (the database refuses UPDATE and DELETE); two writers racing for the same
predecessor collide on the unique `prev_hash` and the loser retries on the new head, so the chain never
forks. `verify()` recomputes the chain (the `topup agents audit-verify` command).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from topup.clock import now
from topup.db.models import AuditEntry
from topup.domain.agents import GENESIS, audit_hash, first_broken

_RETRIES = 20


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted: the user id (None before sign-in is known) and the username typed or signed in."""

    user_id: int | None
    username: str

    @property
    def signed_in_id(self) -> int:
        """The user id of a signed-in agent (rows they write name them); refused for an unknown actor."""
        if self.user_id is None:
            raise PermissionError("this action needs a signed-in agent")
        return self.user_id


def _fields(entry: AuditEntry) -> tuple[str, ...]:
    return (
        entry.at.isoformat(),
        entry.actor,
        str(entry.actor_id or ""),
        entry.action,
        entry.subject,
        entry.detail,
    )


def record(actor: Actor, action: str, subject: str = "", detail: str = "") -> AuditEntry:
    """Append one row after the current head (inside the caller's transaction when there is one)."""
    for _attempt in range(_RETRIES):
        head = AuditEntry.objects.order_by("-id").values_list("hash", flat=True).first() or GENESIS
        entry = AuditEntry(
            at=now(), actor=actor.username[:150], actor_id=actor.user_id, action=action,
            subject=subject[:80], detail=detail[:300], prev_hash=head,
        )  # fmt: skip
        entry.hash = audit_hash(head, _fields(entry))
        try:
            with transaction.atomic():
                entry.save(force_insert=True)
        except IntegrityError:
            continue  # another writer took this head first: follow theirs
        return entry
    raise RuntimeError("audit log: could not append after repeated collisions")


def verify() -> tuple[int, int | None]:
    """(rows checked, id of the first row that breaks the chain or None when it is whole)."""
    rows = list(AuditEntry.objects.order_by("id"))
    broken = first_broken([(r.prev_hash, r.hash, _fields(r)) for r in rows])
    return len(rows), None if broken is None else rows[broken].id


def entries(user_id: int | None, limit: int = 200) -> list[AuditEntry]:
    """The newest rows first: everyone's (user_id None, for supervisors) or one agent's own."""
    rows = AuditEntry.objects.order_by("-id")
    if user_id is not None:
        rows = rows.filter(actor_id=user_id)
    return list(rows[:limit])
