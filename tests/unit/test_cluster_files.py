"""The cluster's files with passwords in them are owner-only from the moment they exist."""

from __future__ import annotations

import stat
from pathlib import Path

from topup.cluster.configs import write_private


def test_a_private_file_is_created_owner_only_and_an_old_one_is_made_so(tmp_path: Path) -> None:
    made, old = tmp_path / "new.json", tmp_path / "old.json"
    old.write_text("an older version's, readable by all")
    old.chmod(0o644)
    write_private(made, '{"password": "s3cret"}')
    write_private(old, "short")
    assert stat.S_IMODE(made.stat().st_mode) == 0o600
    assert stat.S_IMODE(old.stat().st_mode) == 0o600
    assert (made.read_text(), old.read_text()) == ('{"password": "s3cret"}', "short")
