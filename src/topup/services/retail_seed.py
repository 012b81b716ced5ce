"""The demo's night shop: "Nachtwinkel Anspach" in Brussels with a float, a POS terminal and a kiosk.

Its credentials are fixed and published (README, `topup serve`'s banner) so that anyone can try
`topup simulate pos` at once; production never seeds them (and refuses to).
"""

from __future__ import annotations

from typing import Final

from django.db import transaction

from topup.command_name import topup_command
from topup.db.models import Retailer, Terminal
from topup.services import retail_admin
from topup.settings import CONFIG

DEMO_RETAILER_ID: Final = "rtl_demo_anspach"
DEMO_POS_TERMINAL_ID: Final = "trm_demo_pos"
DEMO_KIOSK_TERMINAL_ID: Final = "trm_demo_kiosk"
DEMO_POS_SECRET: Final = "demo-pos-secret-published-in-the-readme"  # noqa: S105 - the demo's, published
DEMO_KIOSK_SECRET: Final = "demo-kiosk-secret-published-in-the-readme"  # noqa: S105 - the demo's, published
DEMO_FLOAT_MINOR: Final = 50_000  # €500 by bank transfer
DEMO_CREDIT_MINOR: Final = 20_000


def seed_demo_shop() -> None:
    """Create the demo shop where it is missing (idempotent; staff's changes are kept)."""
    if CONFIG.is_production:
        raise RuntimeError("production has no demo shop")
    with transaction.atomic():
        if not Retailer.objects.filter(id=DEMO_RETAILER_ID).exists():
            retail_admin.create_retailer(
                "Nachtwinkel Anspach", vat_number="BE0123456749", credit_limit_minor=DEMO_CREDIT_MINOR,
                address_lines=("Anspachlaan 100", "1000 Brussel"), language="nl",
                retailer_id=DEMO_RETAILER_ID,
            )  # fmt: skip
            retail_admin.set_commission(DEMO_RETAILER_ID, 300)
            retail_admin.set_commission(DEMO_RETAILER_ID, 400, network_id="base")
            retail_admin.float_topup(
                DEMO_RETAILER_ID, DEMO_FLOAT_MINOR, bank_reference="DEMO-FLOAT-0001", recorded_by="demo seed"
            )
        for terminal_id, label, kind, secret in (
            (DEMO_POS_TERMINAL_ID, "Kassa 1", "pos", DEMO_POS_SECRET),
            (DEMO_KIOSK_TERMINAL_ID, "Kiosk", "kiosk", DEMO_KIOSK_SECRET),
        ):
            if not Terminal.objects.filter(id=terminal_id).exists():
                retail_admin.create_terminal(
                    DEMO_RETAILER_ID, label, kind=kind, terminal_id=terminal_id, secret=secret
                )


def demo_banner() -> str:
    return (
        f"  demo shop        Nachtwinkel Anspach ({DEMO_RETAILER_ID}): POS {DEMO_POS_TERMINAL_ID} / "
        f"{DEMO_POS_SECRET}\n"
        f"                   {topup_command()} simulate pos --url {CONFIG.public_url} "
        f"--terminal {DEMO_POS_TERMINAL_ID} --secret {DEMO_POS_SECRET} open\n"
    )
