"""The back office for staff (Django's admin on our own site, `topup.channels.backoffice.site`): one module
per part of the platform, each registering its pages when the admin discovers this package."""

from topup.db.admin import catalogue, ledger, orders, retail, vouchers

__all__ = ["catalogue", "ledger", "orders", "retail", "vouchers"]
