"""SMSC simulator: an SMPP 3.4 server the platform binds to as an ESME, plus an HTTP side that plays the
phones (send an SMS to the short code, read what the platform sent back). `python -m topup.simulators.smsc`
runs it; `phone_cli` drives one phone from the command line (`topup simulate sms`).
"""

from topup.simulators.smsc.cli import add_arguments, run

__all__ = ["add_arguments", "run"]
