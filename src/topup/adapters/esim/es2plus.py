"""ES2+ client (operator → SM-DP+, GSMA SGP.22) and the parser of the SM-DP+'s progress notifications.

One `httpx.Client` per `Es2PlusClient`. Every outcome comes back as an `Es2Result`, never an exception:

    Executed-Success / Executed-WithWarning        -> ok
    Failed / Expired with statusCodeData           -> not ok, transient False (subject/reason codes say why)
    connect error, timeout, lost answer, 429, 5xx,
    401/403, unreadable 200 body                   -> not ok, transient True (the outcome may be unknown)

Safe retries: a logical call keeps one functionCallIdentifier across its attempts, and the SM-DP+ replays the
first answer to a repeated identifier, so retrying a call that was applied but unanswered changes nothing.
Only transient failures are retried, `retries` times, with exponential backoff.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import httpx

from topup.adapters import observed
from topup.domain.errors import InvalidInput
from topup.domain.identifiers import parse_eid, parse_iccid
from topup.metrics.peers import peer_call
from topup.ports import SmdpResult

PROTOCOL: Final = "gsma/rsp/v2.5.0"
ES2_PATH: Final = "/gsma/rsp2/es2plus/"
_OK_STATUSES: Final = frozenset({"Executed-Success", "Executed-WithWarning"})


Es2Result = SmdpResult  # the port's result type, under the protocol's name


def _strip_pad(iccid: object) -> str | None:
    """An ICCID from an answer without the trailing `F` that pads a 19-digit ICCID (identifiers.md)."""
    if not isinstance(iccid, str) or not iccid:
        return None
    return iccid[:-1] if iccid[-1] in "fF" else iccid


def _optional_str(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    return value if isinstance(value, str) and value else None


def _transient(message: str) -> Es2Result:
    return Es2Result(ok=False, message=message, transient=True)


def _read_answer(response: httpx.Response) -> Es2Result:
    """Turn an HTTP answer into a result (transient when the outcome is not known)."""
    status = response.status_code
    if status in (401, 403, 429) or status >= 500:
        return _transient(f"HTTP {status}")
    try:
        body = response.json()
        execution = body["header"]["functionExecutionStatus"]
        outcome = execution["status"]
    except (ValueError, KeyError, TypeError):
        return _transient(f"unreadable ES2+ answer (HTTP {status})")
    if outcome in _OK_STATUSES and status == 200:
        return Es2Result(
            ok=True,
            iccid=_strip_pad(body.get("iccid")),
            matching_id=_optional_str(body, "matchingId"),
            smdp_address=_optional_str(body, "smdpAddress"),
            eid=_optional_str(body, "eid"),
        )
    codes = execution.get("statusCodeData")
    codes = codes if isinstance(codes, Mapping) else {}
    return Es2Result(
        ok=False,
        subject_code=_optional_str(codes, "subjectCode"),
        reason_code=_optional_str(codes, "reasonCode"),
        message=_optional_str(codes, "message") or f"{outcome} (HTTP {status})",
    )


class Es2PlusClient:
    """ES2+ functions of the operator: DownloadOrder, ConfirmOrder, CancelOrder, ReleaseProfile."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        requester_id: str = "topup",
        timeout_s: float = 10,
        retries: int = 3,
        *,
        backoff_s: float = 0.2,
    ) -> None:
        self._requester_id = requester_id
        self._retries = retries
        self._backoff_s = backoff_s
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}", "X-Admin-Protocol": PROTOCOL},
            timeout=httpx.Timeout(timeout_s),
            transport=observed.transport("smdp"),
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Es2PlusClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(self, function: str, fields: Mapping[str, object], call_id: str | None = None) -> Es2Result:
        """POST one function, retrying transient failures with the same functionCallIdentifier.

        A caller that may repeat a call after a crash passes its own stable `call_id`, so that the
        SM-DP+ answers the repeat with the first answer instead of reserving a second profile."""
        header = {
            "functionRequesterIdentifier": self._requester_id,
            "functionCallIdentifier": call_id
            or uuid.uuid4().hex,  # one per logical call, kept by its retries
        }
        body = {"header": header, **{name: value for name, value in fields.items() if value is not None}}
        attempt = 0
        while True:
            try:
                with peer_call("smdp", function) as call:  # one of the ES2+ functions: a bounded set
                    result = _read_answer(call.answer(self._client.post(ES2_PATH + function, json=body)))
            except httpx.HTTPError as exc:
                result = _transient(f"{type(exc).__name__}: {exc}")
            if not result.transient or attempt >= self._retries:
                return result
            time.sleep(self._backoff_s * 2**attempt)
            attempt += 1

    def download_order(
        self,
        *,
        iccid: str | None = None,
        eid: str | None = None,
        profile_type: str,
        call_id: str | None = None,
    ) -> Es2Result:
        """Reserve a profile: the given ICCID, else one of `profile_type` (linked to `eid` when given)."""
        fields = {"eid": eid, "iccid": iccid, "profileType": profile_type}
        return self._call("downloadOrder", fields, call_id)

    def confirm_order(
        self, *, iccid: str, eid: str | None = None, matching_id: str | None = None, release: bool = True
    ) -> Es2Result:
        """Get the matchingId of a reserved profile (and release it); a repeat returns the same matchingId."""
        fields = {"iccid": iccid, "eid": eid, "matchingId": matching_id, "releaseFlag": release}
        result = self._call("confirmOrder", fields)
        if result.ok and result.iccid is None:
            result = Es2Result(True, iccid, result.matching_id, result.smdp_address, result.eid)
        return result

    def cancel_order(
        self,
        *,
        iccid: str,
        eid: str | None = None,
        matching_id: str | None = None,
        final_status: str = "Available",
    ) -> Es2Result:
        """Undo an order not yet downloaded; `final_status` is Available or Unavailable."""
        fields = {
            "iccid": iccid,
            "eid": eid,
            "matchingId": matching_id,
            "finalProfileStatusIndicator": final_status,
        }
        return self._call("cancelOrder", fields)

    def release_profile(self, *, iccid: str) -> Es2Result:
        """Allow the download of a confirmed profile."""
        return self._call("releaseProfile", {"iccid": iccid})


