"""A connection to a PostgreSQL server's maintenance database, for creating test databases."""

from __future__ import annotations

from urllib.parse import urlparse

import psycopg


def maintenance_connection(url: str, *, timeout_s: int = 5) -> psycopg.Connection[tuple[object, ...]]:
    """Connect to the `postgres` database of the server that `url` names, in autocommit mode."""
    parsed = urlparse(url)
    return psycopg.connect(
        host=parsed.hostname,
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password or None,
        dbname="postgres",
        connect_timeout=timeout_s,
        autocommit=True,
    )
