"""`topup simulate mail list|show` prints what anyone may have sent to the sink: control characters are shown
escaped (an ESC sequence must not clear or retitle the reader's terminal), and a part in a charset Python does
not know is still shown (found by an outsider)."""

from __future__ import annotations

from pathlib import Path

from topup.simulators.mail.reading import listing, showing

HOSTILE = (
    b"From: a@example.com\r\nTo: b@example.com\r\nSubject: hi \x1b]0;owned\x07\x1b[2J\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=x-bogus-charset\r\n\r\n"
    b"body \x1b[31mred\x1b[0m\r\nsecond line\r\n"
)


def test_control_characters_are_escaped_and_an_unknown_charset_is_shown(tmp_path: Path) -> None:
    (tmp_path / "new").mkdir(parents=True)
    (tmp_path / "cur").mkdir()
    (tmp_path / "new" / "1.mail").write_bytes(HOSTILE)
    for text in (listing(tmp_path), showing(tmp_path, None)):
        assert "\x1b" not in text
        assert "\x07" not in text
        assert "\\x1b" in text
    shown = showing(tmp_path, 1)
    assert "red" in shown
    assert "second line" in shown
