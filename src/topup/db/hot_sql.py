"""The few statements of the hot path the ORM cannot say in one: an insert that skips a duplicate and says
whether it wrote (`INSERT … ON CONFLICT DO NOTHING RETURNING`), a guarded update that hands back the rows it
moved (`UPDATE … WHERE <guard> RETURNING *`), an order read with its payments and history as JSON
subqueries, and the network of a number's last delivered order (the ORM would build that query again for
every balance check, ~0.4 ms of CPU, more than the database spends on it). All run on PostgreSQL and on
SQLite ≥ 3.35 (the only vendor-specific part is the JSON functions).

Writes are built by Django's own compilers (values sealed, indexed and adapted as `save()` and `update()`
would) and read back through `raw()`, so that every field's converter (decryption, dates) applies.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from django.db import connection, models
from django.db.models import BooleanField, TextField, sql
from django.db.models.expressions import RawSQL

from topup.db.fields import EncryptedTextField
from topup.db.models import Order, Payment

M = TypeVar("M", bound=models.Model)


@functools.cache
def _columns(model: type[models.Model], vendor: str) -> str:
    """The model's columns, quoted for `vendor` (built once per process: every webhook asks twice)."""
    quote = connection.ops.quote_name
    return ", ".join(quote(str(f.column)) for f in model._meta.concrete_fields)


def insert_new(row: M) -> bool:
    """Insert `row` unless a unique constraint already holds its twin: True when this call wrote it (its
    generated primary key is then set on `row`), False for a duplicate. No savepoint, no error to catch."""
    written = insert_missing([row])
    if not written:
        return False
    pk = row._meta.pk
    assert pk is not None
    setattr(row, pk.attname, written[0])
    return True


def insert_missing(rows: Sequence[M]) -> list[Any]:
    """Insert those of `rows` (one model) whose twin no unique constraint already holds, in one statement
    (`INSERT … ON CONFLICT DO NOTHING RETURNING pk`): the primary keys this call wrote, in no set order."""
    if not rows:
        return []
    meta = rows[0]._meta
    fields = [f for f in meta.concrete_fields if not (f.primary_key and isinstance(f, models.AutoField))]
    query = sql.InsertQuery(type(rows[0]), on_conflict=None)
    query.insert_values(fields, list(rows))
    compiler = query.get_compiler(connection=connection)
    [(statement, params)] = compiler.as_sql()
    pk = meta.pk
    assert pk is not None
    statement += f" ON CONFLICT DO NOTHING RETURNING {connection.ops.quote_name(str(pk.column))}"
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return [written[0] for written in cursor.fetchall()]


def update_returning(queryset: models.QuerySet[M], **values: Any) -> list[M]:
    """`queryset.update(**values)`, handing back the rows it changed as they are now (none when the guard in
    the queryset's filter no longer holds: someone else got there first)."""
    query = queryset.query.chain(sql.UpdateQuery)
    assert isinstance(query, sql.UpdateQuery)
    query.add_update_values(values)
    statement, params = query.get_compiler(connection=connection).as_sql()
    model = queryset.model
    returning = _columns(model, connection.vendor)
    return _returning(model, f"{statement} RETURNING {returning}", params)


def _returning(model: type[M], statement: str, params: Sequence[Any]) -> list[M]:
    """The rows `statement` hands back (all of `model`'s columns, in `_columns`'s order) as instances."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        rows: Iterable[list[Any]] = [list(row) for row in cursor.fetchall()]
    if not rows:
        return []
    # Read back as `raw()` would (the fields' converters, then `from_db`), without its matching of the
    # cursor's columns to fields: they are the model's concrete fields in order (~0.4 ms less per call).
    names, columns = _concrete(model)
    compiler = connection.ops.compiler("SQLCompiler")(sql.Query(model), connection, connection.alias)
    converters = compiler.get_converters(columns)
    if converters:
        rows = compiler.apply_converters(rows, converters)
    return [model.from_db(connection.alias, names, values) for values in rows]


_ORDER_PAID = (
    'UPDATE "order" SET "status" = %s, "updated_at" = %s, "delivery_deadline" = %s, '
    '"current_payment_id" = %s WHERE "id" = %s AND "status" = %s RETURNING '
)


def order_paid(order_id: str, payment_id: str, at: datetime, deadline: datetime) -> Order | None:
    """`update_returning(Order.objects.filter(id=order_id, status="awaiting_payment"), status="paid",
    updated_at=at, delivery_deadline=deadline, current_payment_id=payment_id)`, written once (the webhook's
    order move; the ORM would build it again each time): the order as it is now, or None."""
    adapt = connection.ops.adapt_datetimefield_value
    params = ["paid", adapt(at), adapt(deadline), payment_id, order_id, "awaiting_payment"]
    moved = _returning(Order, _ORDER_PAID + _columns(Order, connection.vendor), params)
    return moved[0] if moved else None


@functools.cache
def _concrete(model: type[models.Model]) -> tuple[list[str], list[Any]]:
    """The model's concrete fields' attribute names and columns, in `_columns`'s order."""
    fields = model._meta.concrete_fields
    return [f.attname for f in fields], [f.get_col(model._meta.db_table) for f in fields]


