"""Usage records become a table partitioned by month of `start` on PostgreSQL (issue #13); SQLite: nothing.

The primary key becomes (id, start): a record resent (the same CDR) carries the same start, so it lands on
the same key and is still rated once. A record whose start is older than the partition retention is
refused (`usage_too_old`, services/usage), so a record resent after its month was detached cannot be
rated again. Moved as db/partition_moves says; nothing points at usage_record. Reversible.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

from topup.db import partition_moves

TABLE = "usage_record"


def partition(apps: Any, schema_editor: Any) -> None:
    partition_moves.partition(schema_editor.connection, TABLE, "start")


def unpartition(apps: Any, schema_editor: Any) -> None:
    partition_moves.unpartition(schema_editor.connection, TABLE)


class Migration(migrations.Migration):
    dependencies = [("topup", "0029_partition_ledger_transfers")]

    operations = [migrations.RunPython(partition, unpartition)]
