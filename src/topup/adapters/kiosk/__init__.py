"""Adapters of the kiosk's own devices: the cash acceptor's device service."""
