"""`POST /carriers/dtone/callbacks/<token>`: DT One's status callbacks for the sales of the "dtone" route.

DVS documents no signature on callbacks, so the URL we give DT One carries a secret token
(TOPUP_DTONE_CALLBACK_TOKEN; empty: no callback is asked for and this answers 404). Any 2xx stops DT One's
retries; the transaction's content only wakes the order's delivery job, which then asks DT One itself.
"""

from __future__ import annotations

import hmac

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from topup.channels.api.errors import json_response
from topup.channels.messages import error_body
from topup.jsonbody import JsonBodyError, read_object
from topup.services import carrier_callbacks
from topup.settings import CONFIG

CALLBACK_PATH = "carriers/dtone/callbacks/"


@csrf_exempt
def dtone_callback(request: HttpRequest, token: str) -> HttpResponse:
    expected = CONFIG.dtone_callback_token
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        return json_response(404, error_body("not_found"))
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        body = read_object(request.body)
    except JsonBodyError as refused:
        return json_response(400, error_body(refused.code, field=refused.field))
    external_id = body.get("external_id")
    if isinstance(external_id, str) and external_id:
        carrier_callbacks.hurry_delivery(external_id)
    return HttpResponse(status=204)


urlpatterns = [path(f"{CALLBACK_PATH}<str:token>", dtone_callback)]
