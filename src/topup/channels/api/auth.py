"""API keys: `Authorization: Bearer tpk_<id>_<secret>`, stored as SHA-256 of the whole key, with scopes."""

from __future__ import annotations

import hashlib
import secrets

from django.http import HttpRequest
from ninja.security import HttpBearer

from topup.clock import new_id, now
from topup.db.models import ApiKey

SCOPES = ("balance:read", "usage:write", "orders:write", "admin")


class Forbidden(Exception):
    """The key is valid but lacks the scope."""


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(
    scopes: list[str], name: str = "", secret: str | None = None, key_id: str | None = None
) -> str:
    unknown = set(scopes) - set(SCOPES)
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(sorted(unknown))}; known: {', '.join(SCOPES)}")
    key_id = key_id or new_id("key")
    key = f"tpk_{key_id.removeprefix('key_')}_{secret or secrets.token_urlsafe(32)}"
    ApiKey.objects.update_or_create(
        id=key_id,
        defaults={"name": name, "secret_hash": hash_key(key), "scopes": scopes, "created_at": now()},
    )
    return key


class ScopedKey(HttpBearer):
    def __init__(self, scope: str) -> None:
        super().__init__()
        self.scope = scope

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        key = ApiKey.objects.filter(secret_hash=hash_key(token), revoked_at__isnull=True).first()
        if key is None:
            return None
        if self.scope not in key.scopes and "admin" not in key.scopes:
            raise Forbidden(self.scope)
        return key
