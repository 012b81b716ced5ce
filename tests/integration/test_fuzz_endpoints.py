"""Hostile input on every endpoint: no answer is a server error (status 500 or more), on either database.

The endpoints are read from Django's URL map, so the channels outside the OpenAPI document (USSD, IVR,
SMS inbound, the ES2+ callback, payment webhooks, the web pages, /healthz, /metrics) are covered, and a
route added later is fuzzed without editing this file. Hypothesis draws, per endpoint, a method (odd ones
included), a content type, a body (random bytes, invalid UTF-8, nesting thousands deep, huge numbers,
arrays, NUL bytes, very long strings, forms, and valid bodies with one field made hostile), hostile
path parameters and query strings. Requests are signed as each endpoint expects (gateway HMAC, Twilio
signature, Stripe-style webhook signature, the SM-DP+ callback key, an admin API key) so the fuzz reaches
the parsers behind the signature checks. CSRF is off (Django's test client), so web forms are reached too.
Seeded and derandomised: the same examples run every time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.http import QueryDict
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from topup.adapters.payments.signature import sign
from topup.services import notifications
from topup.settings import CONFIG

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = int(os.environ.get("TOPUP_FUZZ_EXAMPLES", "30"))
SKIPPED_PREFIXES = ("admin/", "static/")  # Django's own admin; static files are served by whitenoise
USSD_KEY = os.environ.get("TOPUP_USSD_GATEWAY_KEYS", "ussd_gateway_demo_key").split(",")[0]
SMS_KEY = os.environ.get("TOPUP_SMS_WEBHOOK_KEYS", "sms_webhook_demo_key").split(",")[0]
IVR_TOKEN = os.environ.get("TOPUP_IVR_AUTH_TOKEN", "ivr_demo_auth_token")
KNOWN: dict[str, str] = {}


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if route.startswith(SKIPPED_PREFIXES):
            continue
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield "/" + route


def _all_routes() -> list[str]:
    import django  # noqa: PLC0415

    django.setup()
    return sorted(set(_routes(get_resolver().url_patterns)))


ROUTES = _all_routes()

# --- hostile pieces ---------------------------------------------------------------------------------
FIELDS = [
    "plan_id", "msisdn", "iccid", "eid", "payment_method", "language", "network_confirmed", "pin", "code",
    "records", "id", "bytes", "start", "end", "imsi", "from", "text", "phoneNumber", "serviceCode",
    "sessionId", "Digits", "From", "CallSid", "network", "type", "data", "object", "header", "amount",
    "currency", "metadata", "notificationPointId", "timestamp", "csrfmiddlewaretoken", "lang", "kind",
]  # fmt: skip
NASTY_TEXT = [
    "\x00", "a\x00b", "%00", "0470\x00123456", "x" * 5000, "'; DROP TABLE orders; --", "../../etc/passwd",
    "\u202e\u0664\u0663", "🙂" * 50, "\ufeff", "\r\n\r\n", "<script>", "{{7*7}}", "%s%s%n", "-1", "1e999",
    "9" * 5000, "NaN", "null", "[]", "{}", "+32470123456", "0470123456", "proximus-credit-10", "sandbox",
]  # fmt: skip
text = st.one_of(st.text(max_size=40), st.sampled_from(NASTY_TEXT))
leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
)
names = st.one_of(st.sampled_from(FIELDS), st.text(max_size=12))
json_value = st.recursive(
    leaf, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(names, inner, max_size=5), max_leaves=15
)


def _nest(depth: int, as_object: bool) -> bytes:
    if as_object:
        return b'{"a":' * depth + b"1" + b"}" * depth
    return b"[" * depth + b"]" * depth


VALID_BODIES: list[dict[str, Any]] = [
    {"plan_id": "proximus-credit-10", "msisdn": "0470 12 34 56", "payment_method": "card"},
    {"plan_id": "topup-esim-1gb-7d", "payment_method": "card", "eid": ""},
    {"pin": "1234 5678 9012 3", "msisdn": "0470123456"},
    {"msisdn": "0470123456"},
    {"msisdn": "0470123456", "code": "123456"},
    {"records": [{"id": "u1", "iccid": "8932000000000000001", "bytes": 10, "start": "2026-01-01T00:00:00Z",
                  "end": "2026-01-01T01:00:00Z"}]},
    {"from": "+32470123456", "text": "BAL"},
    {"phoneNumber": "+32470123456", "serviceCode": "*111#", "text": "1", "sessionId": "s1"},
    {"From": "+32470123456", "Digits": "1", "CallSid": "CA1"},
    {"header": {"functionRequesterIdentifier": "smdp", "functionCallIdentifier": "c1"},
     "iccid": "8932000000000000001", "profileType": "data", "notificationPointId": 1,
     "notificationPointStatus": {"status": "Executed-Success"}, "timestamp": "2026-01-01T00:00:00Z"},
    {"id": "evt_1", "type": "payment_intent.succeeded",
     "data": {"object": {"id": "pi_1", "object": "payment_intent", "amount": 1000, "currency": "eur"}}},
]  # fmt: skip


@st.composite
def _mutated_valid(draw: st.DrawFn) -> dict[str, Any]:
    body = dict(draw(st.sampled_from(VALID_BODIES)))
    body[draw(st.sampled_from(sorted(body)))] = draw(json_value)
    return body


json_bodies = st.one_of(
    _mutated_valid(),
    st.dictionaries(names, json_value, max_size=6),
    json_value,
).map(lambda value: json.dumps(value).encode())
bodies = st.one_of(
    json_bodies,
    _mutated_valid().map(lambda value: json.dumps(value, ensure_ascii=False).encode()),
    st.binary(max_size=300),
    st.binary(max_size=60).map(lambda raw: b'{"from": "' + raw + b'\xff\xfe", "text": "\xc3"}'),
    st.tuples(st.integers(min_value=30, max_value=20_000), st.booleans()).map(lambda t: _nest(*t)),
    st.integers(min_value=300, max_value=6000).map(lambda n: b'{"amount": ' + b"9" * n + b"}"),
    st.sampled_from([b'{"a": 1e999}', b'{"a": -Infinity}', b'{"a": NaN}', b'{"a": "\\ud800"}', b"\x00",
                     b'{"msisdn": "\\u0000"}', b"", b"null", b"[]", b'"text"', b"12",
                     b'{"text": "' + b"a" * 300_000 + b'"}', b"{" * 1_200_000]),
    st.dictionaries(names, text, max_size=6).map(lambda form: urlencode(form).encode()),
    _mutated_valid().map(lambda form: urlencode({k: str(v) for k, v in form.items()}).encode()),
)  # fmt: skip
CONTENT_TYPES = [
    "application/json", "application/json", "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded", "multipart/form-data; boundary=zz", "multipart/form-data",
    "text/plain", "application/json; charset=utf-16", "application/xml", "", "\x00/\x00",
]  # fmt: skip
METHODS = ["POST", "POST", "POST", "GET", "GET", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE"]
METHODS += ["PROPFIND"]
HOSTILE_SEGMENTS = [
    "%00", "ord_%00", "..%2F..%2Fetc", "%FF%FE", "%ED%A0%80", "x" * 3000, "%25", "%F0%9F%99%82", ".", "~",
    "0470123456", "+32470123456", "8932000000000000001", "sandbox", "stripe", "ord_0000000000000000",
]  # fmt: skip


def _segment(name: str, hostile: str) -> str:
    if hostile:
        return hostile
    return {"order_id": KNOWN.get("order_id", "ord_x"), "provider": "stripe", "msisdn": "0470123456"}.get(
        name, "x"
    )


def _fill(route: str, draw: st.DrawFn) -> str:
    """The route with each `<param>` replaced by a known value or a hostile one."""
    parts = []
    for piece in route.split("/"):
        if piece.startswith("<") and piece.endswith(">"):
            name = piece.strip("<>").split(":")[-1]
            parts.append(_segment(name, draw(st.sampled_from(["", "", *HOSTILE_SEGMENTS]))))
        else:
            parts.append(piece)
    return "/".join(parts)


query_strings = st.one_of(
    st.just(""),
    st.dictionaries(names, text, max_size=4).map(urlencode),
    st.sampled_from(["a=%00", "%00=1", "step=%00&tries=-9999999999999999999", "lang=%FF",
                     "msisdn=" + "9" * 5000, "network=%ED%A0%80", "tries=1e9", "&&&==&",
                     "kind=%00&period=%00"]),
)  # fmt: skip


@st.composite
def requests(draw: st.DrawFn, route: str) -> dict[str, Any]:
    return {
        "method": draw(st.sampled_from(METHODS)),
        "path": _fill(route, draw),
        "query": draw(query_strings),
        "body": draw(bodies),
        "content_type": draw(st.sampled_from(CONTENT_TYPES)),
        "signed": draw(st.booleans()) or draw(st.booleans()),  # three in four requests are signed
    }


def _gateway_headers(key: str, body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    mac = hmac.new(key.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Topup-Timestamp": ts, "X-Topup-Signature": f"v1={mac}"}


def _twilio(url: str, body: bytes, content_type: str) -> str:
    form = QueryDict(body) if content_type.startswith("application/x-www-form-urlencoded") else QueryDict()
    signed = url + "".join(name + value for name in sorted(form) for value in form.getlist(name))
    digest = hmac.new(IVR_TOKEN.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _signatures(path: str, query: str, body: bytes, content_type: str) -> dict[str, str]:
    """The credentials each kind of endpoint checks, computed over exactly the bytes sent."""
    if path.startswith("/channels/ussd"):
        return _gateway_headers(USSD_KEY, body)
    if path.startswith("/channels/sms/"):
        return {**_gateway_headers(SMS_KEY, body), "Authorization": f"Bearer {CONFIG.sms_webhook_key}"}
    if path.startswith("/channels/ivr/"):
        url = CONFIG.public_url + path + (f"?{query}" if query else "")
        return {"X-Twilio-Signature": _twilio(url, body, content_type)}
    if path.startswith("/api/v1/payments/webhooks/"):
        return {"Stripe-Signature": sign(body, CONFIG.webhook_secrets[0], int(time.time()))}
    if "es2plus" in path or path.startswith("/gsma/"):
        return {"Authorization": f"Bearer {CONFIG.smdp_callback_key}"}
    if path.startswith("/api/") and KNOWN.get("admin_key"):
        return {"Authorization": f"Bearer {KNOWN['admin_key']}"}
    return {}


def send(client: Client, request: dict[str, Any]) -> Any:
    path, query, body = request["path"], request["query"], request["body"]
    content_type = request["content_type"]
    headers = {"Idempotency-Key": f"fuzz-{hashlib.sha256(body).hexdigest()[:16]}"}
    if request["signed"]:
        headers |= _signatures(path, query, body, content_type)
    url = quote(path, safe="/%:@!$&'()*+,;=~.-_") + (f"?{query}" if query else "")
    return client.generic(request["method"], url, body, content_type=content_type, headers=headers)


@pytest.fixture
def platform(
    seeded: None, payments_simulator: str, carriers_simulator: str, smdp_simulator: str
) -> Iterator[None]:
    """A seeded database, the simulators, an admin key and one real order whose id the paths may name."""
    from topup.channels.api.auth import create_key  # noqa: PLC0415

    KNOWN["admin_key"] = create_key(["admin"], name="fuzz")
    response = Client().post(
        "/api/v1/orders",
        VALID_BODIES[0],
        content_type="application/json",
        headers={"Idempotency-Key": "fuzz-known-order"},
    )
    assert response.status_code == 201, response.content
    KNOWN["order_id"] = response.json()["id"]
    # One-time codes go out by SMS; the SMPP path has its own tests, here any sender that accepts will do.
    notifications.configure(sms=_AcceptingSms())
    yield
    notifications.configure()
    KNOWN.clear()


class _AcceptingSms:
    def send(self, to: str, text: str) -> None:
        assert to.startswith("+")


def test_the_fuzz_reaches_every_channel() -> None:
    """The URL map the fuzz walks holds the endpoints outside the OpenAPI document too."""
    wanted = {
        "/channels/ussd", "/channels/ivr/voice", "/channels/ivr/vxml", "/channels/sms/inbound", "/healthz",
        "/metrics", "/api/v1/esim/es2plus/handleDownloadProgressInfo", "/api/v1/payments/webhooks/<provider>",
        "/topup", "/my", "/esim", "/api/v1/orders", "/api/v1/vouchers/redeem",
    }  # fmt: skip
    assert wanted <= set(ROUTES)


def _fuzz(client: Client, route: str, failures: list[str]) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(request=requests(route))
    def run(request: dict[str, Any]) -> None:
        response = send(client, request)
        if response.status_code >= 500:
            shown = {k: (v[:200] if isinstance(v, str | bytes) else v) for k, v in request.items()}
            failures.append(f"{response.status_code} for {shown}: {response.content[:300]!r}")

    run()


# One test for all the routes: the seeded database and the simulators are set up once (a flush and a
# seed per route would double the run time on PostgreSQL); the failures name their route.
@pytest.mark.usefixtures("platform")
def test_no_hostile_request_gets_a_server_error() -> None:
    client = Client(raise_request_exception=False)
    failures: list[str] = []
    for route in ROUTES:
        _fuzz(client, route, failures)
    assert not failures, f"{len(failures)} server errors, the first ones:\n" + "\n".join(failures[:8])
