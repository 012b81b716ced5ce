"""Re-seal stored personal data: plaintext from before encryption, or values under an older key.

Used by migration 0009 (on its historical models) and by `topup keys rotate` (on the live ones). A row
is rewritten only when one of its values is not sealed under the current key, so a second run finds
nothing to do. Blind indexes and keyed hashes are recomputed from the plaintext on the way.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import models, transaction
from django.db.models.functions import Cast

from topup import crypto
from topup.db.fields import BlindIndexField, EncryptedJSONField, EncryptedTextField, HashedField, digest

BATCH = 500


def _plain(field: models.Field[Any, Any], raw: str) -> Any:
    opened = crypto.open_sealed(raw)
    if isinstance(field, EncryptedJSONField):
        return json.loads(opened or "null")
    return opened


def _legacy_ip(raw: str) -> str:
    return raw.split("/", 1)[0]  # PostgreSQL's inet cast to text carries a prefix length


def reseal(model: type[models.Model], batch: int = BATCH) -> int:
    """Re-seal every value of `model` not sealed under the current key; the number of values rewritten."""
    fields = model._meta.concrete_fields
    sealed: list[models.Field[Any, Any]] = [
        f for f in fields if isinstance(f, EncryptedTextField | EncryptedJSONField)
    ]
    hashed: list[models.Field[Any, Any]] = [f for f in fields if isinstance(f, HashedField)]
    indexes = [f for f in fields if isinstance(f, BlindIndexField) and not f.primary_key]
    if not sealed and not hashed:
        return 0
    raws = {f"raw_{f.attname}": Cast(f.attname, models.TextField()) for f in sealed + hashed}
    rows = model._base_manager.annotate(**raws).values_list("pk", *raws).order_by("pk")
    rewritten, last = 0, None
    while True:
        page = list((rows.filter(pk__gt=last) if last is not None else rows)[:batch])
        if not page:
            return rewritten
        with transaction.atomic():
            for pk, *values in page:
                changes: dict[str, Any] = {}
                for field, raw in zip(sealed + hashed, values, strict=True):
                    if raw is None:
                        continue
                    if isinstance(field, HashedField):
                        if raw and len(raw) != 64:
                            changes[field.attname] = digest(_legacy_ip(raw), field.purpose)
                    elif not crypto.is_current(raw):
                        changes[field.attname] = _plain(field, raw)
                for index in indexes:
                    if index.source in changes:
                        changes[index.attname] = index.digest(changes[index.source])
                if changes:
                    model._base_manager.filter(pk=pk).update(**changes)
                    rewritten += sum(1 for f in sealed + hashed if f.attname in changes)
        last = page[-1][0]
