"""What staff do to the chaos platform's database, run as `python -m topup.chaos.staff` in its environment.

    plan PLAN_ID active|inactive   switch a plan on or off, as the back office does (the ORM)
    snapshot                       print the final books as one JSON object: orders, payments, vouchers,
                                   jobs, the trial balance and the in-flight accounts

A separate process because the runner's own settings were read before it chose the database.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from topup.process import start_django


def _setup() -> None:
    start_django()


def set_plan(plan_id: str, active: bool) -> int:
    from topup.db.models import PlanRecord  # noqa: PLC0415

    return PlanRecord.objects.filter(id=plan_id).update(active=active)


def snapshot() -> dict[str, Any]:
    from django.db.models import Count  # noqa: PLC0415

    from topup.db import ledger  # noqa: PLC0415
    from topup.db.models import Job, Order, Payment, Voucher  # noqa: PLC0415

    orders = [
        {
            "id": o.id, "status": o.status, "channel": o.channel, "plan_id": o.plan_id,
            "network": o.network_id, "msisdn": o.msisdn, "iccid": o.iccid,
            "total_minor": o.total_minor, "face_minor": _face_value(o.quote),
            "failure_code": o.failure_code,
            "deadline": o.delivery_deadline.isoformat() if o.delivery_deadline else None,
        }
        for o in Order.objects.order_by("created_at", "id")
    ]  # fmt: skip
    payments = list(
        Payment.objects.values(
            "id", "order_id", "provider", "status", "provider_ref", "amount_minor", "refunded_minor"
        )
    )
    vouchers = list(Voucher.objects.values("id", "state", "order_id", "redeemed_by"))
    jobs = {
        f"{row['kind']}:{row['status']}": row["n"]
        for row in Job.objects.values("kind", "status").annotate(n=Count("id"))
    }
    in_flight = [{"id": order_id, "held": held} for order_id, held in ledger.orders_holding().items()]
    trial = [
        {"currency": t.currency, "debits": t.debits_minor, "credits": t.credits_minor, "balanced": t.balanced}
        for t in ledger.trial_balance()
    ]
    return {
        "orders": orders, "payments": payments, "vouchers": vouchers, "jobs": jobs,
        "in_flight": in_flight, "trial_balance": trial,
    }  # fmt: skip


def _face_value(quote: object) -> int | None:
    face = quote.get("face_value") if isinstance(quote, dict) else None
    amount = face.get("amount_minor") if isinstance(face, dict) else None
    return int(amount) if isinstance(amount, int | str) else None


def main(argv: list[str]) -> None:
    _setup()
    if argv[:1] == ["plan"] and len(argv) == 3 and argv[2] in {"active", "inactive"}:
        sys.stdout.write(f"{set_plan(argv[1], argv[2] == 'active')}\n")
    elif argv == ["snapshot"]:
        sys.stdout.write(json.dumps(snapshot(), default=str) + "\n")
    else:
        raise SystemExit("usage: python -m topup.chaos.staff plan PLAN_ID active|inactive | snapshot")


if __name__ == "__main__":
    main(sys.argv[1:])
