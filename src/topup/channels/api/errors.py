"""Every API error is `{"error": {"code", "message", "field"}}`: a stable code, a translated message."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from topup.channels.api.auth import Forbidden
from topup.channels.messages import domain_error_body, error_body
from topup.domain.errors import Conflict, DomainError, NotFound
from topup.jsonbody import JsonBodyError, read_object
from topup.ports import InvalidSignature, PortUnavailable
from topup.services.orders import ProviderUnavailable


def json_response(status: int, body: dict[str, object]) -> HttpResponse:
    return HttpResponse(json.dumps(body, ensure_ascii=False), status=status, content_type="application/json")


class JsonObjectParser(Parser):
    """django-ninja's body parser through `topup.jsonbody`: a refused body is 400 with its own code."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        return read_object(request.body)


def refused_body(exc: JsonBodyError) -> HttpResponse:
    return json_response(400, error_body(exc.code, field=exc.field))


def _status_for(error: DomainError) -> int:
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, Conflict):
        return 409
    return 400


def _field_of(detail: dict[str, object]) -> str | None:
    where = detail.get("loc", ())
    parts = where if isinstance(where, list | tuple) else ()
    loc = [str(part) for part in parts if part not in {"body", "query", "path", "payload"}]
    return ".".join(loc) or None


def install(api: NinjaAPI) -> None:
    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return json_response(_status_for(exc), domain_error_body(exc))

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        first = exc.errors[0] if exc.errors else {}
        field = _field_of(first)
        message = f"{field}: {first.get('msg', '')}" if field else str(first.get("msg", ""))
        return json_response(422, error_body("invalid_request", message, field))

    @api.exception_handler(AuthenticationError)
    def unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return json_response(401, error_body("unauthorized", field="Authorization"))

    @api.exception_handler(Forbidden)
    def forbidden(request: HttpRequest, exc: Forbidden) -> HttpResponse:
        return json_response(403, error_body("forbidden", field="Authorization"))

    @api.exception_handler(InvalidSignature)
    def bad_signature(request: HttpRequest, exc: InvalidSignature) -> HttpResponse:
        return json_response(400, error_body("invalid_signature", field="Stripe-Signature"))

    @api.exception_handler(ProviderUnavailable)
    def provider_down(request: HttpRequest, exc: ProviderUnavailable) -> HttpResponse:
        return json_response(503, error_body("payment_provider_unavailable"))

    @api.exception_handler(PortUnavailable)
    def port_down(request: HttpRequest, exc: PortUnavailable) -> HttpResponse:
        return json_response(503, error_body(exc.code))

    @api.exception_handler(JsonBodyError)
    def bad_body(request: HttpRequest, exc: JsonBodyError) -> HttpResponse:
        return refused_body(exc)

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if isinstance(exc.__cause__, JsonBodyError):  # ninja wraps a parser's refusal in a plain 400
            return refused_body(exc.__cause__)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return json_response(exc.status_code, error_body(code, str(exc)))
