"""API keys: `Authorization: Bearer tpk_<id>_<secret>`, stored as SHA-256 of the whole key, with scopes.

A key found valid is remembered by each process for KEY_CACHE_TTL_S, so a busy endpoint (balance checks)
does not ask the database for the same key on every request. Revoking a key (setting `revoked_at`) or
changing its scopes therefore takes effect everywhere within KEY_CACHE_TTL_S, and at once in the process
that saved it through the ORM (the save signal empties that cache). Unknown keys are never remembered.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from typing import Any

from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest
from ninja.security import HttpBearer

from topup.clock import new_id, now
from topup.db.models import ApiKey

STAFF_SCOPE = "admin"  # the operator's staff: every scope, and an order's internal figures (commission)
SCOPES = ("balance:read", "usage:write", "orders:write", STAFF_SCOPE)
KEY_CACHE_TTL_S = 5.0  # the longest a revoked key keeps working
KEY_CACHE_MAX = 1024  # distinct valid keys remembered; more empties the cache (no unbounded growth)
_verified: dict[str, tuple[float, ApiKey]] = {}  # SHA-256 of the presented key -> (when checked, row)
_verified_lock = threading.Lock()
monotonic = time.monotonic  # the cache's clock (tests move it)


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
        key = verified_key(token)
        if key is None:
            return None
        if self.scope not in key.scopes and STAFF_SCOPE not in key.scopes:
            raise Forbidden(self.scope)
        return key


def verified_key(token: str) -> ApiKey | None:
    """The unrevoked key `token` is, from this process's cache when checked less than KEY_CACHE_TTL_S ago."""
    digest = hash_key(token)
    checked_at = monotonic()
    hit = _verified.get(digest)
    if hit is not None and checked_at - hit[0] < KEY_CACHE_TTL_S:
        return hit[1]
    key = ApiKey.objects.filter(secret_hash=digest, revoked_at__isnull=True).first()
    with _verified_lock:
        if key is None:
            _verified.pop(digest, None)
            return None
        if len(_verified) >= KEY_CACHE_MAX:
            _verified.clear()
        _verified[digest] = (checked_at, key)
    return key


def forget_verified_keys(**_: Any) -> None:
    """Empty the cache (connected to ApiKey's save and delete signals)."""
    with _verified_lock:
        _verified.clear()


post_save.connect(forget_verified_keys, sender=ApiKey, dispatch_uid="api_key_cache_save")
post_delete.connect(forget_verified_keys, sender=ApiKey, dispatch_uid="api_key_cache_delete")
