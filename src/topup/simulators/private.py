"""Files only their owner reads: the simulators' state files (a webhook signing secret, API keys, activation
codes) and the mail sink's Maildir (sign-in codes)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def open_state_file(path: Path) -> sqlite3.Connection:
    """An autocommitting connection to the SQLite file at `path`, made owner-only before SQLite writes into it
    (its -wal and -shm files take the database file's mode)."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        os.fchmod(descriptor, FILE_MODE)  # one made before by an older version
    finally:
        os.close(descriptor)
    return sqlite3.connect(path, isolation_level=None)


def private_folder(path: Path) -> Path:
    """`path` and its missing parents made; `path` itself owner-only."""
    path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    path.chmod(FOLDER_MODE)
    return path
