"""Sign-in (password, then TOTP) and sign-out of the agent console."""

from __future__ import annotations

import time

from django.contrib.auth import login, logout
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from topup.channels.agent.guard import PENDING, SEEN, actor_of, render
from topup.channels.agent.messages import agent_message
from topup.channels.web.common import GENERAL
from topup.services import agent_auth
from topup.services.agent_audit import record


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "agent/sign_in.html", {})
    username = request.POST.get("username", "").strip()[:150]
    try:
        user_id = agent_auth.check_password(username, request.POST.get("password", ""))
    except agent_auth.SignInRefused as exc:
        # One wording for an unknown user and a wrong password; a locked account says so.
        code = "locked" if exc.code == "locked" else "sign_in_failed"
        return render(request, "agent/sign_in.html", {"errors": {GENERAL: agent_message(code)}}, status=400)
    request.session.cycle_key()
    request.session[PENDING] = {"user_id": user_id, "at": time.time()}
    return redirect("agent-totp")


@never_cache
@require_http_methods(["GET", "POST"])
def totp(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(PENDING)
    if not pending or time.time() - float(pending["at"]) > 300:
        request.session.pop(PENDING, None)
        return redirect("agent-sign-in")
    if request.method == "GET":
        return render(request, "agent/totp.html", {})
    try:
        agent_auth.check_totp(int(pending["user_id"]), request.POST.get("code", "")[:10])
    except agent_auth.SignInRefused as exc:
        if exc.code == "locked":
            request.session.pop(PENDING, None)
        return render(request, "agent/totp.html", {"errors": {GENERAL: agent_message(exc.code)}}, status=400)
    request.session.pop(PENDING, None)
    login(
        request, User.objects.get(id=pending["user_id"]), backend="django.contrib.auth.backends.ModelBackend"
    )
    request.session[SEEN] = time.time()
    return redirect("agent-home")


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        record(actor_of(request), "signed_out")
    logout(request)
    return redirect("agent-sign-in")
