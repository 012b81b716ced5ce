"""E-mail through an SMTP relay (smtplib, with a timeout), for receipts and bundle warnings.

A message is plain text, or multipart/alternative (text + HTML) when HTML is given; inline images sit with
the HTML in multipart/related (`cid:` links), other files make it multipart/mixed. A Unicode domain is sent
in its ASCII (IDNA) form, so a relay without SMTPUTF8 takes it.

A refusal or an unreachable relay is `NotSent` (retried by the outbox); a connection lost during DATA is
"unknown" and propagates, so that the message is not sent twice. Bodies are never logged.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from topup.metrics.peers import peer_call
from topup.ports import Attachment, NotSent

REFUSALS = (
    smtplib.SMTPHeloError,
    smtplib.SMTPAuthenticationError,
    smtplib.SMTPNotSupportedError,
    smtplib.SMTPSenderRefused,
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPDataError,  # the relay answered DATA with an error: it did not take the message
)


class SmtpMailer:
    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        timeout_s: float = 10.0,
        starttls: bool = False,
        username: str = "",
        password: str = "",
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.timeout_s = timeout_s
        self.starttls = starttls
        self._username, self._password = username, password

    def send(
        self,
        to: str,
        subject: str,
        body: str,
        *,
        html: str | None = None,
        attachments: Sequence[Attachment] = (),
    ) -> None:
        message = build_message(
            self.sender, ascii_address(to), subject, body, html=html, attachments=attachments
        )
        with peer_call("smtp", "send"):
            try:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
            except OSError as exc:
                raise NotSent(f"SMTP relay {self.host}:{self.port} unreachable: {exc}") from exc
            with client:
                try:
                    if self.starttls:
                        client.starttls(context=ssl.create_default_context())
                    if self._username:
                        client.login(self._username, self._password)
                    client.send_message(message)
                except REFUSALS as exc:
                    raise NotSent(f"SMTP relay refused the message: {type(exc).__name__}") from exc


def ascii_address(address: str) -> str:
    """`li@例子.中国` as `li@xn--fsqu00a.xn--fiqs8s`: the domain in IDNA, the local part as it is."""
    local, at, domain = address.rpartition("@")
    if not at or domain.isascii():
        return address
    return f"{local}@{domain.encode('idna').decode('ascii')}"


def _domain(sender: str) -> str | None:
    """The domain of the From address (`Topup <receipts@topup.example>`), for our Message-IDs."""
    address = parseaddr(sender)[1]
    return ascii_address(address).rpartition("@")[2] or None


def build_message(
    sender: str, to: str, subject: str, body: str, *, html: str | None, attachments: Sequence[Attachment]
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=_domain(sender))
    message.set_content(body)  # UTF-8, so Chinese text survives
    inline = [a for a in attachments if a.content_id] if html is not None else []
    if html is not None:
        message.add_alternative(html, subtype="html")
        html_part = message.get_body(preferencelist=("html",))
        assert html_part is not None  # just added
        for item in inline:
            maintype, _slash, subtype = item.content_type.partition("/")
            html_part.add_related(  # shown in the HTML where `cid:` points, not offered as a file
                item.data, maintype, subtype, cid=f"<{item.content_id}>", filename=item.filename,
                disposition="inline",
            )  # fmt: skip
    for item in attachments:
        if item not in inline:
            maintype, _slash, subtype = item.content_type.partition("/")
            message.add_attachment(item.data, maintype, subtype, filename=item.filename)
    return message
