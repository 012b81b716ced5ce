"""Both currencies in what an Alipay or WeChat Pay payer reads after paying: the receipt by SMS and
e-mail, in Chinese and English, with the rate, its source and date; the SMS stays within a few parts."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.integration.conftest import run_jobs_until_idle
from tests.integration.test_notifications import (  # noqa: F401  (fixtures: catalogues, SMS, SMTP)
    Inbox,
    RecordingSms,
    _deliver,
    _prefer,
    compiled_catalogues,
    plain_text,
    sms,
    smtp_inbox,
)
from topup.adapters.messaging.sms_text import split_text
from topup.clock import new_id, now
from topup.db.models import Order, OrderEvent, PlanRecord
from topup.domain.orders import OrderStatus
from topup.domain.quotes import make_quote
from topup.services import fx

ZH_NUMBER, EN_NUMBER = "+32471000201", "+32471000202"
MAX_SMS_PARTS = 3


def _delivering_fx_order(msisdn: str, *, charged_in_yuan: bool = False) -> Order:
    plan = PlanRecord.objects.select_related("network").get(id="proximus-credit-10")
    quote = fx.with_fx(
        make_quote(plan.to_domain(), plan.network.to_domain(), msisdn, guessed_network=None), "alipay"
    )
    assert quote.fx is not None
    if charged_in_yuan:
        quote = replace(quote, fx=replace(quote.fx, charge_currency="CNY"))
    at = now()
    order = Order.objects.create(
        id=new_id("ord"), plan=plan, network=plan.network, msisdn=msisdn, channel="web", language="en",
        status=OrderStatus.DELIVERING.value, total_minor=quote.total.amount_minor, currency=quote.currency,
        quote=quote.to_dict(), created_at=at, updated_at=at,
    )  # fmt: skip
    OrderEvent.objects.create(order=order, from_status="paid", to_status="delivering", at=at)
    return order


@pytest.mark.django_db(transaction=True)
def test_receipts_show_yuan_with_rate_source_and_date_in_chinese_and_english(
    seeded: None,
    sms: RecordingSms,  # noqa: F811 - the fixture imported above
    smtp_inbox: tuple[Inbox, int],  # noqa: F811
) -> None:
    inbox, _port = smtp_inbox
    _prefer(ZH_NUMBER, "zh-hans", "li@example.test")
    _prefer(EN_NUMBER, "en", "sam@example.test")
    _deliver(_delivering_fx_order(ZH_NUMBER))
    _deliver(_delivering_fx_order(EN_NUMBER, charged_in_yuan=True))
    run_jobs_until_idle()

    texts = dict(sms.sent)
    zh, en = texts[ZH_NUMBER], texts[EN_NUMBER]
    for part in ("充值已到账", "€10.00", "约 ¥78.42", "汇率 7.6880", "欧洲央行", "另加 2%"):
        assert part in zh, (part, zh)
    # Charged in yuan: the yuan amount leads, the euro total follows.
    for part in ("78,42\xa0CN¥ (10,00\xa0€ at 7,6880, ECB", "+ 2%"):
        assert part in en, (part, en)
    day = now().date()
    assert f"{day:%Y}年{day.month}月{day.day}日" in zh
    mails = {str(m["To"]): plain_text(m) for m in inbox.messages}
    assert set(mails) == {"li@example.test", "sam@example.test"}
    assert zh in mails["li@example.test"]
    assert en in mails["sam@example.test"]
    for text in (zh, en):
        _coding, parts, _esm = split_text(text)
        assert len(parts) <= MAX_SMS_PARTS, (len(parts), text)
