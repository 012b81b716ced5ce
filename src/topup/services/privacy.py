"""GDPR tools and key rotation: everything we keep about a person, erasing it, re-sealing with a new key.

A person is found by a number (E.164) or an e-mail address, through the blind indexes only. Erasure
replaces the personal fields with the erased marker (and clears their indexes), deletes what exists only
for that person (preferences, codes, tokens, redemption counters), and keeps every amount, order, line
and ledger transfer whole; it is recorded in `Erasure` by blind index, and a second run finds nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.apps import apps
from django.contrib.sessions.models import Session
from django.db import models, transaction
from django.db.models import Q
from django.db.models.functions import Cast

from topup import crypto
from topup.db import models as db
from topup.db.fields import digest
from topup.db.resealing import reseal
from topup.domain.identifiers import parse_belgian_mobile
from topup.services.agent_customers import customer_index


@dataclass(frozen=True)
class Person:
    """Who to look for: numbers (E.164) and e-mail addresses, as their blind indexes and in clear."""

    numbers: tuple[str, ...]
    emails: tuple[str, ...]

    @classmethod
    def find(cls, *, msisdn: str | None = None, email: str | None = None) -> Person:
        numbers = [parse_belgian_mobile(msisdn)] if msisdn else []
        emails = [email.strip().lower()] if email else []
        if emails:  # the lines that gave this address
            prefs = db.LinePreference.objects.filter(email_index=digest(emails[0], "email"))
            numbers += [p.line_ref for p in prefs if p.line_ref]
        return cls(tuple(dict.fromkeys(numbers)), tuple(emails))

    @property
    def indexes(self) -> list[str]:
        return [digest(n, "msisdn") for n in self.numbers]

    @property
    def addresses(self) -> list[str]:
        return [digest(a, "address") for a in (*self.numbers, *self.emails)]

    def orders(self) -> Any:
        return db.Order.objects.filter(
            Q(msisdn_index__in=self.indexes) | Q(line__msisdn_index__in=self.indexes)
        )


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export(person: Person) -> dict[str, Any]:
    """Everything about `person`, as one JSON-ready document."""
    orders = person.orders().prefetch_related("payments", "events").order_by("created_at")
    lines = db.Line.objects.filter(msisdn_index__in=person.indexes).prefetch_related("bundles")
    prefs = db.LinePreference.objects.filter(
        Q(ref_index__in=person.indexes) | Q(email_index__in=[digest(e, "email") for e in person.emails])
    )
    notes = db.Notification.objects.filter(to_index__in=person.addresses).order_by("created_at")
    return {
        "numbers": list(person.numbers),
        "emails": list(person.emails),
        "orders": [_order(o) for o in orders],
        "lines": [_line(line) for line in lines],
        "preferences": [
            {
                "line": p.line_ref,
                "language": p.language,
                "email": p.email,
                "chosen": p.chosen,
                "reminders": p.reminders,
            }
            for p in prefs
        ],
        "notifications": [
            {
                "kind": n.kind,
                "channel": n.channel,
                "to": n.to,
                "status": n.status,
                "created_at": _when(n.created_at),
            }
            for n in notes
        ],
        "vouchers_redeemed": [
            {
                "serial": v.id,
                "plan": v.plan_id,
                "redeemed_at": _when(v.redeemed_at),
                "channel": v.channel,
                "order": v.order_id,
            }
            for v in db.Voucher.objects.filter(redeemed_by_index__in=person.indexes)
        ],
        "one_time_codes": db.OtpChallenge.objects.filter(
            Q(msisdn_index__in=person.indexes)
            | Q(email_index__in=[digest(e, "email") for e in person.emails])
        ).count(),
        "access_tokens": db.AccessToken.objects.filter(msisdn_index__in=person.indexes).count(),
        "erasures": [
            {"at": _when(e.at), "counts": e.counts}
            for e in db.Erasure.objects.filter(subject_index__in=person.indexes + person.addresses)
        ],
    }


def _order(order: db.Order) -> dict[str, Any]:
    return {
        "id": order.id, "status": order.status, "channel": order.channel, "msisdn": order.msisdn,
        "plan": order.plan_id, "network": order.network_id, "line": order.line_id, "iccid": order.iccid,
        "total_minor": order.total_minor, "currency": order.currency, "created_at": _when(order.created_at),
        "payments": [
            {"id": p.id, "method": p.method, "provider": p.provider, "status": p.status,
             "amount_minor": p.amount_minor, "refunded_minor": p.refunded_minor, "currency": p.currency}
            for p in order.payments.all()
        ],
        "history": [{"to": e.to_status, "code": e.code, "at": _when(e.at)} for e in order.events.all()],
    }  # fmt: skip


def _line(line: db.Line) -> dict[str, Any]:
    return {
        "id": line.id, "msisdn": line.msisdn, "iccid": line.iccid, "network": line.network_id,
        "credit_minor": line.credit_minor, "currency": line.currency, "language": line.language,
        "profile_state": line.profile_state, "created_at": _when(line.created_at),
        "bundles": [
            {"id": b.id, "plan": b.plan_id, "status": b.status, "data_kb": b.data_kb, "used_kb": b.used_kb,
             "expires_at": _when(b.expires_at)}
            for b in line.bundles.all()
        ],
    }  # fmt: skip


def _scrub(model: type[models.Model], field: str, needles: tuple[str, ...], *, drop: bool = False) -> int:
    """Rows whose sealed `field` mentions a needle: emptied (or deleted with `drop`). Reads every row."""
    found = []
    for pk, value in model._base_manager.values_list("pk", field).iterator():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if text and any(n in text for n in needles):
            found.append(pk)
    if drop:
        return int(model._base_manager.filter(pk__in=found).delete()[0])
    empty = None if model._meta.get_field(field).null else crypto.ERASED
    return int(model._base_manager.filter(pk__in=found).update(**{field: empty}))


def _needles(person: Person) -> tuple[str, ...]:
    national = tuple("0" + n[3:] for n in person.numbers if n.startswith("+32"))
    return (*person.numbers, *(n.lstrip("+") for n in person.numbers), *national, *person.emails)


def _erase_agent_rows(person: Person) -> dict[str, int]:
    """What the agent console keeps of a customer: the number of sales and goodwill, notes. The identity
    checks (document type and 4 characters, no number) stay: the operator must keep them (RD 27/11/2016)."""
    keys = [customer_index(n) for n in person.numbers]
    erased = crypto.ERASED
    return {
        "agent_sales": db.AgentSale.objects.filter(customer_index__in=keys).update(
            msisdn=erased, pay_link=""
        ),
        "agent_requests": db.AgentRequest.objects.filter(customer_index__in=keys).update(
            msisdn=erased, reason=erased
        ),
        "agent_notes": db.AgentNote.objects.filter(customer_index__in=keys).update(text=erased),
    }


def erase(person: Person, at: datetime) -> dict[str, int]:
    """Erase `person`'s personal fields everywhere (amounts and the ledger untouched); counts per table."""
    idx, erased = person.indexes, crypto.ERASED
    with transaction.atomic():
        orders = list(person.orders().values_list("id", flat=True))
        counts = {"orders": db.Order.objects.filter(id__in=orders).update(msisdn=erased, eid="")}
        for order in db.Order.objects.filter(id__in=orders):
            if order.quote.get("msisdn"):
                db.Order.objects.filter(id=order.id).update(quote={**order.quote, "msisdn": ""})
        counts["lines"] = db.Line.objects.filter(msisdn_index__in=idx).update(msisdn=erased, eid="")
        emails = [digest(e, "email") for e in person.emails]
        counts["preferences"] = db.LinePreference.objects.filter(
            Q(ref_index__in=idx) | Q(email_index__in=emails)
        ).delete()[0]
        counts["notifications"] = db.Notification.objects.filter(to_index__in=person.addresses).update(
            to=erased
        )
        counts["vouchers"] = db.Voucher.objects.filter(redeemed_by_index__in=idx).update(redeemed_by=erased)
        counts["one_time_codes"] = db.OtpChallenge.objects.filter(
            Q(msisdn_index__in=idx) | Q(email_index__in=emails)
        ).delete()[0]
        counts["access_tokens"] = db.AccessToken.objects.filter(msisdn_index__in=idx).delete()[0]
        attempt_keys = [f"line:{n}" for n in person.numbers]
        counts["redeem_attempts"] = db.RedeemAttempts.objects.filter(key__in=attempt_keys).delete()[0]
        counts.update(_erase_agent_rows(person))
        needles = _needles(person)
        counts["order_events"] = _scrub(db.OrderEvent, "detail", needles)
        counts["line_events"] = _scrub(db.LineEvent, "detail", needles)
        counts["jobs"] = _scrub(db.Job, "last_error", needles)
        counts["inbox_payloads"] = _scrub(db.InboxEvent, "payload", needles)
        counts["idempotency"] = _scrub(db.IdempotencyRecord, "response_body", needles, drop=True)
        for subject, purpose in [*((i, "msisdn") for i in idx), *((e, "email") for e in emails)]:
            if any(counts.values()) or not db.Erasure.objects.filter(subject_index=subject).exists():
                db.Erasure.objects.create(subject_index=subject, purpose=purpose, at=at, counts=counts)
    return counts


def rotate_keys(batch: int = 500) -> dict[str, int]:
    """Re-seal every value not sealed under the first key of TOPUP_DATA_KEYS; values rewritten per table."""
    # Every model of ours: `reseal` passes over those without a sealed or hashed column, so a new table
    # with personal data or a secret (a terminal's key, a PIN kept for reprints) is never forgotten.
    counts = {
        model._meta.db_table: reseal(model, batch) for model in apps.get_app_config("topup").get_models()
    }
    raw = Session.objects.annotate(raw=Cast("session_data", models.TextField())).values_list("pk", "raw")
    stale = [(pk, value) for pk, value in raw.iterator() if not crypto.is_current(value)]
    for pk, value in stale:
        Session.objects.filter(pk=pk).update(session_data=crypto.seal(crypto.open_sealed(value)))
    counts["django_session"] = len(stale)
    return counts
