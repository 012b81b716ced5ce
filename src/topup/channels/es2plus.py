"""ES2+ functions the SM-DP+ calls on the operator (GSMA SGP.22): HandleDownloadProgressInfo.

Served at the GSMA path `/gsma/rsp2/es2plus/handleDownloadProgressInfo`, and at the older
`/api/v1/esim/es2plus/handleDownloadProgressInfo` for SM-DP+s configured with it. Every answer carries
`X-Admin-Protocol: gsma/rsp/v2.5.0`. A notification is authenticated by the SM-DP+'s bearer key and answered
204 once recorded; the same call again (same functionCallIdentifier, same body) is answered 204 and changes
nothing; the functionCallIdentifier reused with another body is refused: HTTP 200 with
`functionExecutionStatus` Failed, subject 1.6 (Function), reason 3.3 (Already in Use).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Final

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from topup.adapters.esim.es2plus import PROTOCOL, parse_progress_notification
from topup.channels.api.errors import json_response
from topup.channels.messages import error_body
from topup.clock import now
from topup.domain.errors import DomainError
from topup.jsonbody import JsonBodyError, read_object
from topup.services import esim
from topup.settings import CONFIG

MAX_SOURCE_REF_CHARS: Final = 120  # requester:callId is kept as the line event's source_ref


def call_id_reused(call_id: str) -> dict[str, object]:
    """The ES2+ answer refusing a functionCallIdentifier already used with another request."""
    status_code_data = {
        "subjectCode": "1.6",  # Function
        "reasonCode": "3.3",  # Already in Use
        "subjectIdentifier": call_id,
        "message": "functionCallIdentifier already used with another request",
    }
    return {"header": {"functionExecutionStatus": {"status": "Failed", "statusCodeData": status_code_data}}}


def _request_hash(body: object) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _answer(request: HttpRequest) -> HttpResponse:
    sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(sent.encode(), CONFIG.smdp_callback_key.encode()):
        return json_response(401, error_body("unauthorized", field="Authorization"))
    try:
        body = read_object(request.body)  # invalid UTF-8, not an object, too deep or too large: its own code
    except JsonBodyError as refused:
        return json_response(400, error_body(refused.code, field=refused.field))
    try:
        info = parse_progress_notification(body)
        request_hash = _request_hash(body)
    except (ValueError, TypeError, AttributeError) as exc:
        # A refused identifier keeps its code (invalid_iccid, invalid_eid); anything else is invalid_request.
        code = exc.__cause__.code if isinstance(exc.__cause__, DomainError) else "invalid_request"
        return json_response(400, error_body(code, str(exc)))
    source_ref = f"{info.requester_id}:{info.function_call_id}"
    if len(source_ref) > MAX_SOURCE_REF_CHARS:
        message = f"functionRequesterIdentifier:functionCallIdentifier longer than {MAX_SOURCE_REF_CHARS}"
        return json_response(400, error_body("invalid_request", message, "header"))
    outcome = esim.record_progress(
        iccid=info.iccid, point=info.notification_point_id, ok=info.ok,
        code="" if info.ok else f"smdp_{info.subject_code}_{info.reason_code}",
        source_ref=source_ref, at=now(), request_hash=request_hash,
    )  # fmt: skip
    if outcome == esim.CALL_ID_REUSED:
        return json_response(200, call_id_reused(info.function_call_id))
    # No body, but the JSON content type of every ES2+ answer: pySim's client checks it even on a 204.
    return HttpResponse(status=204, content_type="application/json")


@csrf_exempt  # a server-to-server callback authenticated by its bearer key, not a browser form
def download_progress(request: HttpRequest) -> HttpResponse:
    """ES2+ HandleDownloadProgressInfo from the SM-DP+: 204, or an ES2+ refusal; always X-Admin-Protocol."""
    response = _answer(request) if request.method == "POST" else HttpResponseNotAllowed(["POST"])
    response["X-Admin-Protocol"] = PROTOCOL
    return response


urlpatterns = [path("gsma/rsp2/es2plus/handleDownloadProgressInfo", download_progress)]
