"""The three ways a PIN receipt tells the customer to top up really top up, each with a real voucher: the
SMS command and the USSD code as printed, and the web page the receipt names (its form, replay, refusals)."""

from __future__ import annotations

import dataclasses
import re
from datetime import date

import pytest
from django.test import Client

from tests.support.gateways import GatewayClient
from topup.channels import sms
from topup.db.models import Order, Voucher
from topup.domain.receipts import PinCode
from topup.services import vouchers
from topup.services.receipts import render_text
from topup.services.receipts.content import REDEEM_PATH
from topup.services.receipts.sample import sample_receipt

pytestmark = pytest.mark.django_db(transaction=True)

NUMBER = "+32470123456"


def printed(pin: str, serial: str, language: str = "en") -> list[str]:
    """The lines of a PIN receipt for this voucher, stripped."""
    data = dataclasses.replace(sample_receipt(language), pin=PinCode(pin, serial, date(2027, 12, 4)))
    return [line.strip() for line in render_text(data).splitlines()]


@pytest.fixture
def voucher(seeded: None) -> tuple[str, str]:
    _batch, [(serial, pin)] = vouchers.generate_batch("proximus", "proximus-credit-10", 1)
    return serial, pin


@pytest.mark.parametrize("language", ["fr", "zh-hans"])
def test_the_sms_command_on_the_receipt_redeems_the_pin(voucher: tuple[str, str], language: str) -> None:
    serial, pin = voucher
    lines = printed(pin, serial, language)
    command = next(line for line in lines if line.endswith(pin) and not line.startswith("*"))
    sms.handle_inbound(NUMBER, command)
    assert Voucher.objects.get(id=serial).state == "redeemed"
    assert Order.objects.get().msisdn == NUMBER


def test_the_ussd_code_on_the_receipt_redeems_the_pin(voucher: tuple[str, str]) -> None:
    serial, pin = voucher
    code = next(line for line in printed(pin, serial) if line.startswith("*121*"))
    answer = GatewayClient().gateway_post(
        "/channels/ussd", {"sessionId": "s1", "serviceCode": code, "phoneNumber": NUMBER, "text": ""}
    )
    assert answer.status_code == 200
    assert Voucher.objects.get(id=serial).state == "redeemed"


def _form_key(client: Client, path: str = REDEEM_PATH) -> str:
    page = client.get(path)
    assert page.status_code == 200
    found = re.search(r'name="idem" value="([0-9a-f]+)"', page.content.decode())
    assert found is not None
    return found.group(1)


def test_the_web_page_on_the_receipt_redeems_once_and_shows_the_order(voucher: tuple[str, str]) -> None:
    serial, pin = voucher
    assert any(line.endswith(REDEEM_PATH) for line in printed(pin, serial))
    client = Client()
    form = {
        "msisdn": "0470 12 34 56",
        "pin": " ".join([pin[:4], pin[4:8], pin[8:]]),
        "idem": _form_key(client),
    }
    first = client.post(REDEEM_PATH, form)
    assert first.status_code == 302
    order = Order.objects.get()
    assert first["Location"] == f"/orders/{order.id}"
    assert (order.msisdn, order.channel) == (NUMBER, "web")
    assert client.post(REDEEM_PATH, form)["Location"] == first["Location"]  # a resent form: the same order
    assert Order.objects.count() == 1
    changed = client.post(REDEEM_PATH, {**form, "msisdn": "+32470654321"})  # back, another number, resent
    assert changed.status_code == 409
    assert "This form was already sent." in changed.content.decode()
    assert Order.objects.count() == 1
    no_key = client.post(REDEEM_PATH, {"msisdn": NUMBER, "pin": pin})
    assert no_key.status_code == 422
    assert client.get(first["Location"]).status_code == 200  # this browser may follow its top-up
    assert Client().get(first["Location"]).status_code == 404  # nobody else may


def test_the_web_page_refuses_in_the_customers_language_and_changes_nothing(voucher: tuple[str, str]) -> None:
    serial, pin = voucher
    client = Client()
    client.get(f"{REDEEM_PATH}?lang=nl")
    wrong = pin[:-1] + str((int(pin[-1]) + 1) % 10)
    refused = client.post(REDEEM_PATH, {"msisdn": NUMBER, "pin": wrong, "idem": _form_key(client)})
    assert refused.status_code == 422
    assert "geldige" in refused.content.decode() or "niet gekend" in refused.content.decode()
    bad_number = client.post(REDEEM_PATH, {"msisdn": "12", "pin": pin, "idem": _form_key(client)})
    assert bad_number.status_code == 422
    assert Voucher.objects.get(id=serial).state == "active"
    assert Order.objects.count() == 0


def test_a_used_voucher_is_refused_on_a_new_form(voucher: tuple[str, str]) -> None:
    serial, pin = voucher
    client = Client()
    assert (
        client.post(REDEEM_PATH, {"msisdn": NUMBER, "pin": pin, "idem": _form_key(client)}).status_code == 302
    )
    again = client.post(REDEEM_PATH, {"msisdn": "+32470654321", "pin": pin, "idem": _form_key(client)})
    assert again.status_code == 409
    assert Voucher.objects.get(id=serial).order_id == Order.objects.get().id


def test_a_form_posted_from_another_site_is_refused(voucher: tuple[str, str]) -> None:
    _serial, pin = voucher
    outsider = Client(enforce_csrf_checks=True)
    refused = outsider.post(REDEEM_PATH, {"msisdn": NUMBER, "pin": pin, "idem": "x"})
    assert refused.status_code == 403
    assert Order.objects.count() == 0
