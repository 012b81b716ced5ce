"""Requests as a configured channel gateway sends them: USSD and SMS inbound with a signed body, the voice
platform with its X-Twilio-Signature. Tests post through `GatewayClient` instead of a bare test Client."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from django.test import Client

from topup.channels.gateway_auth import sign_body, twilio_signature
from topup.settings import CONFIG

FORM = "application/x-www-form-urlencoded"


def signed_headers(path: str, body: bytes, form: Mapping[str, str] | None = None) -> dict[str, str]:
    """The headers the gateway of `path` adds to a POST of `body` (`form`: its fields, for IVR)."""
    if path.startswith("/channels/ivr/"):
        url = CONFIG.public_url + path
        return {"X-Twilio-Signature": twilio_signature(CONFIG.ivr_auth_tokens[0], url, form or {})}
    keys = CONFIG.sms_webhook_keys if path.startswith("/channels/sms/") else CONFIG.ussd_gateway_keys
    return sign_body(keys[0], body)


class GatewayClient(Client):
    """A Django test client whose form and JSON posts to the channel endpoints are signed."""

    def gateway_post(
        self, path: str, data: Mapping[str, str] | None = None, *, as_json: bool = False, **extra: Any
    ) -> Any:
        fields = dict(data or {})
        if as_json:
            body, content_type = json.dumps(fields).encode(), "application/json"
        else:
            body, content_type = urlencode(fields).encode(), FORM
        headers = signed_headers(path, body, fields) | dict(extra.pop("headers", {}))
        return self.post(path, body, content_type=content_type, headers=headers, **extra)
