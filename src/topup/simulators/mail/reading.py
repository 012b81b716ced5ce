"""`topup simulate mail list|show`: the messages the sink stored, newest last, and one of them in full
(its headers, its plain text, and the names of its other parts), for a reader without a mail program."""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

SHOWN_HEADERS = ("Date", "From", "To", "Subject", "Message-ID")


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
    lines = [f"{index:>3}  {m['Date'] or '-'}  {m['To']}  {m['Subject']}" for index, (_t, m) in
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
    head = [f"{name}: {message[name]}" for name in SHOWN_HEADERS if message[name] is not None]
    text = message.get_body(preferencelist=("plain",))
    body = text.get_content() if text is not None else "(no plain text part)"
    parts = [
        f"  {part.get_content_type()} {part.get_filename() or ''} ({part.get_content_disposition() or '-'})"
        for part in message.walk()
        if not part.is_multipart() and part is not text
    ]
    return "\n".join([*head, "", body.rstrip(), "", "other parts:", *parts]) + "\n"
