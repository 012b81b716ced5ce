"""Domain errors: each carries a stable machine code that every channel maps to its own wording.

DomainError
├── InvalidInput          bad data from the outside (code such as invalid_msisdn), field names the culprit
├── NotFound              a named thing does not exist (plan_not_found, order_not_found)
├── Conflict              the request clashes with state (idempotency_conflict, network_mismatch)
├── IllegalTransition     an order or payment asked to move where its state machine forbids
└── LedgerError           a transfer that would break a ledger invariant (insufficient_funds, ...)
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every rule violation; `code` is stable, `message` is English developer text."""

    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    code = "invalid_input"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class IllegalTransition(DomainError):
    code = "illegal_transition"


class LedgerError(DomainError):
    code = "ledger_error"
