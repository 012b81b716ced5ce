"""ES2+ status codes (SGP.22 subject / reason) the SM-DP+ simulator answers with, and the error carrying one.

subject   reason   meaning
1.2       2.2      mandatory element missing (header, iccid, releaseFlag, ...)
1.2       2.1      invalid element (wrong type or value, e.g. finalProfileStatusIndicator)
1.6       3.3      functionCallIdentifier already used by this requester with another request (Function /
                   Already in Use; the same identifier with the same body replays the first answer instead)
8.1.1     2.1      EID malformed (not 32 digits with valid MOD 97-10 check digits)
8.1.1     3.10     a different EID is bound to this ICCID
8.2.1     3.9      ICCID unknown
8.2.1     3.3      profile not available (not in a state that allows the function)
8.2.5     3.9      profileType unknown
8.2.5     3.7      no more profiles of this profileType
8.2.6     3.3      matchingId already in use
8.2.6     3.10     matchingId does not belong to this ICCID
8.8.5     6.4      download attempts exceeded
"""

from __future__ import annotations

from typing import Any


class Es2Error(Exception):
    """A function execution that ends `Failed`: the statusCodeData of the answer."""

    def __init__(
        self, subject_code: str, reason_code: str, message: str, subject_identifier: str | None = None
    ) -> None:
        super().__init__(f"{subject_code}/{reason_code} {message}")
        self.subject_code = subject_code
        self.reason_code = reason_code
        self.message = message
        self.subject_identifier = subject_identifier

    def status_code_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"subjectCode": self.subject_code, "reasonCode": self.reason_code}
        if self.subject_identifier is not None:
            data["subjectIdentifier"] = self.subject_identifier
        data["message"] = self.message
        return data


def missing(field: str) -> Es2Error:
    return Es2Error("1.2", "2.2", f"mandatory element missing: {field}", field)


def invalid(field: str, why: str) -> Es2Error:
    return Es2Error("1.2", "2.1", f"invalid element {field}: {why}", field)


def call_id_reused(call_id: str) -> Es2Error:
    message = "functionCallIdentifier already used with another request"
    return Es2Error("1.6", "3.3", message, call_id)


def iccid_unknown(iccid: str) -> Es2Error:
    return Es2Error("8.2.1", "3.9", "ICCID unknown", iccid)


def not_available(iccid: str, state: str) -> Es2Error:
    return Es2Error("8.2.1", "3.3", f"profile not available (state {state})", iccid)


def eid_invalid(eid: str) -> Es2Error:
    return Es2Error("8.1.1", "2.1", "EID is not valid (SGP.29 check digits)", eid)


def eid_mismatch(eid: str) -> Es2Error:
    return Es2Error("8.1.1", "3.10", "a different EID is bound to this ICCID", eid)


def profile_type_unknown(profile_type: str) -> Es2Error:
    return Es2Error("8.2.5", "3.9", "profileType unknown", profile_type)


def pool_exhausted(profile_type: str) -> Es2Error:
    return Es2Error("8.2.5", "3.7", "no more profiles of this profileType", profile_type)


def matching_id_in_use(matching_id: str) -> Es2Error:
    return Es2Error("8.2.6", "3.3", "matchingId already in use", matching_id)


def matching_id_mismatch(matching_id: str) -> Es2Error:
    return Es2Error("8.2.6", "3.10", "matchingId does not belong to this ICCID", matching_id)


def attempts_exceeded(iccid: str) -> Es2Error:
    return Es2Error("8.8.5", "6.4", "download attempts exceeded", iccid)
