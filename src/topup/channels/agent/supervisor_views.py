"""Requests (an agent's own; a supervisor's queue to approve or reject) and the audit log page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from topup.channels.agent.guard import actor_of, agent_view, errors_of, render
from topup.channels.web.common import money
from topup.db.models import AgentRequest
from topup.domain.agents import Role, role_allows
from topup.domain.errors import DomainError
from topup.domain.money import Money
from topup.services import agent_audit, agent_requests


def _rows(requests: list[AgentRequest]) -> list[dict[str, object]]:
    return [
        {"r": r, "amount": money(Money(r.amount_minor, r.currency)), "by": r.requested_by.username}
        for r in requests
    ]


@agent_view(Role.AGENT)
def my_requests(request: HttpRequest, role: Role) -> HttpResponse:
    mine = agent_requests.of_agent(actor_of(request).signed_in_id)
    return render(request, "agent/requests.html", {"rows": _rows(mine)})


@agent_view(Role.SUPERVISOR)
def approvals(request: HttpRequest, role: Role) -> HttpResponse:
    return render(request, "agent/approvals.html", {"rows": _rows(agent_requests.pending())})


@require_POST
@agent_view(Role.SUPERVISOR)
def decide(request: HttpRequest, role: Role, request_id: str) -> HttpResponse:
    try:
        agent_requests.decide(
            actor_of(request), role, request_id, approve=request.POST.get("decision") == "approve"
        )
    except DomainError as exc:
        rows = _rows(agent_requests.pending())
        return render(request, "agent/approvals.html", {"rows": rows, "errors": errors_of(exc)}, 409)
    return redirect("agent-approvals")


@agent_view(Role.AGENT)
def audit(request: HttpRequest, role: Role) -> HttpResponse:
    """Supervisors see every agent's actions; an agent sees their own."""
    everyone = role_allows(role, Role.SUPERVISOR)
    rows = agent_audit.entries(None if everyone else request.user.pk)
    count, broken = agent_audit.verify() if everyone else (len(rows), None)
    return render(
        request, "agent/audit.html", {"rows": rows, "everyone": everyone, "count": count, "broken": broken}
    )
