"""An aggregator route whose operator does not share line balances (DT One answers 1003101): the balance
inquiry says so in the line's language, on SMS and in the API, instead of "not on that network"."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from django.test import Client

from tests.support.wired import point
from topup.channels.sms import handle_inbound
from topup.ports import CarrierOutcome, CarrierResult
from topup.services import peers

pytestmark = pytest.mark.django_db

PHONE = "+32470123999"


class SilentAboutBalances:
    """A carrier route that delivers but does not tell balances, as DT One for some operators."""

    def balance(self, network_id: str, msisdn: str) -> CarrierResult:
        return CarrierResult(CarrierOutcome.REJECTED, code="not_supported")


@pytest.fixture
def silent(seeded: None) -> Iterator[None]:
    wired = peers.current()
    route = SilentAboutBalances()
    peers.install(dataclasses.replace(wired, carriers={**wired.carriers, "gateway": route}))  # type: ignore[dict-item]
    yield
    point()


def test_sms_saldo_says_the_operator_does_not_share_balances(silent: None) -> None:
    reply = handle_inbound(PHONE, "SALDO")
    assert (
        reply
        == "Deze operator deelt geen saldo's met ons. Vraag je saldo aan de operator; opwaarderen werkt wel."
    )


def test_the_api_answers_balance_not_shared_in_chinese(silent: None) -> None:
    from topup.channels.api.auth import create_key  # noqa: PLC0415

    key = create_key(["balance:read"], name="test")
    answer = Client().get(
        f"/api/v1/lines/{PHONE}/balance",
        headers={"Authorization": f"Bearer {key}", "Accept-Language": "zh-hans"},
    )
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert error["code"] == "balance_not_shared"
    assert "运营商" in error["message"]
