"""The few statements of the hot path the ORM cannot say in one: an insert that skips a duplicate and says
whether it wrote (`INSERT … ON CONFLICT DO NOTHING RETURNING`), a guarded update that hands back the rows it
moved (`UPDATE … WHERE <guard> RETURNING *`), an order read with its payments and history as JSON
subqueries, and the network of a number's last delivered order (the ORM would build that query again for
every balance check, ~0.4 ms of CPU, more than the database spends on it), the two reads of following an
order (its page state, its document), written once for the same reason, and a customer's history as the
promotion rules read it when an order is quoted (three ORM queries in one). All run on PostgreSQL and on
SQLite ≥ 3.35 (the only vendor-specific part is the JSON functions).

Writes are built by Django's own compilers (values sealed, indexed and adapted as `save()` and `update()`
would); rows are read back with every field's converter (decryption, dates) applied as the ORM applies
them, then made into model instances (`from_db`).
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.db import connection, models
from django.db.models import BooleanField, sql
from django.db.models.expressions import RawSQL

from topup.db.fields import BlindIndexField, EncryptedTextField
from topup.db.models import Line, Order, Payment
from topup.db.models import promotions as promotion_rows

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
        rows = cursor.fetchall()
    # Read back as `raw()` would (the fields' converters, then `from_db`), without its matching of the
    # cursor's columns to fields: they are the model's concrete fields in order (~0.4 ms less per call).
    fields = list(model._meta.concrete_fields)
    return [_instance(model, fields, row) for row in rows]


_ORDER_PAID = (
    'UPDATE "order" SET "status" = %s, "updated_at" = %s, "delivery_deadline" = %s, '
    '"current_payment_id" = %s WHERE "id" = %s AND "status" = %s AND "current_payment_id" IN (\'\', %s) '
    "RETURNING "
)


def order_paid(order_id: str, payment_id: str, at: datetime, deadline: datetime) -> Order | None:
    """`update_returning(Order.objects.filter(id=order_id, status="awaiting_payment",
    current_payment_id__in=["", payment_id]), status="paid", updated_at=at, delivery_deadline=deadline,
    current_payment_id=payment_id)`, written once (the webhook's order move; the ORM would build it again
    each time): the order as it is now, or None (paid or ended, or `payment_id` is a replaced attempt)."""
    adapt = connection.ops.adapt_datetimefield_value
    params = ["paid", adapt(at), adapt(deadline), payment_id, order_id, "awaiting_payment", payment_id]
    moved = _returning(Order, _ORDER_PAID + _columns(Order, connection.vendor), params)
    return moved[0] if moved else None


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
_PAYMENTS = ("payment", _PAYMENT_KEYS, ("attempt",))
_HISTORY = ("order_event", _EVENT_KEYS, ("at", "id"))


def _json_rows_sql(table: str, keys: tuple[str, ...], order_by: tuple[str, ...]) -> str:
    """The rows of `table` belonging to the order being read, as one JSON array text (a correlated
    subquery: the read stays one statement). Only plain (not encrypted) columns may be named here."""
    pairs = ", ".join(f"'{key}', t.{key}" for key in keys)
    outer = '"order"."id"'
    ordered = ", ".join(f"t.{column}" for column in order_by)
    # Every name here is a constant of this module (no input reaches this SQL): hence the noqa S608.
    if connection.vendor == "postgresql":
        aggregate = f"COALESCE(json_agg(json_build_object({pairs}) ORDER BY {ordered}), '[]'::json)::text"
        rows = f"{table} t WHERE t.order_id = {outer}"
    else:  # SQLite: the inner ORDER BY fixes the order json_group_array sees
        aggregate = f"COALESCE(json_group_array(json_object({pairs})), '[]')"
        rows = f"(SELECT * FROM {table} t WHERE t.order_id = {outer} ORDER BY {ordered}) t"  # noqa: S608
    return f"SELECT {aggregate} FROM {rows}"  # noqa: S608


# Following an order (services/order_watch, order_view): the order, its line and what the reader needs of
# its payments, read by a statement written once per process. The ORM would build it again at every
# wake-up of every stream (~1 ms of CPU each, more than the database spends on it). Only the columns the
# reader and the access check (services/order_access) use are read: the others stay deferred.
_ORDER_CHECKED = ("id", "msisdn", "line", "status", "token_hash", "api_key_id")
_ORDER_SHOWN = (
    *_ORDER_CHECKED, "plan", "network", "iccid", "channel", "total_minor", "currency", "quote",
    "failure_code", "created_at", "current_payment_id", "request_id",
)  # fmt: skip
_LINE_SHOWN = ("id", "iccid", "msisdn", "matching_id", "smdp_address", "profile_state")
_LATEST_PAYMENT_STATUS = (
    'SELECT p.status FROM payment p WHERE p.order_id = "order"."id" ORDER BY p.attempt DESC LIMIT 1'
)


def _fields(model: type[models.Model], names: tuple[str, ...]) -> list[Any]:
    """The concrete fields named, in the model's own order (the order `Model.from_db` expects)."""
    return [f for f in model._meta.concrete_fields if f.name in names]