# ---------------------------------------------------------------- HandleDownloadProgressInfo


@dataclass(frozen=True, slots=True)
class ProgressInfo:
    """One HandleDownloadProgressInfo notification; point ids per SGP.22 (1 eligibility, 2 confirmation
    failure, 3 BPP download, 4 BPP installation, 5 deletion, 6 disabling, 7 enabling)."""

    iccid: str
    eid: str | None
    profile_type: str
    timestamp: datetime
    notification_point_id: int
    ok: bool
    subject_code: str | None
    reason_code: str | None
    message: str | None
    requester_id: str
    function_call_id: str  # the SM-DP+ keeps it across retries: the key to discard a duplicate


def _required(body: Mapping[str, Any], name: str, kind: type) -> Any:
    value = body.get(name)
    if value is None or value == "":
        raise ValueError(f"missing required field: {name}")
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"field {name} must be a {kind.__name__}")
    return value


def _timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"field timestamp is not ISO 8601: {text!r}") from exc
    if moment.tzinfo is None:
        raise ValueError("field timestamp must carry a time zone (UTC)")
    return moment


def parse_progress_notification(body: Mapping[str, Any]) -> ProgressInfo:
    """Validate a HandleDownloadProgressInfo body (es2plus.md); raise ValueError naming a missing field."""
    header = _required(body, "header", Mapping)
    requester = _required(header, "functionRequesterIdentifier", str)
    call_id = _required(header, "functionCallIdentifier", str)
    profile_type = _required(body, "profileType", str)
    point_id = _required(body, "notificationPointId", int)
    status = _required(body, "notificationPointStatus", Mapping)
    outcome = _required(status, "status", str)
    moment = _timestamp(_required(body, "timestamp", str))
    try:
        iccid = parse_iccid(_required(body, "iccid", str))
        eid_text = body.get("eid")
        if eid_text is not None and not isinstance(eid_text, str):
            raise ValueError("field eid must be a str")
        eid = parse_eid(eid_text) if eid_text else None
    except InvalidInput as exc:
        raise ValueError(f"field {exc.field}: {exc.message}") from exc
    codes = status.get("statusCodeData")
    codes = codes if isinstance(codes, Mapping) else {}
    return ProgressInfo(
        iccid=iccid,
        eid=eid,
        profile_type=profile_type,
        timestamp=moment,
        notification_point_id=point_id,
        ok=outcome in _OK_STATUSES,
        subject_code=_optional_str(codes, "subjectCode"),
        reason_code=_optional_str(codes, "reasonCode"),
        message=_optional_str(codes, "message"),
        requester_id=requester,
        function_call_id=call_id,
    )
