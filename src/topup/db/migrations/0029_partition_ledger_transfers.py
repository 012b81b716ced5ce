"""Ledger transfers become a table partitioned by month of `booked_at` on PostgreSQL (issue #13); SQLite gets
the column only.

`booked_at` is the time of the ULID that starts the transfer's id (domain.ledger.booked_at): a function
of the id, so the primary key (id, booked_at) that PostgreSQL needs (a partitioned table's unique keys
hold its partition key) is exactly as unique as the id, and a retried posting still posts once. Rows
written before this migration get the same value; one whose id does not start with an id of ours (none
is written by the code, and new ones are refused) keeps its creation time instead.

The table is moved as migration 0028 moved order events (db/partition_moves). Nothing points at
ledger_transfer. Reversible: back to one plain table keyed by id, the column dropped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import migrations, models

from topup.db import partition_moves
from topup.domain.errors import LedgerError
from topup.domain.ledger import booked_at

TABLE = "ledger_transfer"
_BATCH = 1000


def fill_booked_at(apps: Any, schema_editor: Any) -> None:
    transfer = apps.get_model("topup", "Transfer")
    rows = transfer.objects.using(schema_editor.connection.alias).order_by("id")
    batch: list[Any] = []
    for row in rows.only("id", "created_at").iterator(chunk_size=_BATCH):
        try:
            row.booked_at = booked_at(row.id)
        except LedgerError:
            row.booked_at = row.created_at
        batch.append(row)
        if len(batch) == _BATCH:
            transfer.objects.bulk_update(batch, ["booked_at"])
            batch = []
    transfer.objects.bulk_update(batch, ["booked_at"])


def partition(apps: Any, schema_editor: Any) -> None:
    partition_moves.partition(schema_editor.connection, TABLE, "booked_at")


def unpartition(apps: Any, schema_editor: Any) -> None:
    partition_moves.unpartition(schema_editor.connection, TABLE)


class Migration(migrations.Migration):
    dependencies = [("topup", "0028_partition_order_events")]

    operations = [
        migrations.AddField(
            model_name="transfer",
            name="booked_at",
            field=models.DateTimeField(default=datetime(1970, 1, 1, tzinfo=UTC), verbose_name="booked at"),
            preserve_default=False,
        ),
        migrations.RunPython(fill_booked_at, migrations.RunPython.noop),
        migrations.RunPython(partition, unpartition),
    ]
