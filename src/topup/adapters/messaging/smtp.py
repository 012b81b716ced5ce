"""E-mail through an SMTP relay (smtplib, with a timeout), for receipts and bundle warnings.

A refusal or an unreachable relay is `NotSent` (retried by the outbox); a connection lost during DATA is
"unknown" and propagates, so that the message is not sent twice. Bodies are never logged.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from topup.ports import NotSent

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

    def send(self, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)  # UTF-8, so Chinese text survives
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
