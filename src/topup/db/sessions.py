"""Django's database sessions, sealed with the data keys: a typed number never lies in django_session."""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

from topup import crypto


class SessionStore(DatabaseSessionStore):
    def encode(self, session_dict: dict[str, Any]) -> str:
        return crypto.seal(super().encode(session_dict))

    def decode(self, session_data: bytes | str) -> dict[str, Any]:
        text = session_data.decode() if isinstance(session_data, bytes) else session_data
        try:
            opened = crypto.open_sealed(text)
        except crypto.KeyringError:
            return {}  # sealed under a key we no longer have: an empty session, as Django does for bad data
        return super().decode(opened)