@functools.cache
def _order_read(vendor: str, document: bool) -> str:
    """SELECT the order (by id), its line (or NULLs) and either its payments and history as JSON
    (`document`) or its latest payment's status."""
    quote = connection.ops.quote_name
    order = [
        f'"order".{quote(f.column)}' for f in _fields(Order, _ORDER_SHOWN if document else _ORDER_CHECKED)
    ]
    line = [f"line.{quote(f.column)}" for f in _fields(Line, _LINE_SHOWN)]
    extras = [_json_rows_sql(*_PAYMENTS), _json_rows_sql(*_HISTORY)] if document else [_LATEST_PAYMENT_STATUS]
    columns = ", ".join([*order, *line, *(f"({extra})" for extra in extras)])
    # Names are constants of this module and the models; the id is the one parameter.
    joined = 'FROM "order" LEFT OUTER JOIN line ON line.id = "order".line_id WHERE "order".id = %s'
    return f"SELECT {columns} {joined}"


@functools.cache
def _converters(field: Any, vendor: str) -> tuple[Any, list[Any]]:
    """The column expression of `field` and the converters the ORM applies to its values (decryption,
    SQLite's dates)."""
    column = field.get_col(field.model._meta.db_table)
    return column, [*connection.ops.get_db_converters(column), *column.get_db_converters(connection)]


def _instance(model: type[M], fields: list[Any], values: tuple[Any, ...]) -> M:
    """A model instance from `values` of `fields`, converted as the ORM converts them."""
    converted = [_converted(field, value) for field, value in zip(fields, values, strict=True)]
    return model.from_db(connection.alias, [f.attname for f in fields], converted)


def _converted(field: Any, value: Any) -> Any:
    """`value` of `field` as the ORM reads it (the field's converters: decryption, SQLite's dates)."""
    column, converters = _converters(field, connection.vendor)
    for convert in converters:
        value = convert(value, column, connection)
    return value


def _followed(order_id: str, *, document: bool) -> tuple[Order, tuple[Any, ...]] | None:
    with connection.cursor() as cursor:
        cursor.execute(_order_read(connection.vendor, document), [order_id])
        row = cursor.fetchone()
    if row is None:
        return None
    order_fields = _fields(Order, _ORDER_SHOWN if document else _ORDER_CHECKED)
    line_fields = _fields(Line, _LINE_SHOWN)
    order = _instance(Order, order_fields, row[: len(order_fields)])
    rest = row[len(order_fields) :]
    line = None if order.line_id is None else _instance(Line, line_fields, rest[: len(line_fields)])
    Order._meta.get_field("line").set_cached_value(order, line)
    return order, rest[len(line_fields) :]


