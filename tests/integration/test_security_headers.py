"""Every page is served with a Content-Security-Policy that forbids inline script and style, and none needs
one: no inline <script>, <style>, style="" or on*="" handler anywhere (customer pages, order pages, the
back office, the API docs). /metrics answers only with its Bearer token, or without one on loopback in
the demo and tests."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.test.client import RequestFactory

from tests.integration.test_notifications import RecordingSms
from tests.integration.test_web_pages import _esim_order, _order
from topup.channels import health
from topup.services import notifications

pytestmark = pytest.mark.django_db(transaction=True)

INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)
STYLE = re.compile(r"<style\b|<[a-z][^>]*\sstyle\s*=", re.I)
TOKEN = "m" * 40


@pytest.fixture
def sms() -> Iterator[RecordingSms]:
    recorder = RecordingSms()  # test-only: the SMPP sender has its own test against the SMSC simulator
    notifications.configure(sms=recorder)
    yield recorder
    notifications.configure()


def assert_locked_down(url: str, answer: object) -> None:
    status = getattr(answer, "status_code", 0)
    assert status in (200, 404, 422), (url, status)
    policy = answer["Content-Security-Policy"]  # type: ignore[index]
    assert policy == settings.CONTENT_SECURITY_POLICY, url
    assert "script-src 'self';" in policy
    assert "style-src 'self';" in policy
    assert "unsafe" not in policy
    assert "frame-ancestors 'none'" in policy
    page = answer.content.decode()  # type: ignore[attr-defined]
    assert "<html" in page.lower(), url
    assert not INLINE_SCRIPT.findall(page), (url, INLINE_SCRIPT.findall(page))
    assert not HANDLER.findall(page), (url, HANDLER.findall(page))
    assert not STYLE.findall(page), (url, STYLE.findall(page))
    assert "javascript:" not in page.lower(), url


def customer_pages(client: Client, sms: RecordingSms) -> Iterator[tuple[str, object]]:
    """Home, the top-up steps, the eSIM steps, a form with an error, My line signed out and in."""
    for url in ("/", "/?lang=zh-hans", "/topup", "/esim", "/my", "/orders/ord_nobody"):
        yield url, client.get(url)
    yield "/topup (wrong number)", client.post("/topup", {"msisdn": "12"})
    client.post("/topup", {"msisdn": "0470 12 34 56"})
    yield "/topup/network", client.get("/topup/network")
    client.post("/topup/network", {"network": "proximus"})
    yield "/topup/plans", client.get("/topup/plans")
    client.post("/topup/plans", {"plan_id": "proximus-credit-10"})
    yield "/topup/review", client.get("/topup/review")
    client.post("/esim", {"plan_id": "esim-30d-unlimited"})
    yield "/esim/review", client.get("/esim/review")
    client.post("/my", {"msisdn": "0470 12 34 56"})
    yield "/my/code", client.get("/my/code")
    code = re.search(r"\b(\d{6})\b", sms.sent[-1][1])
    assert code is not None
    client.post("/my/code", {"code": code.group(1)})
    yield "/my (signed in)", client.get("/my")


def test_every_customer_page_has_the_policy_and_no_inline_script(
    seeded: None, carriers_simulator: str, sms: RecordingSms
) -> None:
    seen = []
    for url, answer in customer_pages(Client(), sms):
        assert_locked_down(url, answer)
        seen.append(url)
    assert len(seen) == 13


def test_order_pages_have_the_policy_and_no_inline_script(seeded: None) -> None:
    esim, _line = _esim_order()
    statuses = ["created", "awaiting_payment"]
    topup = _order("ord_web_topup", "proximus-credit-10", "+32470123456", statuses)
    for order in (esim, topup):
        assert_locked_down(f"/orders/{order.id}", Client().get(f"/orders/{order.id}"))


def test_back_office_and_api_docs_have_the_policy_and_no_inline_script(seeded: None) -> None:
    assert_locked_down("/admin/login/", Client().get("/admin/login/"))
    assert_locked_down("/api/v1/docs", Client().get("/api/v1/docs"))
    agent = Client()
    agent.force_login(User.objects.create_superuser("agent", "agent@topup.invalid", "not-used-here"))
    for url in ("/admin/", "/admin/topup/order/", "/admin/topup/planrecord/proximus-credit-10/change/"):
        assert_locked_down(url, agent.get(url))


def test_the_style_sheet_is_a_static_file() -> None:
    css = Client().get("/static/topup/site.css")
    assert css.status_code == 200
    assert css["Content-Type"].startswith("text/css")
    assert b".card{" in b"".join(css.streaming_content)  # type: ignore[attr-defined]


def test_json_answers_carry_the_policy_too() -> None:
    assert Client().get("/healthz")["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY


# ---------------------------------------------------------------- /metrics


def metrics(remote: str = "127.0.0.1", authorization: str | None = None) -> tuple[int, str]:
    headers = {} if authorization is None else {"Authorization": authorization}
    request = RequestFactory().get("/metrics", REMOTE_ADDR=remote, headers=headers)
    answer = health.metrics(request)
    return answer.status_code, answer.content.decode()


def test_without_a_token_metrics_are_open_on_loopback_only() -> None:
    with override_settings(METRICS_TOKEN=""):
        assert metrics("127.0.0.1")[0] == 200
        assert metrics("::1")[0] == 200
        assert metrics("192.0.2.7")[0] == 403
        assert metrics("")[0] == 403


def test_with_a_token_metrics_need_it_from_everywhere() -> None:
    with override_settings(METRICS_TOKEN=TOKEN):
        assert metrics("127.0.0.1")[0] == 401
        assert metrics("192.0.2.7", "Basic bWU6cHc=")[0] == 401
        assert metrics("192.0.2.7", f"Bearer {'x' * 40}")[0] == 403
        assert metrics("192.0.2.7", f"Bearer {TOKEN[:-1]}")[0] == 403
        status, text = metrics("192.0.2.7", f"Bearer {TOKEN}")
        assert status == 200
        assert "# TYPE topup_orders_total counter" in text


def test_metrics_through_the_url_map() -> None:
    with override_settings(METRICS_TOKEN=TOKEN):
        refused = Client().get("/metrics")
        assert refused.status_code == 401
        assert refused["WWW-Authenticate"] == 'Bearer realm="metrics"'
        assert Client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
