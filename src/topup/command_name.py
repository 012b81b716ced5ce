"""How to type the `topup` command in the shell that started this one, for the hints a command prints.

`make run` starts `.venv/bin/topup serve` without the virtual environment on PATH, so a hint reading
`topup simulate sms …` would fail as written; the hint names `.venv/bin/topup` instead, unless `topup` on PATH
is this very program (an activated virtual environment, or an installed package).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def topup_command() -> str:
    """`topup` when PATH finds this installation's script; else its path, relative to the working folder
    when it lies under it (`.venv/bin/topup`)."""
    script = Path(sys.executable).parent / "topup"  # not resolved: the venv's python is a symlink
    if not script.exists():
        return "topup"
    found = shutil.which("topup")
    if found is not None and os.path.samefile(found, script):
        return "topup"
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)
