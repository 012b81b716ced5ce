"""The demo's promotions, so that a newcomer sees each kind at once: a first top-up discount, a
buy-one-get-one on an eSIM plan, and the flyer code FLYER5. Created where missing (staff's edits are kept).
"""

from __future__ import annotations

from typing import Final

from django.db import transaction

from topup.clock import now
from topup.db.models import Campaign, NetworkRecord, PlanRecord, PromoCode
from topup.domain import promotion_rules as rules
from topup.services.plan_text import plan_title

WELCOME_ID: Final = "cmp_demo_welcome"
BOGO_ID: Final = "cmp_demo_bogo_esim"
FLYER_ID: Final = "cmp_demo_flyer5"
FLYER_CODE: Final = "FLYER5"
BOGO_PLAN: Final = "esim-1d-1gb"  # the smallest hosted plan: 1 GB

WELCOME_NAMES: Final = {
    "en": "Welcome: 10 % off your first top-up",
    "nl": "Welkom: 10 % korting op je eerste herlading",
    "fr": "Bienvenue : 10 % de réduction sur votre première recharge",
    "de": "Willkommen: 10 % Rabatt auf Ihre erste Aufladung",
    "zh-hans": "欢迎：首次充值立减 10%",  # noqa: RUF001 - Chinese punctuation
}
# What the buy-one-get-one was first seeded as (an old demo's database is given the name below).
OLD_BOGO_NAME: Final = "Buy one, get one free: a second 1 day 1 GB eSIM bundle"
# The buy-one-get-one's name around the plan's own title in each language (services.plan_text: the one set
# of translated plan names, "1 GB · 1 day"), so that the two never disagree.
BOGO_NAME_FORMS: Final = {
    "en": "Buy one, get one free: a second eSIM bundle ({plan})",
    "nl": "1 + 1 gratis: een tweede eSIM-bundel ({plan})",
    "fr": "1 acheté, 1 offert : un deuxième forfait eSIM ({plan})",
    "de": "1 + 1 gratis: ein zweites eSIM-Paket ({plan})",
    "zh-hans": "买一送一：再送一个 eSIM 流量包（{plan}）",  # noqa: RUF001 - Chinese punctuation
}
FLYER_NAMES: Final = {
    "en": "Flyer: €5 off €15 or more",
    "nl": "Flyer: € 5 korting vanaf € 15",
    "fr": "Flyer : 5 € de réduction dès 15 €",
    "de": "Flyer: 5 € Rabatt ab 15 €",
    "zh-hans": "传单优惠：满 15 欧元减 5 欧元",  # noqa: RUF001 - Chinese punctuation
}


def bogo_names() -> dict[str, str]:
    """The demo buy-one-get-one's name in each language, with the plan's title in that language."""
    return {
        language: form.format(plan=plan_title(BOGO_PLAN, language))
        for language, form in BOGO_NAME_FORMS.items()
    }


def seed_demo_promotions() -> None:
    """Create the three demo campaigns and the FLYER5 code where they are missing."""
    at = now()
    external = ",".join(
        NetworkRecord.objects.filter(kind="external").order_by("id").values_list("id", flat=True)
    )
    hosted = list(NetworkRecord.objects.filter(kind="hosted").values_list("id", flat=True))
    with transaction.atomic():
        Campaign.objects.get_or_create(
            id=WELCOME_ID,
            defaults={
                "names": WELCOME_NAMES, "rule": rules.Rule.FIRST_TOPUP.value, "channels": "web,api,sms,ussd",
                "networks": external, "priority": 10, "percent_bp": 1000, "created_at": at,
            },
        )  # fmt: skip
        bogo_network = PlanRecord.objects.filter(id=BOGO_PLAN).values_list("network_id", flat=True).first()
        if bogo_network in hosted:
            _, created = Campaign.objects.get_or_create(
                id=BOGO_ID,
                defaults={
                    "names": bogo_names(), "rule": rules.Rule.BOGO.value, "networks": bogo_network,
                    "plans": BOGO_PLAN, "priority": 30, "bogo_mode": rules.BogoMode.SAME_PURCHASE.value,
                    "budget_minor": 100_000, "created_at": at,
                },
            )  # fmt: skip
            if not created:  # a demo seeded before the plan titles were composed: its name, unless edited
                Campaign.objects.filter(id=BOGO_ID, names__en=OLD_BOGO_NAME).update(names=bogo_names())
        flyer, _ = Campaign.objects.get_or_create(
            id=FLYER_ID,
            defaults={
                "names": FLYER_NAMES, "rule": rules.Rule.FIXED.value, "priority": 20, "amount_minor": 500,
                "min_amount_minor": 1500, "requires_code": True, "once_per_customer": True,
                "refund_rule": rules.RefundRule.RESTORE.value, "created_at": at,
            },
        )  # fmt: skip
        PromoCode.objects.get_or_create(
            code=FLYER_CODE, defaults={"campaign": flyer, "max_uses": 1000, "created_at": at}
        )
