"""Carrier simulator: one aiohttp server playing the top-up gateways of Proximus, Orange Belgium, BASE and
Telenet over HTTP JSON, with idempotent references, portability, validity, fault injection and optional
SQLite persistence. `topup simulate carriers` and `python -m topup.simulators.carriers` run it.
"""

from topup.simulators.carriers.cli import add_arguments, run

__all__ = ["add_arguments", "run"]
