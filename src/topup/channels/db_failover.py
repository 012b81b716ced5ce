"""Web requests across a database failover: read-your-writes for the replica, one retry, then a 503.

`ReadYourWritesMiddleware` remembers, in a signed cookie, where the primary's WAL was after a request that
could write, so that the caller's replica reads wait for the replica to replay it (topup.db.router).

`DatabaseFailoverMiddleware` turns a request that failed on a lost connection or a read-only server
(topup.db.failover) into one retry after reconnecting, when the request is safe to run twice: a GET, HEAD or
OPTIONS, a payment provider's webhook (its inbox applies an event once), or a write that looked up or claimed
its Idempotency-Key before any effect (topup.services.idempotency marks it; its answer is stored with the
effect). A key that the endpoint ignores (POST /auth/otp would send a second code) makes nothing safe.
Otherwise, or when the retry fails too, the answer is 503 with Retry-After and the stable code
`database_unavailable` in the caller's language, never a 500.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from typing import Any, Final

from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.html import escape

from topup.channels.messages import error_body, message_for
from topup.db import router
from topup.db.failover import forget_connections, is_failover_error
from topup.services import idempotency

log = logging.getLogger(__name__)

CODE: Final = "database_unavailable"
RETRY_AFTER_S: Final = 2
WROTE_COOKIE: Final = "topup_wrote"
_COOKIE_SALT: Final = "topup.read-your-writes"
_SAFE: Final = frozenset({"GET", "HEAD", "OPTIONS"})
_WEBHOOKS: Final = "/api/v1/payments/webhooks/"  # deduplicated by the inbox: (provider, event id)
_FAILED_ON: Final = "_topup_failover_error"


def _remember_failure(sender: object, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """Django's handler is turning an exception (being handled: sent from its `except`) into a 500: note a
    failover's on the request, wherever it was raised (a view, a middleware, the session's save)."""
    raised = sys.exc_info()[1]
    if request is not None and raised is not None and is_failover_error(raised):
        setattr(request, _FAILED_ON, raised)


got_request_exception.connect(_remember_failure, dispatch_uid="topup.db_failover")


def retry_is_safe(request: HttpRequest) -> bool:
    """Within the request's retry_scope: may it run again after a failover?"""
    if request.method in _SAFE or request.path.startswith(_WEBHOOKS):
        return True
    return idempotency.retry_is_marked_safe()


class DatabaseFailoverMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with idempotency.retry_scope():
            return self._answer(request)

    def _answer(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        failure = getattr(request, _FAILED_ON, None)
        if failure is None:
            return response
        forget_connections()
        delattr(request, _FAILED_ON)
        if retry_is_safe(request):
            log.warning(
                "database failover during %s %s: retrying once: %s", request.method, request.path, failure
            )
            with router.primary_only():
                response = self.get_response(request)
            failure = getattr(request, _FAILED_ON, None)
            if failure is None:
                return response
            forget_connections()
        log.warning("database failover during %s %s: answered 503: %s", request.method, request.path, failure)
        return unavailable(request)


def unavailable(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After and the stable code, in the caller's language (JSON for the API)."""
    with translation.override(translation.get_language_from_request(request)):
        if request.path.startswith("/api/"):
            body = json.dumps(error_body(CODE), ensure_ascii=False)
            response = HttpResponse(body, status=503, content_type="application/json")
        else:
            message = escape(str(message_for(CODE)))
            language = escape(translation.get_language() or "en")
            html = f'<!doctype html><html lang="{language}"><title>503</title><p role="alert">{message}</p>'
            response = HttpResponse(html, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_S)
    return response


class ReadYourWritesMiddleware:
    """With a replica: a caller's replica reads wait for their own last write (see topup.db.router)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not router.has_replica():
            return self.get_response(request)
        position = request.get_signed_cookie(
            WROTE_COOKIE, default="", salt=_COOKIE_SALT, max_age=router.WRITE_MEMORY_S
        )
        with router.must_see(str(position or "")):
            response = self.get_response(request)
        if request.method not in _SAFE and response.status_code < 500:
            try:
                wrote_at = router.primary_position()
            except Exception as exc:  # the answer is already made: later reads stay on the primary
                log.warning("could not read the primary's WAL position: %s", exc)
                return response
            response.set_signed_cookie(
                WROTE_COOKIE, wrote_at, salt=_COOKIE_SALT, max_age=router.WRITE_MEMORY_S,
                httponly=True, samesite="Lax", secure=request.is_secure(),
            )  # fmt: skip
        return response
