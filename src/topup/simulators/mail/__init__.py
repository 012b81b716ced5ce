"""The demo's SMTP sink: a real SMTP server on loopback keeping every message in a Maildir, so that a newcomer
reads the receipts and sign-in codes the platform e-mails (`topup simulate mail list|show`)."""

from topup.simulators.mail.cli import add_arguments, run

__all__ = ["add_arguments", "run"]
