"""What the simulated acceptor holds: the open cash session, the notes and coins in escrow, the cash box,
and what it handed back. One kiosk, one acceptor, one session at a time, as on the real device."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from topup.domain.kiosk import ACCEPTED_MINOR


@dataclass
class CashSession:
    id: str
    escrow_minor: list[int] = field(default_factory=list)  # taken, waiting for the sale to stack them
    returned_minor: list[int] = field(default_factory=list)  # handed back (refused, or the session cancelled)
    status: str = "open"  # open | stacked | returned

    def document(self) -> dict[str, object]:
        return {
            "id": self.id,
            "status": self.status,
            "inserted_minor": sum(self.escrow_minor),
            "escrow_minor": list(self.escrow_minor),
            "returned_minor": list(self.returned_minor),
        }


@dataclass
class Acceptor:
    """The device: denominations its validator recognises, the session, the cash box's content."""

    sessions: dict[str, CashSession] = field(default_factory=dict)
    current: str = ""
    cash_box_minor: int = 0
    _sequence: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def open(self, session_id: str) -> CashSession:
        """A new session (the same id again is the same session: the platform may retry the call)."""
        if self.current and self.current != session_id:
            self.hand_back(self.current)  # a forgotten session's cash is not kept
        session = self.sessions.setdefault(session_id, CashSession(session_id))
        self.current = session_id
        return session

    def recognises(self, amount_minor: int) -> bool:
        return amount_minor in ACCEPTED_MINOR

    def next_event_id(self) -> str:
        return f"cev_{next(self._sequence):08d}"

    def stack(self, session_id: str) -> CashSession | None:
        session = self.sessions.get(session_id)
        if session is not None and session.status == "open":
            session.status = "stacked"
            self.cash_box_minor += sum(session.escrow_minor)
            self.current = "" if self.current == session_id else self.current
        return session

    def hand_back(self, session_id: str) -> CashSession | None:
        session = self.sessions.get(session_id)
        if session is not None and session.status == "open":
            session.status = "returned"
            session.returned_minor.extend(session.escrow_minor)
            session.escrow_minor.clear()
            self.current = "" if self.current == session_id else self.current
        return session
