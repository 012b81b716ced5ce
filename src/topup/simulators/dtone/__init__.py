"""DT One DVS simulator: one aiohttp server playing DT One's Digital Value Services API v1 for Belgian
operators (airtime and data bundle products, asynchronous transactions with confirm, cancel, callbacks and
the sandbox's outcome conventions, the account float, faults). `topup simulate dtone` runs it.
"""

from topup.simulators.dtone.cli import add_arguments, run

__all__ = ["add_arguments", "run"]
