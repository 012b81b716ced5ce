"""Back-office pages for the books and the machinery: ledger accounts and transfers, jobs and the inbox of
webhook events. All read-only: ledger mistakes are fixed with reversing transfers, never by hand."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from topup.db.admin.base import ReadOnlyAdmin
from topup.db.models import Account, InboxEvent, Job, Transfer


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "name",
        "type",
        "debits_posted_money",
        "credits_posted_money",
        "debits_pending_money",
        "credits_pending_money",
        "no_overdraft",
    )
    list_filter = ("type", "currency")
    search_fields = ("id", "name")
    money_fields = {
        "debits_posted": "currency",
        "credits_posted": "currency",
        "debits_pending": "currency",
        "credits_pending": "currency",
    }


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "debit_account",
        "credit_account",
        "amount_minor_money",
        "status",
        "code",
        "order_id",
        "created_at",
    )
    list_filter = ("status", "code", "currency")
    search_fields = ("id", "order_id")
    money_fields = {"amount_minor": "currency"}
    ordering = ("-created_at",)


@admin.register(InboxEvent)
class InboxEventAdmin(ReadOnlyAdmin):
    """Verified webhook events as they arrived; the payload (it may carry personal data) is not shown."""

    list_display = ("provider", "event_id", "type", "outcome", "received_at", "processed_at")
    list_filter = ("provider", "outcome")
    search_fields = ("event_id",)
    hidden_fields = ("payload",)
    ordering = ("-received_at",)


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    """Status `dead`: every attempt failed (TOPUP_JOB_MAX_ATTEMPTS); requeue here or `topup jobs requeue`."""

    list_display = ("id", "kind", "subject_id", "status", "attempts", "run_after", "last_error", "created_at")
    list_filter = ("status", "kind")
    search_fields = ("id", "subject_id")
    hidden_fields = ("lease_token",)
    ordering = ("-created_at",)
    actions = ("requeue_dead",)

    def has_requeue_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("topup.change_job"))

    @admin.action(description=_("Requeue dead jobs (attempts reset)"), permissions=("requeue",))
    def requeue_dead(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        from topup.services.jobs import requeue  # noqa: PLC0415

        count = sum(requeue(job_id=job.id) for job in queryset.filter(status="dead"))
        self.message_user(
            request,
            ngettext("requeued %(count)d dead job", "requeued %(count)d dead jobs", count) % {"count": count},
        )
