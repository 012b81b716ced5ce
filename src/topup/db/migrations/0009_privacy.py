"""Personal data at rest: encrypted columns with blind indexes, hashed client addresses, erasure records.

Schema first (new index columns, text columns for sealed values, line_preference keyed by a blind
index), then the data: every value stored in clear so far is sealed under the first TOPUP_DATA_KEYS key
and its blind index filled, and stored sessions are sealed too.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models

import topup.db.fields
from topup import crypto
from topup.db.resealing import reseal

PERSONAL = (
    "AccessToken", "IdempotencyRecord", "InboxEvent", "Job", "Line", "LineEvent", "Notification", "Order",
    "OrderEvent", "OtpChallenge", "RedeemAttempts", "Voucher",
)  # fmt: skip


def _copy_preferences(apps: Any, schema_editor: Any) -> None:
    old, new = apps.get_model("topup", "LinePreferenceOld"), apps.get_model("topup", "LinePreference")
    rows = [
        new(line_ref=p.line_ref, language=p.language, email=p.email, chosen=p.chosen, updated_at=p.updated_at)
        for p in old.objects.all()
    ]
    new.objects.bulk_create(rows, batch_size=500)
    _checks_now(schema_editor)


def _seal_everything(apps: Any, schema_editor: Any) -> None:
    for name in PERSONAL:
        reseal(apps.get_model("topup", name))
    session = apps.get_model("sessions", "Session")
    for row in session.objects.all().iterator():
        if crypto.key_id_of(row.session_data) is None:
            session.objects.filter(pk=row.pk).update(session_data=crypto.seal(row.session_data))
    _checks_now(schema_editor)


def _checks_now(schema_editor: Any) -> None:
    """PostgreSQL: run the deferred foreign-key checks of the rows just written, so that the indexes
    Django creates at the end of this migration do not meet "pending trigger events"."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _index(**kwargs: Any) -> topup.db.fields.BlindIndexField:
    return topup.db.fields.BlindIndexField(blank=True, default="", **kwargs)


class Migration(migrations.Migration):
    dependencies = [
        ("topup", "0008_gateways"),
        ("sessions", "0001_initial"),
    ]

    operations = [
        # line_preference was keyed by the number itself: a new table keyed by its blind index.
        migrations.RenameModel("LinePreference", "LinePreferenceOld"),
        migrations.AlterModelTable("LinePreferenceOld", "line_preference_old"),
        migrations.CreateModel(
            name="LinePreference",
            fields=[
                ("line_ref", topup.db.fields.EncryptedTextField()),
                (
                    "ref_index",
                    topup.db.fields.BlindIndexField(primary_key=True, serialize=False, source="line_ref"),
                ),
                ("language", models.CharField(default="en", max_length=10)),
                ("email", topup.db.fields.EncryptedTextField(blank=True, default="")),
                ("email_index", _index(db_index=True, purpose="email", source="email")),
                ("chosen", models.BooleanField(default=False)),
                ("updated_at", models.DateTimeField()),
            ],
            options={"db_table": "line_preference"},
        ),
        migrations.RunPython(_copy_preferences, migrations.RunPython.noop),
        migrations.DeleteModel("LinePreferenceOld"),
        migrations.CreateModel(
            name="Erasure",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("subject_index", models.CharField(db_index=True, max_length=64)),
                ("purpose", models.CharField(max_length=10)),
                ("at", models.DateTimeField()),
                ("counts", models.JSONField(default=dict)),
            ],
            options={"db_table": "privacy_erasure", "ordering": ["at", "id"]},
        ),
        migrations.RemoveIndex(model_name="otpchallenge", name="otp_by_line"),
        migrations.AddField("accesstoken", "msisdn_index", _index(db_index=True, source="msisdn")),
        migrations.AddField(
            "line",
            "msisdn_index",
            topup.db.fields.BlindIndexField(blank=True, null=True, source="msisdn", unique=True),
        ),
        migrations.AddField(
            "notification", "to_index", _index(db_index=True, purpose="address", source="to")
        ),
        migrations.AddField("order", "msisdn_index", _index(db_index=True, source="msisdn")),
        migrations.AddField("otpchallenge", "msisdn_index", _index(source="msisdn")),
        migrations.AddField("voucher", "redeemed_by_index", _index(db_index=True, source="redeemed_by")),
        migrations.AlterField("accesstoken", "msisdn", topup.db.fields.EncryptedTextField()),
        migrations.AlterField(
            "idempotencyrecord", "response_body", topup.db.fields.EncryptedJSONField(default=dict)
        ),
        migrations.AlterField("inboxevent", "payload", topup.db.fields.EncryptedJSONField(null=True)),
        migrations.AlterField(
            "job", "last_error", topup.db.fields.EncryptedTextField(blank=True, default="")
        ),
        migrations.AlterField("line", "msisdn", topup.db.fields.EncryptedTextField(blank=True, null=True)),
        migrations.AlterField("line", "eid", topup.db.fields.EncryptedTextField(blank=True, default="")),
        migrations.AlterField("order", "eid", topup.db.fields.EncryptedTextField(blank=True, default="")),
        migrations.AlterField(
            "lineevent", "detail", topup.db.fields.EncryptedTextField(blank=True, default="")
        ),
        migrations.AlterField("notification", "to", topup.db.fields.EncryptedTextField()),
        migrations.AlterField("order", "msisdn", topup.db.fields.EncryptedTextField(blank=True, default="")),
        migrations.AlterField("order", "quote", topup.db.fields.EncryptedJSONField()),
        migrations.AlterField(
            "orderevent", "detail", topup.db.fields.EncryptedTextField(blank=True, default="")
        ),
        migrations.AlterField(
            "otpchallenge", "ip", topup.db.fields.HashedField(blank=True, null=True, purpose="ip")
        ),
        migrations.AlterField("otpchallenge", "msisdn", topup.db.fields.EncryptedTextField()),
        migrations.AlterField(
            "redeemattempts", "key", topup.db.fields.HashedField(purpose="redeem_attempts", unique=True)
        ),
        migrations.AlterField(
            "voucher", "redeemed_by", topup.db.fields.EncryptedTextField(blank=True, default="")
        ),
        migrations.AddIndex(
            model_name="otpchallenge",
            index=models.Index(fields=["msisdn_index", "created_at"], name="otp_by_line"),
        ),
        migrations.RunPython(_seal_everything, migrations.RunPython.noop),
    ]
