"""Model fields for personal data: encrypted text and JSON, the blind index beside them, keyed hashes.

`EncryptedTextField` reads and writes plaintext in Python and stores `topup.crypto.seal(...)`. A
`BlindIndexField(source=...)` next to it is filled on every save and bulk_create from the source's
plaintext, and `filter(msisdn=x)` / `msisdn__in=[...]` on an encrypted field with an index is rewritten
to a lookup on the index, so no query ever compares ciphertext. Other lookups on encrypted fields raise.
`HashedField` keeps only a keyed digest (client addresses, rate-limit keys): lookups hash their value too.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Col
from django.db.models.lookups import Exact, In, Lookup
from django.db.models.sql.compiler import SQLCompiler

from topup import crypto
from topup.pii import blind_index

_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_M = TypeVar("_M", bound=models.Model)

if TYPE_CHECKING:  # for django-stubs, a sealed JSON document is typed like a JSONField
    _Json = models.JSONField
else:
    _Json = models.TextField


def normalise(value: str, purpose: str) -> str:
    """E-mail addresses (purpose "email", or an "address" with an @) compare case-insensitively."""
    text = value.strip()
    return text.lower() if purpose == "email" or (purpose == "address" and "@" in text) else text


def digest(value: object, purpose: str) -> str:
    """The blind index of a plaintext value ('' for an empty one)."""
    text = "" if value is None or value == crypto.ERASED else normalise(str(value), purpose)
    return blind_index(text, purpose=purpose) if text else ""


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """Plaintext in Python, AES-GCM sealed in the database (see topup.crypto)."""

    description = "Text encrypted at rest"

    def from_db_value(self, value: str | None, expression: object, connection: object) -> str | None:
        return None if value is None else crypto.open_sealed(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return None if value is None else crypto.seal(str(value))

    def index_field(self) -> BlindIndexField:
        for field in self.model._meta.concrete_fields:
            if isinstance(field, BlindIndexField) and field.source == self.name:
                return field
        raise TypeError(f"{self.model.__name__}.{self.name} is encrypted and has no blind index to look up")


class EncryptedJSONField(_Json):
    """A JSON document, sealed as a whole (stored as text: a database cannot look inside it anyway)."""

    description = "JSON encrypted at rest"

    def from_db_value(self, value: str | None, expression: object, connection: object) -> Any:
        return None if value is None else json.loads(crypto.open_sealed(value) or "null")

    def to_python(self, value: Any) -> Any:
        return value

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return None
        return crypto.seal(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def value_to_string(self, obj: models.Model) -> str:
        return json.dumps(self.value_from_object(obj))


class BlindIndexField(models.CharField):  # type: ignore[type-arg]
    """The keyed HMAC of the plaintext of `source`, recomputed on every save: equal values, equal indexes."""

    def __init__(self, *args: Any, source: str = "", purpose: str = "msisdn", **kwargs: Any) -> None:
        self.source = source
        self.purpose = purpose
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        kwargs["purpose"] = self.purpose
        kwargs.pop("editable", None)
        if kwargs.get("max_length") == 64:
            kwargs.pop("max_length")
        return name, path, args, kwargs

    def digest(self, value: object) -> str | None:
        found = digest(value, self.purpose)
        return None if not found and self.null else found

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = self.digest(getattr(model_instance, self.source))
        setattr(model_instance, self.attname, value)
        return value


class HashedField(models.CharField):  # type: ignore[type-arg]
    """Stores only `blind_index(value, purpose)`; a lookup hashes its value the same way, a digest stays."""

    def __init__(self, *args: Any, purpose: str = "ip", **kwargs: Any) -> None:
        self.purpose = purpose
        kwargs.setdefault("max_length", 64)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["purpose"] = self.purpose
        if kwargs.get("max_length") == 64:
            kwargs.pop("max_length")
        return name, path, args, kwargs

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "" or _DIGEST.match(str(value)):
            return value
        return blind_index(str(value), purpose=self.purpose)


def _on_index(lookup: Lookup[Any], compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> Any:
    """`encrypted_col = x` as `index_col = blind_index(x)` (and the same for `in`)."""
    lhs = lookup.lhs
    if not isinstance(lhs, Col) or hasattr(lookup.rhs, "resolve_expression"):
        raise TypeError("an encrypted field can only be compared with plain values")
    target = lhs.target
    if not isinstance(target, EncryptedTextField):
        raise TypeError("only encrypted text fields are looked up by their blind index")
    index = target.index_field()
    column = Col(lhs.alias, index)
    if isinstance(lookup, In):
        return compiler.compile(In(column, [index.digest(v) or "" for v in lookup.rhs]))
    return compiler.compile(Exact(column, index.digest(lookup.rhs) or ""))


@EncryptedTextField.register_lookup
class IndexedExact(Exact):
    prepare_rhs = False

    def get_prep_lookup(self) -> Any:
        return self.rhs

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> Any:
        return _on_index(self, compiler, connection)


@EncryptedTextField.register_lookup
class IndexedIExact(IndexedExact):
    lookup_name = "iexact"


@EncryptedTextField.register_lookup
class IndexedIn(In):
    prepare_rhs = False

    def get_prep_lookup(self) -> Any:
        return list(self.rhs)

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> Any:
        return _on_index(self, compiler, connection)


def _refuse(name: str) -> type[Lookup]:
    class Refused(Lookup):
        lookup_name = name

        def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> Any:
            raise TypeError(f"`{name}` cannot work on an encrypted field; look it up by its exact value")

    return Refused


for _name in (
    "contains",
    "icontains",
    "startswith",
    "istartswith",
    "endswith",
    "iendswith",
    "regex",
    "iregex",
):
    EncryptedTextField.register_lookup(_refuse(_name))
    EncryptedJSONField.register_lookup(_refuse(_name))


class PersonalQuerySet(models.QuerySet[_M]):
    """`update()` and `bulk_update()` that keep each blind index in step with its encrypted source."""

    def _indexes(self) -> list[BlindIndexField]:
        return [f for f in self.model._meta.concrete_fields if isinstance(f, BlindIndexField)]

    def update(self, **kwargs: Any) -> int:
        for index in self._indexes():
            value = kwargs.get(index.source)
            if index.source in kwargs and index.name not in kwargs:
                if hasattr(value, "resolve_expression"):
                    raise TypeError(f"{index.source} is encrypted: update it with a plain value")
                kwargs[index.name] = index.digest(value)
        return super().update(**kwargs)

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        objs, names = list(objs), list(fields)
        for index in self._indexes():
            if index.source in names and index.name not in names and not index.primary_key:
                names.append(index.name)
                for obj in objs:
                    index.pre_save(obj, add=False)
        return super().bulk_update(objs, names, batch_size=batch_size)


class PersonalManager(models.Manager[_M]):
    """The default manager of models with a blind index: its querysets keep the indexes in step."""

    def get_queryset(self) -> PersonalQuerySet[_M]:
        return PersonalQuerySet(self.model, using=self._db)
