"""Jobs become a table partitioned by month of `created_at` on PostgreSQL (issue #13); their
once-per-(kind, subject) key moves to the narrow unpartitioned table `job_key` on both databases.

A partitioned table's unique keys must hold its partition key, and a job's subject (an order id,
"pay_link:ord_…", "<id>@<time>", a provider's event id) tells no time, so `job_once_per_subject` cannot stay
on `job`: `job_key` (kind, subject_id) -> job_id takes its place, filled here from the existing jobs and
written from now on in the same transaction as each job (services/jobs.add). The primary key of `job`
becomes (id, created_at); nothing points at it. Moved as db/partition_moves says. Reversible: `job` back
to one plain table with its unique constraint, `job_key` dropped.
"""

from __future__ import annotations

from typing import Any

import django.db.models.fields.composite
from django.db import migrations, models

from topup.db import partition_moves

TABLE = "job"


def fill_keys(apps: Any, schema_editor: Any) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("INSERT INTO job_key (kind, subject_id, job_id) SELECT kind, subject_id, id FROM job")


def partition(apps: Any, schema_editor: Any) -> None:
    partition_moves.partition(schema_editor.connection, TABLE, "created_at")


def unpartition(apps: Any, schema_editor: Any) -> None:
    partition_moves.unpartition(schema_editor.connection, TABLE)


class Migration(migrations.Migration):
    dependencies = [("topup", "0033_metrics_open_items")]

    operations = [
        migrations.CreateModel(
            name="JobKey",
            fields=[
                (
                    "pk",
                    django.db.models.fields.composite.CompositePrimaryKey(
                        "kind", "subject_id", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("kind", models.CharField(max_length=40)),
                ("subject_id", models.CharField(max_length=60)),
                ("job_id", models.CharField(max_length=40)),
            ],
            options={"db_table": "job_key"},
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="job", name="job_once_per_subject"),
        migrations.RunPython(partition, unpartition),
    ]
