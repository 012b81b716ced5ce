"""Usage rows insert faster on PostgreSQL: no foreign-key check per row, no `varchar_pattern_ops` copies.

Django adds a `LIKE` index beside every indexed varchar on PostgreSQL; nothing searches usage ids or line
ids by prefix, and each index is one more insert per usage row. The btree on `line_id` stays.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

LIKE_INDEXES = ("usage_record_id_17a743f5_like", "usage_record_line_id_c5321225_like")


def drop_like_indexes(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for name in LIKE_INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):
    dependencies = [
        ("topup", "0024_push_partner_hooks"),
    ]

    operations = [
        migrations.AlterField(
            model_name="usagerow",
            name="line",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="topup.line",
            ),
        ),
        migrations.RunPython(drop_like_indexes, migrations.RunPython.noop),
    ]
