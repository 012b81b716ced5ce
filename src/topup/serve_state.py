"""What `topup serve` remembers between two starts in the demo, so that a second start skips migrate and seed.

After a full preparation (migrate, seed, FX rates, demo shop and promotions) a marker in the data folder
records a fingerprint of the code and settings that shaped it and how many migrations the database has.
The next start trusts it only when both still match, read straight from the database (one small query,
no Django), so a new migration, an edited seed, other settings or a replaced database prepare again.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from topup.settings import Config

MARKER = "serve-prepared.json"
SRC = Path(__file__).resolve().parent
# What a preparation depends on besides the settings: the schema and everything the demo seed writes.
SHAPED_BY = ("db/migrations", "services/seed.py", "services/retail_seed.py", "services/promotion_seed.py",
             "domain/catalogue.py", "domain/esim_catalogue.py", "adapters/fx", "fx_cli.py")  # fmt: skip


@dataclass(frozen=True)
class Prepared:
    admin_key: str  # the demo admin key, printed in the banner
    notes: str  # what the preparation printed (FX rates, the demo shop), printed again


def fingerprint(config: Config) -> str:
    digest = hashlib.sha256(repr(config).encode())
    digest.update(sys.version.encode())
    for name in SHAPED_BY:
        path = SRC / name
        for file in sorted(path.rglob("*") if path.is_dir() else [path]):
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(SRC)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def database_state(url: str) -> tuple[int, bool] | None:
    """(migrations applied, the demo admin key present), read without Django; None when it cannot be read."""
    query = (
        "SELECT (SELECT count(*) FROM django_migrations),"
        " (SELECT count(*) FROM api_key WHERE id = 'key_demoadmin' AND revoked_at IS NULL)"
    )  # the id is services.seed.DEMO_ADMIN_KEY_ID (that module needs Django loaded)
    parsed = urlparse(url)
    try:
        if parsed.scheme == "sqlite":
            path = unquote(parsed.path)
            if not path or not Path(path).is_file():
                return None
            with sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True, timeout=5) as conn:
                row = conn.execute(query).fetchone()
        else:
            import psycopg  # noqa: PLC0415 - only for PostgreSQL

            with psycopg.connect(url, connect_timeout=5) as conn:
                row = conn.execute(query).fetchone()
    except Exception:  # no table, no file, no server: prepare as on a first start
        return None
    return (int(row[0]), bool(row[1])) if row else None


def recall(config: Config) -> Prepared | None:
    """The previous preparation, when the code, the settings and the database are as it left them."""
    if config.is_production:
        return None  # production migrates at every start: its schema is changed by deployments
    try:
        marker = json.loads((config.data_dir / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    state = database_state(config.database_url)
    if marker.get("fingerprint") != fingerprint(config) or state != (marker.get("migrations"), True):
        return None
    return Prepared(admin_key=str(marker["admin_key"]), notes=str(marker["notes"]))


def remember(config: Config, prepared: Prepared) -> None:
    """Write the marker (owner-only: it holds the demo admin key, as the key file beside it does)."""
    state = database_state(config.database_url)
    if state is None or config.is_production:
        return
    path = config.data_dir / MARKER
    draft = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    body = {"fingerprint": fingerprint(config), "migrations": state[0], **vars(prepared)}
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(body, out)
    draft.replace(path)
