"""Django's DATABASES from the `TOPUP_DATABASE_*` settings: the primary, an optional replica for reads that
may lag, and what a transaction-mode pooler in front of them (PgBouncer) forbids.

- `TOPUP_DATABASE_URL`: the primary (`sqlite:///path` or `postgresql://user:pw@host:port/name`).
- `TOPUP_DATABASE_POOLER`: empty (a direct connection, the default) or `transaction` (PgBouncer's
  transaction mode: each transaction may run on another server session, so nothing may outlive one: no
  named prepared statements, no server-side cursors, no session `SET`, no LISTEN).
- `TOPUP_DATABASE_REPLICA_URL`: adds the `replica` alias (see topup.db.router); empty: none.
- `TOPUP_DATABASE_LISTEN_URL`: a session connection (not through the pooler) for LISTEN (topup.db.wakeup);
  empty with a transaction pooler: waiters poll instead.

Imported by the settings module before Django is set up: standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import ParseResult, unquote, urlparse

POOLERS = ("", "transaction")
REPLICA = "replica"  # the alias of the replica in DATABASES


@dataclass(frozen=True)
class DatabaseConfig:
    url: str
    pooler: str = ""  # "" | "transaction"
    replica_url: str = ""
    listen_url: str = ""

    @property
    def transaction_pooler(self) -> bool:
        return self.pooler == "transaction"


def check_pooler(value: str) -> str:
    if value not in POOLERS:
        raise RuntimeError(f"TOPUP_DATABASE_POOLER must be empty or 'transaction', not {value!r}")
    return value


def databases(config: DatabaseConfig) -> dict[str, dict[str, object]]:
    """DATABASES: `default` (the primary) and, with a replica URL, `replica` (reads only: no migrations,
    and the test database is `default`'s)."""
    found = {"default": database_settings(config.url, pooler=config.pooler)}
    if config.replica_url:
        replica = database_settings(config.replica_url, pooler=config.pooler)
        replica["TEST"] = {"MIRROR": "default"}
        found[REPLICA] = replica
    return found


def database_settings(url: str, *, pooler: str = "") -> dict[str, object]:
    """Turn `sqlite:///path` or `postgresql://user:pw@host:port/name` into a Django DATABASES entry."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        name = unquote(parsed.path) or ":memory:"
        test_name = str(Path(name).with_name(f"test_{Path(name).name}")) if name != ":memory:" else name
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": name,
            # A file, not Django's shared in-memory test database: live server and worker threads need locks.
            "TEST": {"NAME": test_name},
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN: concurrent writers queue instead of failing later.
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            },
        }
    if parsed.scheme in {"postgres", "postgresql"}:
        return _postgresql(parsed, check_pooler(pooler))
    raise RuntimeError(f"unsupported TOPUP_DATABASE_URL scheme {parsed.scheme!r}")


def _postgresql(parsed: ParseResult, pooler: str) -> dict[str, object]:
    name = unquote(parsed.path.lstrip("/")) or "topup"
    entry: dict[str, object] = {
        "ENGINE": "topup.db.postgresql",  # Django's, with a health check that costs no round trip
        "NAME": name,
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "",
        "PORT": str(parsed.port or ""),
        # Persistent connections, one per thread: gunicorn's gthread threads live as long as their worker
        # process and Django keeps each thread's connection across requests (measured under `topup serve`:
        # 400 requests that read the database opened 3 PostgreSQL sessions, pg_stat_database.sessions).
        # The job worker's threads hold theirs too. Django 5.2's psycopg pool (`OPTIONS={"pool": ...}`)
        # was not taken: it needs psycopg_pool (a new dependency) and CONN_MAX_AGE=0, hands a connection
        # out per request instead of keeping one per thread, and saves no statement over this. The health
        # check turns a connection lost to a restart or failover into a new one instead of one failed
        # request per thread; topup.db.postgresql makes it a poll of the socket (no `SELECT 1` round trip)
        # unless the server sent something (/healthz under wrk: 0.81 -> 0.74 ms web CPU a request).
        "CONN_MAX_AGE": 600,
        "CONN_HEALTH_CHECKS": True,
        # Parameters bound by the server, not spliced into the SQL text by psycopg, and a statement a
        # connection runs a fifth time prepared (Django turns psycopg's preparing off unless asked):
        # from then on PostgreSQL skips its parse and plan. Backend CPU of the bench's order read by
        # id, 3,000 runs on one connection: 220-270 us a statement spliced, 40-60 us prepared.
        "OPTIONS": {"server_side_binding": True, "prepare_threshold": 5},
        "TEST": {"NAME": f"test_{name}"},
    }
    if pooler == "transaction":
        # Through PgBouncer 1.18 in transaction mode the next transaction may run on another server
        # session: a named prepared statement would be missing there (or another one's name taken), and a
        # server-side cursor (DECLARE) dies with its transaction. Server-side binding stays: it sends
        # unnamed statements (Parse/Bind/Execute of ""), which live only as long as the protocol exchange.
        entry["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": None}
        entry["DISABLE_SERVER_SIDE_CURSORS"] = True
    return entry
