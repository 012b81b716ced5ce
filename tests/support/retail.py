"""A shop for tests: a retailer with a float, a 3 % Proximus commission, a terminal with an open shift."""

from __future__ import annotations

from topup.db.models import Retailer, Terminal
from topup.services import retail_admin, shifts


def shop(
    float_minor: int = 10_000, credit_minor: int = 0, *, opening_float_minor: int = 5_000, terminals: int = 1
) -> list[tuple[str, str]]:
    """(terminal id, secret) of each new terminal, each with its shift open."""
    retailer = retail_admin.create_retailer(
        "Nachtwinkel", vat_number="BE0123456789", credit_limit_minor=credit_minor,
        address_lines=("Anspachlaan 1", "1000 Brussel"),
    )  # fmt: skip
    retail_admin.set_commission(retailer.id, 300, network_id="proximus")
    if float_minor:
        reference = f"BANK-{retailer.id}"
        retail_admin.float_topup(retailer.id, float_minor, bank_reference=reference, recorded_by="staff")
    made = []
    for n in range(terminals):
        credentials = retail_admin.create_terminal(retailer.id, f"till {n + 1}")
        terminal = Terminal.objects.select_related("retailer").get(id=credentials.terminal_id)
        shifts.open_shift(terminal, opened_by="Anna", opening_float_minor=opening_float_minor)
        made.append((credentials.terminal_id, credentials.secret))
    return made


def float_of(terminal_id: str) -> int:
    return Retailer.objects.get(terminals__id=terminal_id).float_minor
