"""Adapters that carry SMS between the platform and phones (`smpp.SmppLink`: an ESME bound to an SMSC)."""
