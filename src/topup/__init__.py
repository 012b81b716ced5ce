"""Topup: an open-source prepaid recharge platform for mobile SIM cards and eSIM data plans."""

__version__ = "0.1.0"
