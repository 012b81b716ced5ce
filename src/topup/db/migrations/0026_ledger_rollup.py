"""Ledger roll-up (issue #12): transfers flagged until folded into append-only accounts' totals, a partial
index per side on the flagged ones; and the money of every per-order in-flight account moved, per order,
onto the one orders-in-flight account (the per-order accounts stay as history, at zero)."""

from datetime import UTC, datetime
from typing import Any

from django.db import migrations, models
from django.db.models import F, Q

SHARED = "orders_in_flight:{currency}"


def move_orders_in_flight(apps: Any, schema_editor: Any) -> None:
    """Each per-order account that still holds money gives it to the shared account under its order's id,
    by a posted transfer applied to both accounts' totals (so it waits for no roll-up)."""
    account = apps.get_model("topup", "Account")
    transfer = apps.get_model("topup", "Transfer")
    at = datetime.now(UTC)
    for old in account.objects.filter(id__startswith="in_flight:").exclude(credits_posted=F("debits_posted")):
        held = old.credits_posted - old.debits_posted
        sides = Q(debit_account_id=old.id) | Q(credit_account_id=old.id)
        order_id = (
            transfer.objects.filter(sides, order_id__isnull=False).values_list("order_id", flat=True).first()
            or old.id.split(":")[1]
        )
        shared, _ = account.objects.get_or_create(
            id=SHARED.format(currency=old.currency),
            defaults={"name": "Orders in flight", "type": "liability", "currency": old.currency},
        )
        debit, credit = (old, shared) if held > 0 else (shared, old)
        transfer.objects.create(
            id=f"{old.id}:moved", debit_account_id=debit.id, credit_account_id=credit.id,
            amount_minor=abs(held), currency=old.currency, status="posted", code="in_flight_moved",
            order_id=order_id, metadata={}, created_at=at, resolved_at=at, rollup_pending=False,
        )  # fmt: skip
        account.objects.filter(id=debit.id).update(debits_posted=F("debits_posted") + abs(held))
        account.objects.filter(id=credit.id).update(credits_posted=F("credits_posted") + abs(held))


class Migration(migrations.Migration):
    dependencies = [
        ("topup", "0025_usage_fast_inserts"),
    ]

    operations = [
        migrations.AddField(
            model_name="transfer",
            name="rollup_pending",
            field=models.BooleanField(default=False, verbose_name="roll-up pending"),
        ),
        migrations.AddIndex(
            model_name="transfer",
            index=models.Index(
                condition=models.Q(("rollup_pending", True)),
                fields=["debit_account"],
                name="transfer_unrolled_debit",
            ),
        ),
        migrations.AddIndex(
            model_name="transfer",
            index=models.Index(
                condition=models.Q(("rollup_pending", True)),
                fields=["credit_account"],
                name="transfer_unrolled_credit",
            ),
        ),
        migrations.RunPython(move_orders_in_flight, migrations.RunPython.noop),
    ]
