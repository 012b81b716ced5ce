"""Who is at the console: the session after both factors, the role each view needs, the idle timeout,
the language switch, and rendering with errors in the agent's language.

A session holds `agent_pending` after the password only (it opens nothing but the TOTP page), and a
Django login after the TOTP. Every console view is wrapped by `agent_view(role)`: no login or an idle
session → the sign-in page; a role below the view's → 403, audited.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from functools import wraps

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache

from topup.channels.agent.messages import agent_message
from topup.channels.web.common import GENERAL, page
from topup.domain.agents import Role, role_allows
from topup.domain.errors import DomainError
from topup.services import agent_auth
from topup.services.agent_audit import Actor, record
from topup.settings import CONFIG

SEEN = "agent_seen_at"
PENDING = "agent_pending"
CUSTOMER = "agent_customer"  # the customer being served (their number stays in the sealed session)
View = Callable[..., HttpResponse]


def actor_of(request: HttpRequest) -> Actor:
    return Actor(request.user.pk, request.user.get_username())


def role_of(request: HttpRequest) -> Role | None:
    return agent_auth.role_of(request.user.pk) if request.user.is_authenticated else None


def agent_view(needed: Role) -> Callable[[View], View]:
    """Let the request through only for a signed-in (both factors), active agent with at least `needed`."""

    def wrap(view: View) -> View:
        @wraps(view)
        @never_cache
        def guarded(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            role = role_of(request)
            last_seen = float(request.session.get(SEEN, 0))
            if role is None or time.time() - last_seen > CONFIG.agent_idle_s:
                if request.user.is_authenticated:
                    record(actor_of(request), "session_expired")
                logout(request)
                return redirect("agent-sign-in")
            request.session[SEEN] = time.time()
            if not role_allows(role, needed):
                record(actor_of(request), "forbidden", request.path[:80])
                return HttpResponseForbidden(agent_message("forbidden_role"))
            return view(request, role, *args, **kwargs)

        return guarded

    return wrap


def errors_of(exc: DomainError) -> dict[str, str]:
    return {exc.field or GENERAL: agent_message(exc.code)}


def render(
    request: HttpRequest, template: str, context: Mapping[str, object], status: int = 200
) -> HttpResponse:
    """A console page in the agent's language (`?lang=` switches and is remembered)."""
    role = role_of(request)
    base = {
        "role": role.value if role else "",
        "is_supervisor": bool(role and role_allows(role, Role.SUPERVISOR)),
    }
    return page(request, template, {**base, **context}, status=status)
