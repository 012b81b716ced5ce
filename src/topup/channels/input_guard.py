"""One guard in front of every view for characters no database stores: NUL (PostgreSQL refuses it in text).

A path holding one names nothing we have: 404 with the code of what the path would name
(`order_not_found`, `line_not_found`...). A query, form, header or cookie value holding one is 400
`invalid_character`. Without this guard SQLite answers 404 and PostgreSQL raises (a 500) for the same
request, so the answer no longer depends on the database.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from django.http import HttpRequest, HttpResponse
from django.utils.datastructures import MultiValueDict

from topup.channels.messages import error_body

UNSTORABLE = "\x00"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# What a path under each prefix names, for the 404 code of a path that cannot exist.
NOT_FOUND_CODES = (
    ("/api/v1/esim/orders/", "order_not_found", "order_id"),
    ("/api/v1/orders/", "order_not_found", "order_id"),
    ("/orders/", "order_not_found", "order_id"),
    ("/api/v1/lines/", "line_not_found", "msisdn"),
    ("/api/v1/payments/webhooks/", "unknown_provider", "provider"),
)


def _json(status: int, body: dict[str, object]) -> HttpResponse:
    return HttpResponse(json.dumps(body, ensure_ascii=False), status=status, content_type="application/json")


def _printable(name: str) -> str:
    return name.replace(UNSTORABLE, "")[:60]


def _bad_name(pairs: Iterable[tuple[str, str]]) -> str | None:
    """The first name whose name or value holds an unstorable character."""
    for name, value in pairs:
        if UNSTORABLE in name or UNSTORABLE in value:
            return _printable(name) or "?"
    return None


def _items(data: MultiValueDict[str, str]) -> Iterable[tuple[str, str]]:
    for name, values in data.lists():
        for value in values:
            yield name, str(value)


def _headers(request: HttpRequest) -> Iterable[tuple[str, str]]:
    for name, value in request.META.items():
        if name.startswith("HTTP_") and isinstance(value, str):
            yield name[5:].replace("_", "-").title(), value


def refusal(request: HttpRequest) -> HttpResponse | None:
    """The 404 or 400 answer for a request carrying an unstorable character, or None when it is clean."""
    if UNSTORABLE in request.path:
        named = ((code, field) for prefix, code, field in NOT_FOUND_CODES if request.path.startswith(prefix))
        code, field = next(named, ("not_found", None))
        return _json(404, error_body(code, field=field))
    bad = _bad_name(_items(request.GET)) or _bad_name(_headers(request)) or _bad_name(request.COOKIES.items())
    if bad is None and request.method == "POST" and request.content_type in FORM_TYPES:
        _ = request.body  # keep the raw bytes readable for views that verify a signature over them
        bad = _bad_name(_items(request.POST))
    if bad is not None:
        return _json(400, error_body("invalid_character", field=bad))
    return None


class InputGuardMiddleware:
    """Django middleware: `refusal(request)` before anything (sessions, CSRF, views) reads the input."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return refusal(request) or self.get_response(request)
