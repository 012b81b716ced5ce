"""A command that finds no usable database says so in one line and exits 2, instead of a traceback.

`explain(error, database_url)` turns the database errors a newcomer or an operator meets first (no SQLite file
or folder, a database never migrated, PostgreSQL not answering, no such database, a refused login) into a
sentence naming where it looked and the setting to change; any other error is left alone (None).
`check_database(argv)` runs once before a command that needs the database: it opens a connection and looks
for the migrations table, and a failure there becomes that sentence on standard error and exit 2. An error
the command meets later (a worker's query failing mid-run) is its own: it raises with its traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlparse

EXIT_NO_DATABASE = 2
SETTING = "TOPUP_DATABASE_URL"
_MIGRATE = "run `.venv/bin/topup migrate` (or `make run`) in the checkout"
_FIRST_RUN = "run `make run` (or `.venv/bin/topup migrate`) in the checkout first"
# What PostgreSQL's client says (psycopg's message, lower case) when it never got a session.
_PG_UNREACHABLE = (
    "connection refused",
    "could not connect",
    "connection failed",
    "could not translate host name",
    "name or service not known",
    "timeout expired",
    "no route to host",
    "server closed the connection unexpectedly",
)


def _database_errors(error: BaseException) -> bool:
    """Only Django's database errors (they wrap sqlite3's and psycopg's), without importing Django here."""
    db = sys.modules.get("django.db")
    if db is None:
        return False
    return isinstance(error, db.OperationalError | db.ProgrammingError)


def _sqlite_path(database_url: str) -> Path:
    return Path(unquote(database_url.removeprefix("sqlite:///")))


# Commands that do not need a migrated database when they start: they migrate it (serve, migrate), check it
# and say what is wrong themselves (doctor), or do not use it (simulators, bench, cluster, chaos, receipts).
_NO_CHECK = frozenset({"serve", "migrate", "simulate", "doctor", "bench", "cluster", "chaos", "receipt"})
# Django's own commands (`topup manage …`) that work on a database not migrated yet.
_MANAGE_UNMIGRATED = frozenset(
    {"migrate", "makemigrations", "showmigrations", "sqlmigrate", "dbshell", "check", "help", "version",
     "diffsettings", "sqlflush"}
)  # fmt: skip


def _explain_sqlite(text: str, database_url: str) -> str | None:
    path = _sqlite_path(database_url)
    if "unable to open database file" in text:
        where = (
            f"no database at {path}" if path.parent.is_dir() else f"no folder {path.parent} for the database"
        )
        return f"{where}: {_FIRST_RUN}, or set {SETTING} (or TOPUP_DATA_DIR)"
    if "no such table" in text:
        return _not_migrated(database_url)
    return None


def _explain_postgresql(text: str, database_url: str) -> str | None:
    url = urlparse(database_url)
    server = f"{url.hostname or 'localhost'}:{url.port or 5432}"
    name = url.path.lstrip("/")
    if "password authentication failed" in text or "no pg_hba.conf entry" in text:
        return f"PostgreSQL at {server} refused the user {url.username or '(none)'!r}: check {SETTING}"
    if f'database "{name}" does not exist' in text:
        return f"PostgreSQL at {server} has no database {name!r}: createdb {name}, or correct {SETTING}"
    if "relation" in text and "does not exist" in text:
        return _not_migrated(database_url)
    if any(words in text for words in _PG_UNREACHABLE):
        return f"no PostgreSQL answers at {server} ({SETTING}): start it, or correct the setting"
    return None


def explain(error: BaseException, database_url: str) -> str | None:
    """The one line that says what is wrong with the database and what to do, or None for other errors."""
    if not _database_errors(error):
        return None
    text = str(error).lower()
    if database_url.startswith("sqlite:"):
        return _explain_sqlite(text, database_url)
    if database_url.startswith(("postgres://", "postgresql://")):
        return _explain_postgresql(text, database_url)
    return None


@contextmanager
def clear_database_errors() -> Iterator[None]:
    """Run a command; a database it cannot use ends it with one line on standard error and exit 2."""
    try:
        yield
    except Exception as error:
        from topup.settings import CONFIG  # noqa: PLC0415 - configuration is read only by commands that need it

        line = explain(error, CONFIG.database_url)
        if line is None:
            raise
        sys.stderr.write(f"topup: {line}\n")
        raise SystemExit(EXIT_NO_DATABASE) from None


def _checks(argv: Sequence[str]) -> tuple[bool, bool]:
    """(connect first, and look for the migrations table) for the command line `argv`."""
    if not argv or argv[0] in _NO_CHECK or argv[0].startswith("-"):
        return False, False
    if argv[0] == "manage":
        django_command = next((word for word in argv[1:] if not word.startswith("-")), "help")
        return True, django_command not in _MANAGE_UNMIGRATED
    return True, True


def check_database(argv: Sequence[str]) -> None:
    """Before the command `argv` runs: its database answers (and is migrated), else one line and exit 2."""
    connect, migrated = _checks(argv)
    if not connect:
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "topup.settings")
    with clear_database_errors():
        from topup.process import setup_once  # noqa: PLC0415 - only commands needing the database load Django

        setup_once()
        from django.db import connection  # noqa: PLC0415

        try:
            connection.ensure_connection()
            tables = connection.introspection.table_names() if migrated else ["django_migrations"]
        finally:
            connection.close()  # the command opens its own (gunicorn's workers: after the fork)
        if "django_migrations" not in tables:
            from topup.settings import CONFIG  # noqa: PLC0415

            sys.stderr.write(f"topup: {_not_migrated(CONFIG.database_url)}\n")
            raise SystemExit(EXIT_NO_DATABASE)


def _not_migrated(database_url: str) -> str:
    if database_url.startswith("sqlite:"):
        path = _sqlite_path(database_url)
        return f"the database at {path} is not migrated: {_FIRST_RUN}, or set {SETTING} (or TOPUP_DATA_DIR)"
    url = urlparse(database_url)
    server = f"{url.hostname or 'localhost'}:{url.port or 5432}"
    return (
        f"the database {url.path.lstrip('/')!r} at {server} is not migrated: {_MIGRATE}, or correct {SETTING}"
    )