_INBOX_PROCESSED = 'UPDATE "inbox_event" SET "processed_at" = %s, "outcome" = %s WHERE "id" = %s'


def inbox_processed(inbox_pk: int, at: datetime, outcome: str) -> None:
    """`InboxEvent.objects.filter(pk=inbox_pk).update(processed_at=at, outcome=outcome)`, written once: the
    ORM would build it again for every webhook (~0.3 ms of CPU)."""
    with connection.cursor() as cursor:
        cursor.execute(_INBOX_PROCESSED, [connection.ops.adapt_datetimefield_value(at), outcome, inbox_pk])


def reference_free(provider: str, provider_ref: str) -> RawSQL:
    """A filter on payments: no other payment of `provider` holds `provider_ref` (the unique pair), so the
    row may take it in the same UPDATE. Raw SQL because the ORM's `~Exists(...)` costs the web about half
    a millisecond of compiling per webhook; the names are constants, the values are parameters."""
    table = connection.ops.quote_name(Payment._meta.db_table)
    held = (
        f"SELECT 1 FROM {table} held "  # noqa: S608 (a constant table name; the values are parameters)
        f"WHERE held.provider = %s AND held.provider_ref = %s AND held.id <> {table}.id"
    )
    return RawSQL(f"NOT EXISTS ({held})", (provider, provider_ref), output_field=BooleanField())  # noqa: S611


_LAST_DELIVERED_NETWORK = (
    'SELECT network_id FROM "order" WHERE msisdn_index = %s AND status = %s ORDER BY updated_at DESC LIMIT 1'
)
_MSISDN = Order._meta.get_field("msisdn")
assert isinstance(_MSISDN, EncryptedTextField)
_MSISDN_INDEX = _MSISDN.index_field()  # the blind index column `msisdn_index` named in the statement


def last_delivered_network(e164: str) -> str | None:
    """The network id of the number's most recently updated delivered order, found by its blind index
    (as `Order.objects.filter(msisdn=…, status="delivered").order_by("-updated_at")` finds it)."""
    with connection.cursor() as cursor:
        cursor.execute(_LAST_DELIVERED_NETWORK, [_MSISDN_INDEX.digest(e164) or "", "delivered"])
        row = cursor.fetchone()
    return None if row is None else str(row[0])


_PAYMENT_KEYS = (
    "id", "attempt", "provider", "method", "status", "failure_code", "checkout_url", "next_action_kind",
    "next_action_url", "qr_data", "instructions_url", "refunded_minor", "currency", "refund_status",
)  # fmt: skip
_EVENT_KEYS = ("from_status", "to_status", "code", "at")


def _json_rows(table: str, keys: tuple[str, ...], order_by: tuple[str, ...]) -> RawSQL:
    """The rows of `table` belonging to the order being read, as one JSON array text (a correlated
    subquery: the read stays one statement). Only plain (not encrypted) columns may be named here."""
    pairs = ", ".join(f"'{key}', t.{key}" for key in keys)
    outer = '"order"."id"'
    ordered = ", ".join(f"t.{column}" for column in order_by)
    # Every name here is a constant of this module (no input reaches this SQL): hence the noqa S608/S611.
    if connection.vendor == "postgresql":
        aggregate = f"COALESCE(json_agg(json_build_object({pairs}) ORDER BY {ordered}), '[]'::json)::text"
        rows = f"{table} t WHERE t.order_id = {outer}"
    else:  # SQLite: the inner ORDER BY fixes the order json_group_array sees
        aggregate = f"COALESCE(json_group_array(json_object({pairs})), '[]')"
        rows = f"(SELECT * FROM {table} t WHERE t.order_id = {outer} ORDER BY {ordered}) t"  # noqa: S608
    return RawSQL(f"SELECT {aggregate} FROM {rows}", (), output_field=TextField())  # noqa: S608, S611


def order_with_children(queryset: models.QuerySet[Order]) -> models.QuerySet[Order]:
    """Orders with their line (joined), and `payments_json` and `history_json` annotated: one statement."""
    return queryset.select_related("line").annotate(
        payments_json=_json_rows("payment", _PAYMENT_KEYS, ("attempt",)),
        history_json=_json_rows("order_event", _EVENT_KEYS, ("at", "id")),
    )
