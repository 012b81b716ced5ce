"""The simulators' secrets stay with their owner: the mail sink's Maildir (sign-in codes) is 0700 with 0600
messages; the state files (the payment simulator's webhook signing secret, DT One's account, the carriers'
and SM-DP+'s records) are 0600 from the start, their WAL included, and so is one an older version left
0644."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest

from topup.simulators.carriers.state import CarrierState
from topup.simulators.dtone.store import StoredAccount
from topup.simulators.mail.sink import MaildirHandler
from topup.simulators.payments.store import BookStore
from topup.simulators.smdp.state import SmdpState


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_mail_sinks_folders_and_messages_are_owner_only(tmp_path: Path) -> None:
    maildir = tmp_path / "mail" / "inbox"
    handler = MaildirHandler(maildir)
    envelope = SimpleNamespace(original_content=b"Subject: code\r\n\r\nYour code: 123456\r\n", content=None)
    assert asyncio.run(handler.handle_DATA(None, None, envelope)).startswith("250")
    assert {_mode(maildir / sub) for sub in ("", "tmp", "new", "cur")} == {0o700}
    (message,) = (maildir / "new").iterdir()
    assert _mode(message) == 0o600
    assert b"123456" in message.read_bytes()


@pytest.mark.parametrize("existing", [False, True])
def test_the_state_files_are_owner_only(tmp_path: Path, existing: bool) -> None:
    paths = {name: tmp_path / f"{name}.sqlite3" for name in ("payments", "dtone", "carriers", "smdp")}
    if existing:
        for path in paths.values():
            path.touch(mode=0o644)
            path.chmod(0o644)
    book = BookStore(paths["payments"])
    book.add_event({"id": "evt_1", "object": "event"})  # a write: the WAL file exists now
    # Held until the end: a connection closed (collected) takes its -wal and -shm files with it.
    others = (
        StoredAccount(1000, 60.0, paths["dtone"]),
        CarrierState(paths["carriers"]),
        SmdpState(1, paths["smdp"]),
    )
    made = sorted(tmp_path.iterdir())
    assert {path.name for path in made} >= {"payments.sqlite3", "payments.sqlite3-wal", "dtone.sqlite3"}
    assert {path.name: _mode(path) for path in made} == {path.name: 0o600 for path in made}
    del others  # only now may they close
    book.close()
