"""Stripe's error body for the simulator: `{"error": {"type", "code", "message", "param", ...}}`.

SimulatorError      a refusal with the HTTP status and body the API answers with
"""

from __future__ import annotations

Json = dict[str, object]
DOC_URL = "https://stripe.com/docs/error-codes/"


class SimulatorError(Exception):
    """A refusal with Stripe's HTTP status and error body."""

    def __init__(
        self,
        status: int,
        error_type: str,
        code: str | None,
        message: str,
        param: str | None = None,
        *,
        decline_code: str | None = None,
        extra: Json | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.code = code
        self.message = message
        self.param = param
        self.decline_code = decline_code
        self.extra = extra or {}

    def body(self) -> Json:
        error: Json = {"type": self.error_type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = DOC_URL + self.code
        if self.param:
            error["param"] = self.param
        if self.decline_code:
            error["decline_code"] = self.decline_code
        error.update(self.extra)
        return {"error": error}


def invalid(code: str | None, message: str, param: str | None = None, status: int = 400) -> SimulatorError:
    return SimulatorError(status, "invalid_request_error", code, message, param)


def missing(kind: str, object_id: str, param: str = "id") -> SimulatorError:
    return invalid("resource_missing", f"No such {kind}: '{object_id}'", param, status=404)
