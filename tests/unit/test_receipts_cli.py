"""`topup receipt sample` writes a demo receipt in each format, so people can look at one and print it."""

from __future__ import annotations

from pathlib import Path

import pytest

from topup import cli


@pytest.mark.parametrize(
    ("fmt", "starts", "holds"),
    [
        ("text", b" ", "合计".encode()),
        ("escpos", b"\x1b@", b"\x1dV"),
        ("pdf", b"%PDF-", b"NotoSansMonoCJKSC"),
    ],
)
def test_the_sample_command_writes_each_format(tmp_path: Path, fmt: str, starts: bytes, holds: bytes) -> None:
    out = tmp_path / f"receipt.{fmt}"
    cli.main(["receipt", "sample", "--language", "zh-hans", "--format", fmt, "--out", str(out)])
    written = out.read_bytes()
    assert written.startswith(starts)
    assert holds in written


def test_a_narrow_void_in_text(tmp_path: Path) -> None:
    out = tmp_path / "void.txt"
    cli.main(["receipt", "sample", "--language", "de", "--kind", "void", "--width", "32", "--out", str(out)])
    text = out.read_text()
    assert "STORNIERT" in text
    assert max(len(line) for line in text.splitlines()) == 32


def test_an_unknown_language_is_refused_by_the_parser(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        cli.main(["receipt", "sample", "--language", "es", "--out", str(tmp_path / "x")])
