"""Fewer indexes to write on the hot tables, one index that placement's read lacked (issue #12).

Django gives every indexed text column on PostgreSQL a second index, `<name>_like` (varchar_pattern_ops),
for `LIKE 'prefix%'` lookups. Equality uses either index, so for columns that no query matches by prefix
the twin is only written: on every insert and every update that is not HOT. This drops the twins on the
tables each top-up writes (no `startswith` on these columns in the code, and the admin's searches are
`icontains`, which neither index serves). The two on ledger_transfer's account columns stay: the
reconciliation matches account ids by prefix. SQLite has no such indexes: nothing to do there.
"""

from typing import Any

from django.db import migrations, models

# (table, column, index name): the names Django gave these indexes, the same on every database.
UNREAD_LIKE_INDEXES = [
    ("job", "id", "job_id_5241c360_like"),
    ("ledger_transfer", "id", "ledger_transfer_id_aba10f8e_like"),
    ("ledger_transfer", "order_id", "ledger_transfer_order_id_9a09448d_like"),
    ("notification", "id", "notification_id_2ec17b22_like"),
    ("notification", "to_index", "notification_to_index_20e036bb_like"),
    ("order", "email_index", "order_email_index_684b5072_like"),
    ("order", "id", "order_id_08d25c66_like"),
    ("order", "line_id", "order_line_id_228b4d4c_like"),
    ("order", "msisdn_index", "order_msisdn_index_68c580c5_like"),
    ("order", "network_id", "order_network_id_4ac9978d_like"),
    ("order", "plan_id", "order_plan_id_0193336e_like"),
    ("order_event", "order_id", "order_event_order_id_0637b363_like"),
    ("payment", "id", "payment_id_8bcee413_like"),
    ("payment", "order_id", "payment_order_id_98f7562d_like"),
    ("promotion_redemption", "campaign_id", "promotion_redemption_campaign_id_b3a56eed_like"),
    ("promotion_redemption", "id", "promotion_redemption_id_65bda078_like"),
    ("promotion_redemption", "order_id", "promotion_redemption_order_id_3f37d955_like"),
]


def drop_like_indexes(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for _table, _column, name in UNREAD_LIKE_INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


def create_like_indexes(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, column, name in UNREAD_LIKE_INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}" varchar_pattern_ops)'
        )


class Migration(migrations.Migration):
    dependencies = [("topup", "0026_ledger_rollup")]

    operations = [
        migrations.RunPython(drop_like_indexes, create_like_indexes),
        migrations.AddIndex(
            model_name="redemption",
            index=models.Index(
                condition=models.Q(("counted", True)),
                fields=["customer_index"],
                name="redemption_counted_customer",
            ),
        ),
    ]
