"""`topup simulate mail list|show`: the messages the sink stored, newest last, and one of them in full
(its headers, its plain text, and the names of its other parts), for a reader without a mail program."""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

SHOWN_HEADERS = ("Date", "From", "To", "Subject", "Message-ID")
# A terminal obeys control characters (ESC sequences clear it, retitle it, hide text): anything may be sent to
# the sink, so every control character but the line breaks and tabs of a body is shown escaped.
_CONTROLS = {c: f"\\x{c:02x}" for c in [*range(0x00, 0x20), *range(0x7F, 0xA0)] if chr(c) not in "\n\t"}


def printable(text: object) -> str:
    return str(text).translate(_CONTROLS)


def _text_of(part: EmailMessage) -> str:
    """A text part's words; in a charset Python does not know, its bytes read as UTF-8."""
    try:
        return str(part.get_content())
    except (LookupError, UnicodeDecodeError):
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload)


def stored(maildir: Path) -> list[tuple[float, EmailMessage]]:
    """Every message in the Maildir (`new/` and `cur/`) with its arrival time, oldest first."""
    if not maildir.is_dir():
        return []
    found: list[tuple[float, str, EmailMessage]] = []
    for path in [*maildir.glob("new/*"), *maildir.glob("cur/*")]:  # a Maildir: one file a message
        parsed = message_from_bytes(path.read_bytes(), policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        found.append((path.stat().st_mtime, path.name, parsed))
    return [(at, message) for at, _name, message in sorted(found, key=lambda item: item[:2])]


def listing(maildir: Path) -> str:
    messages = stored(maildir)
    if not messages:
        return f"no e-mail in {maildir} yet\n"
    lines = [printable(f"{index:>3}  {m['Date'] or '-'}  {m['To']}  {m['Subject']}") for index, (_t, m) in
             enumerate(messages, start=1)]  # fmt: skip
    return "\n".join(lines) + f"\n({len(messages)} in {maildir}; `topup simulate mail show N` prints one)\n"


def showing(maildir: Path, number: int | None) -> str:
    """Message `number` (1 is the oldest; None the newest) as text."""
    messages = stored(maildir)
    if not messages:
        return f"no e-mail in {maildir} yet\n"
    if number is not None and not 1 <= number <= len(messages):
        return f"no message {number}: there are {len(messages)}\n"
    message = messages[-1 if number is None else number - 1][1]
    head = [printable(f"{name}: {message[name]}") for name in SHOWN_HEADERS if message[name] is not None]
    text = message.get_body(preferencelist=("plain",))
    body = printable(_text_of(text)) if isinstance(text, EmailMessage) else "(no plain text part)"
    parts = [_part_line(part) for part in message.walk() if not part.is_multipart() and part is not text]
    return "\n".join([*head, "", body.rstrip(), "", "other parts:", *parts]) + "\n"


def _part_line(part: EmailMessage) -> str:
    disposition = part.get_content_disposition() or "-"
    return printable(f"  {part.get_content_type()} {part.get_filename() or ''} ({disposition})")
