"""What staff do with promotions outside a sale: validate a campaign's terms, list campaigns, add a code."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from topup.clock import now
from topup.db.models import Campaign, NetworkRecord, PromoCode
from topup.domain import promotion_rules as rules
from topup.domain.errors import Conflict, InvalidInput, NotFound
from topup.services.promotions import terms


def validate(campaign: Campaign) -> None:
    """Refuse terms the engine could not honour (a bonus on a network we do not deliver ourselves...)."""
    hosted = NetworkRecord.objects.filter(kind="hosted").values_list("id", flat=True)
    rules.validate(terms(campaign), hosted)


def listing() -> list[dict[str, object]]:
    return [
        {
            "id": campaign.id,
            "name": str(campaign),
            "rule": campaign.rule,
            "active": campaign.active,
            "budget_minor": campaign.budget_minor,
            "spent_minor": campaign.spent_minor,
            "codes": [
                {"code": code.code, "uses": code.uses, "max_uses": code.max_uses, "active": code.active}
                for code in campaign.codes.order_by("code")
            ],
        }
        for campaign in Campaign.objects.order_by("priority", "id").prefetch_related("codes")
    ]


def create_code(text: str, campaign_id: str, *, max_uses: int | None = None) -> str:
    code = rules.check_code_format(rules.normalise_code(text))
    if max_uses is not None and max_uses < 1:
        raise InvalidInput("a code is usable at least once", code="promotion_invalid", field="max_uses")
    campaign = Campaign.objects.filter(id=campaign_id).first()
    if campaign is None:
        raise NotFound(f"no campaign {campaign_id}", code="promotion_invalid", field="campaign")
    try:
        with transaction.atomic():
            PromoCode.objects.create(code=code, campaign=campaign, max_uses=max_uses, created_at=now())
    except IntegrityError:
        raise Conflict(f"the code {code} exists already", code="promotion_invalid", field="code") from None
    return code