def order_state(order_id: str) -> Order | None:
    """The order with its line and `payment_status` (its latest attempt's, or None): what
    `Order.objects.select_related("line").annotate(payment_status=<latest>)` reads of it for the page's
    state and the access check."""
    found = _followed(order_id, document=False)
    if found is None:
        return None
    order, (payment_status,) = found
    order.payment_status = payment_status  # type: ignore[attr-defined]
    return order


def order_document(order_id: str) -> Order | None:
    """The order with its line (joined), and `payments_json` and `history_json` (its payments and history as
    JSON arrays): everything services/order_view.read_document needs, in one statement."""
    found = _followed(order_id, document=True)
    if found is None:
        return None
    order, (payments_json, history_json) = found
    order.payments_json, order.history_json = payments_json, history_json  # type: ignore[attr-defined]
    return order


@dataclass(frozen=True)
class CustomerHistory:
    """What the promotion rules need to know about a customer's past (services/promotions)."""

    used: frozenset[str]  # campaigns the customer may use once and has used (a counted redemption)
    entitled: frozenset[str]  # campaigns whose free purchase of the plan waits for the customer
    last_delivered_at: datetime | None  # the last update of the customer's latest delivered order


_EMAIL_INDEX = Order._meta.get_field("email_index")


def customer_history(
    keys: Sequence[str],
    line_id: str | None,
    msisdn: str,
    email: str,
    plan_id: str,
    *,
    entitlements: bool,
    once: Collection[str],
) -> CustomerHistory:
    """One statement for what the ORM asks in three: which of the campaigns `once` (those a customer may
    have once: `promotion_rules.once_per_customer`) the customer's blind indexes (`keys`) redeemed, the
    plan's free purchases waiting for them (only when `entitlements`), and when their latest delivered
    order was last updated. Their earlier orders are found by the line, else the
    number, else the e-mail address (`_earlier_orders` in services/promotions)."""
    parts: list[str] = []
    params: list[str | bool] = []
    earlier = _earlier_orders(line_id, msisdn, email)
    if earlier is not None:
        column, value = earlier
        parts.append(  # first: PostgreSQL types the UNION's third column by it, not by a NULL
            "SELECT 'last', NULL, MAX(o.updated_at) FROM \"order\" o "  # noqa: S608 (a constant column name)
            f"WHERE o.{column} = %s AND o.status = %s"
        )
        params += [value, "delivered"]
    marks = ", ".join(["%s"] * len(keys))
    if keys and once:
        campaigns = ", ".join(["%s"] * len(once))
        parts.append(
            "SELECT 'used', r.campaign_id, NULL FROM promotion_redemption r "  # noqa: S608 (placeholders)
            f"WHERE r.counted = %s AND r.customer_index IN ({marks}) AND r.campaign_id IN ({campaigns})"
        )
        params += [True, *keys, *sorted(once)]
    if keys and entitlements:
        parts.append(
            "SELECT 'entitled', e.campaign_id, NULL FROM promotion_entitlement e "  # noqa: S608
            f"WHERE e.customer_index IN ({marks}) AND e.plan_id = %s AND e.state = %s"
        )
        params += [*keys, plan_id, promotion_rows.AVAILABLE]
    used: set[str] = set()
    entitled: set[str] = set()
    last: datetime | None = None
    if parts:
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            rows = cursor.fetchall()
        for kind, campaign_id, at in rows:
            if kind == "used":
                used.add(campaign_id)
            elif kind == "entitled":
                entitled.add(campaign_id)
            elif at is not None:
                last = _converted(Order._meta.get_field("updated_at"), at)
    return CustomerHistory(frozenset(used), frozenset(entitled), last)


def _earlier_orders(line_id: str | None, msisdn: str, email: str) -> tuple[str, str] | None:
    """The column and value that find a customer's orders: its line, else its number, else its e-mail."""
    if line_id:
        return "line_id", line_id
    if msisdn:
        return "msisdn_index", _MSISDN_INDEX.digest(msisdn) or ""
    if email:
        assert isinstance(_EMAIL_INDEX, BlindIndexField)
        return "email_index", _EMAIL_INDEX.digest(email) or ""
    return None
