"""The back office for staff (Django's admin on our own site, `topup.channels.backoffice.site`): one module
per part of the platform, each registering its pages when the admin discovers this package.

The shared bases are importable from here as they were from the former `topup/db/admin.py`
(`from topup.db.admin import ReadOnlyAdmin`), so other parts register read-only pages the same way.
"""

from topup.db.admin import autotopup, catalogue, ledger, orders, partners, promotions, retail, vouchers
from topup.db.admin.base import BackOfficeAdmin, ModelAdmin, ReadOnlyAdmin, ReadOnlyInline, TabularInline

__all__ = [
    "BackOfficeAdmin",
    "ModelAdmin",
    "ReadOnlyAdmin",
    "ReadOnlyInline",
    "TabularInline",
    "autotopup",
    "catalogue",
    "ledger",
    "orders",
    "partners",
    "promotions",
    "retail",
    "vouchers",
]
