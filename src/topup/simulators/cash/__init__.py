"""The cash acceptor beside a kiosk (its device service driving the note and coin validator), simulated."""

from topup.simulators.cash.cli import add_arguments, run

__all__ = ["add_arguments", "run"]
