"""Channel gateways prove who they are: USSD and SMS inbound sign the raw body, the voice platform signs
the URL and its parameters the TwiML way. Unsigned, forged or stale requests are refused with 403 before
any service runs; a channel without keys is switched off (404).

USSD and SMS inbound: `X-Topup-Timestamp: <unix s>` and `X-Topup-Signature: v1=<hex HMAC-SHA256(key,
"<ts>." + raw body)>`, within 300 s of our clock. IVR: `X-Twilio-Signature: base64(HMAC-SHA1(token, URL +
name+value of each POST parameter sorted by name))` with URL = TOPUP_PUBLIC_URL + path and query string.
Every key of a list verifies (rotation). `TOPUP_GATEWAY_ALLOWED_IPS`, when set, also limits the source.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from functools import cache, wraps
from typing import Final

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse

from topup.channels.clients import Network, client_ip, in_networks, networks
from topup.settings import CONFIG

log = logging.getLogger(__name__)

TOLERANCE_S: Final = 300
TIMESTAMP_HEADER: Final = "X-Topup-Timestamp"
SIGNATURE_HEADER: Final = "X-Topup-Signature"
TWILIO_HEADER: Final = "X-Twilio-Signature"
VERSION: Final = "v1"

View = Callable[[HttpRequest], HttpResponse]


# ---------------------------------------------------------------- what a gateway (or our tools) sends


def body_signature(key: str, body: bytes, ts: int) -> str:
    return hmac.new(key.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()


def sign_body(key: str, body: bytes, ts: int | None = None) -> dict[str, str]:
    """The two headers that sign `body` for `POST /channels/ussd` and `/channels/sms/inbound`."""
    ts = int(time.time()) if ts is None else ts
    return {TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: f"{VERSION}={body_signature(key, body, ts)}"}


def twilio_signature(token: str, url: str, params: Mapping[str, str]) -> str:
    """The `X-Twilio-Signature` of a POST of form `params` to the full `url`."""
    payload = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


# ---------------------------------------------------------------- checks


def _same(sent: str, expected: str) -> bool:
    """Constant-time comparison that also takes a forged header with non-ASCII characters (no 500)."""
    return hmac.compare_digest(sent.encode("utf-8", "replace"), expected.encode())


def body_is_signed(keys: Sequence[str], body: bytes, headers: Mapping[str, str], at: float) -> bool:
    try:
        ts = int(headers.get(TIMESTAMP_HEADER, ""))
    except ValueError:
        return False
    if abs(at - ts) > TOLERANCE_S:
        return False
    sent = [
        part.removeprefix(f"{VERSION}=")
        for part in headers.get(SIGNATURE_HEADER, "").split(",")
        if part.strip().startswith(f"{VERSION}=")
    ]
    expected = [body_signature(key, body, ts) for key in keys]
    return any(_same(s.strip(), e) for s in sent for e in expected)


def twilio_is_signed(tokens: Sequence[str], request: HttpRequest) -> bool:
    sent = request.headers.get(TWILIO_HEADER, "")
    if not sent:
        return False
    url = CONFIG.public_url + request.get_full_path()
    params = {name: request.POST.get(name, "") for name in request.POST}
    return any(_same(sent, twilio_signature(token, url, params)) for token in tokens)


@cache
def _allowed_sources() -> tuple[Network, ...]:
    return networks(CONFIG.gateway_allowed_ips)


def _source_allowed(request: HttpRequest) -> bool:
    allowed = _allowed_sources()
    return not allowed or in_networks(client_ip(request), allowed)


def forbidden(channel: str, reason: str) -> HttpResponse:
    log.warning("gateway request refused", extra={"network": channel, "outcome": reason})
    body = {"error": {"code": "forbidden", "message": "this request is not from a configured gateway"}}
    return JsonResponse(body, status=403)


def gateway(channel: str, check: Callable[[HttpRequest], bool | None]) -> Callable[[View], View]:
    """Guard a view: `check` answers None (channel switched off: 404), False (403) or True (go on)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest) -> HttpResponse:
            verdict = check(request)
            if verdict is None:
                raise Http404(f"the {channel} channel is not enabled")
            if not _source_allowed(request):
                return forbidden(channel, "source_not_allowed")
            if not verdict:
                return forbidden(channel, "bad_signature")
            return view(request)

        return guarded

    return decorate


def ussd_check(request: HttpRequest) -> bool | None:
    keys = CONFIG.ussd_gateway_keys
    return body_is_signed(keys, request.body, request.headers, time.time()) if keys else None


def ivr_check(request: HttpRequest) -> bool | None:
    tokens = CONFIG.ivr_auth_tokens
    return twilio_is_signed(tokens, request) if tokens else None


def sms_check(request: HttpRequest) -> bool | None:
    """Signed body, or the aggregator's older bearer key (`TOPUP_SMS_WEBHOOK_KEY`)."""
    keys, bearer = CONFIG.sms_webhook_keys, CONFIG.sms_webhook_key
    if not keys and not bearer:
        return None
    if keys and body_is_signed(keys, request.body, request.headers, time.time()):
        return True
    sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return bool(bearer and sent) and hmac.compare_digest(sent.encode(), bearer.encode())
