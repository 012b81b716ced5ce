"""The agent console: profiles, notes, sales, identity checks, requests, and the append-only audit log.

The audit table refuses UPDATE and DELETE by triggers on both databases. On SQLite a test database still
has to be emptied between tests: a DELETE passes only while the (unmanaged) table `agent_audit_unlock`
holds a row, which no code of the platform writes. On PostgreSQL, TRUNCATE (the table owner's, used by
test flushes) bypasses row triggers: the platform's role in production should not own the table.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import topup.db.fields

SQLITE = [
    "CREATE TABLE agent_audit_unlock (flag INTEGER NOT NULL)",
    "CREATE TRIGGER agent_audit_no_update BEFORE UPDATE ON agent_audit "
    "BEGIN SELECT RAISE(ABORT, 'agent_audit is append-only'); END",
    "CREATE TRIGGER agent_audit_no_delete BEFORE DELETE ON agent_audit "
    "WHEN NOT EXISTS (SELECT 1 FROM agent_audit_unlock) "
    "BEGIN SELECT RAISE(ABORT, 'agent_audit is append-only'); END",
]
SQLITE_REVERSE = [
    "DROP TRIGGER agent_audit_no_delete",
    "DROP TRIGGER agent_audit_no_update",
    "DROP TABLE agent_audit_unlock",
]
POSTGRESQL = [
    "CREATE FUNCTION agent_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'agent_audit is append-only'; END $$",
    "CREATE TRIGGER agent_audit_append_only BEFORE UPDATE OR DELETE ON agent_audit "
    "FOR EACH ROW EXECUTE FUNCTION agent_audit_refuse()",
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER agent_audit_append_only ON agent_audit",
    "DROP FUNCTION agent_audit_refuse()",
]


class RunSqlPerVendor(migrations.RunSQL):
    """RunSQL whose statements depend on the database: SQLite and PostgreSQL triggers differ."""

    def __init__(self, forwards: dict[str, list[str]], backwards: dict[str, list[str]]) -> None:
        super().__init__(sql="", reverse_sql="")
        self.forwards, self.backwards = forwards, backwards

    def deconstruct(self):  # type: ignore[no-untyped-def]
        return (self.__class__.__name__, [self.forwards, self.backwards], {})

    def database_forwards(self, app_label, schema_editor, from_state, to_state):  # type: ignore[no-untyped-def]
        for statement in self.forwards.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement, params=None)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):  # type: ignore[no-untyped-def]
        for statement in self.backwards.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("topup", "0015_kiosk"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditEntry",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("at", models.DateTimeField()),
                ("actor", models.CharField(max_length=150)),
                ("actor_id", models.BigIntegerField(blank=True, db_index=True, null=True)),
                ("action", models.CharField(max_length=30)),
                ("subject", models.CharField(blank=True, default="", max_length=80)),
                ("detail", models.CharField(blank=True, default="", max_length=300)),
                ("prev_hash", models.CharField(max_length=64, unique=True)),
                ("hash", models.CharField(max_length=64, unique=True)),
            ],
            options={
                "db_table": "agent_audit",
                "ordering": ["id"],
            },
        ),
        migrations.CreateModel(
            name="AgentNote",
            fields=[
                ("id", models.CharField(max_length=40, primary_key=True, serialize=False)),
                ("customer_index", models.CharField(db_index=True, max_length=64)),
                ("text", topup.db.fields.EncryptedTextField()),
                ("created_at", models.DateTimeField()),
                (
                    "author",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "db_table": "agent_note",
            },
        ),
        migrations.CreateModel(
            name="AgentProfile",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("role", models.CharField(max_length=12)),
                ("refund_limit_minor", models.BigIntegerField(default=0)),
                ("currency", models.CharField(default="EUR", max_length=3)),
                ("counter", models.CharField(default="main", max_length=40)),
                ("totp_secret", topup.db.fields.EncryptedTextField()),
                ("totp_last_step", models.BigIntegerField(default=0)),
                ("failed_attempts", models.PositiveIntegerField(default=0)),
                ("locked_until", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField()),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="agent",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "db_table": "agent_profile",
            },
        ),
        migrations.CreateModel(
            name="AgentSale",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("customer_index", models.CharField(db_index=True, max_length=64)),
                ("msisdn", topup.db.fields.EncryptedTextField(blank=True, default="")),
                ("method", models.CharField(max_length=10)),
                ("counter", models.CharField(blank=True, default="", max_length=40)),
                ("pay_link", topup.db.fields.EncryptedTextField(blank=True, default="")),
                ("attempt", models.CharField(blank=True, default="", max_length=60)),
                ("created_at", models.DateTimeField()),
                (
                    "agent",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "order",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="agent_sale",
                        to="topup.order",
                    ),
                ),
            ],
            options={
                "db_table": "agent_sale",
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("attempt", ""), _negated=True),
                        fields=("agent", "attempt"),
                        name="agent_sale_attempt_once",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="IdentityCheck",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("document_type", models.CharField(max_length=20)),
                ("document_last4", topup.db.fields.EncryptedTextField()),
                ("nationality", models.CharField(blank=True, default="", max_length=2)),
                ("checked_at", models.DateTimeField()),
                (
                    "checked_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "order",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="identity_check",
                        to="topup.order",
                    ),
                ),
            ],
            options={
                "db_table": "identity_check",
            },
        ),
        migrations.CreateModel(
            name="AgentRequest",
            fields=[
                ("id", models.CharField(max_length=40, primary_key=True, serialize=False)),
                ("kind", models.CharField(max_length=10)),
                ("status", models.CharField(max_length=10)),
                ("customer_index", models.CharField(db_index=True, max_length=64)),
                ("amount_minor", models.BigIntegerField()),
                ("currency", models.CharField(default="EUR", max_length=3)),
                ("reason", topup.db.fields.EncryptedTextField(blank=True, default="")),
                ("outcome", models.CharField(blank=True, default="", max_length=60)),
                ("created_at", models.DateTimeField()),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
                ("executed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                ("plan_id", models.CharField(blank=True, default="", max_length=40)),
                ("msisdn", topup.db.fields.EncryptedTextField(blank=True, default="")),
                (
                    "line",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="topup.line",
                    ),
                ),
                (
                    "order",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="topup.order",
                    ),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "db_table": "agent_request",
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(
                            ("kind", "refund"),
                            models.Q(("status__in", ["rejected", "failed"]), _negated=True),
                        ),
                        fields=("order",),
                        name="agent_refund_once",
                    )
                ],
            },
        ),
        RunSqlPerVendor(
            {"sqlite": SQLITE, "postgresql": POSTGRESQL},
            {"sqlite": SQLITE_REVERSE, "postgresql": POSTGRESQL_REVERSE},
        ),
    ]
