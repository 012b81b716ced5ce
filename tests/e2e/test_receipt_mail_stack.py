"""The running platform (gunicorn, worker, simulators as processes) e-mails the receipt wherever
TOPUP_SMTP_HOST points: a Dutch top-up on the website with an e-mail address, paid at the payment simulator,
delivered by the worker, and its receipt read from the SMTP sink (HTML, text and a PDF that opens)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.e2e.stack import platform


def _form_post(client: httpx.Client, url: str, page: str, data: dict[str, str]) -> httpx.Response:
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None, page[:500]
    return client.post(url, data={"csrfmiddlewaretoken": token.group(1), **data})


def test_a_website_top_up_is_receipted_by_email(tmp_path: Path) -> None:
    with platform(tmp_path, "e2e_mail") as stack:
        web = httpx.Client(base_url=stack.url, timeout=20, headers={"Referer": stack.url})
        page = web.get("/topup", params={"lang": "nl"}).text
        assert _form_post(web, "/topup", page, {"msisdn": "0470 12 34 56"}).status_code == 302
        page = web.get("/topup/network").text
        assert _form_post(web, "/topup/network", page, {"network": "proximus"}).status_code == 302
        page = web.get("/topup/plans").text
        assert _form_post(web, "/topup/plans", page, {"plan_id": "proximus-credit-10"}).status_code == 302
        page = web.get("/topup/review").text
        assert 'name="email"' in page
        idem = re.search(r'name="idem" value="([0-9a-f]+)"', page)
        assert idem is not None
        form = {"idem": idem.group(1), "payment_method": "card", "email": "Jan@Voorbeeld.be"}
        checkout = _form_post(web, "/topup/review", page, form).headers["Location"]
        assert checkout.startswith(stack.payments_url)
        approved = httpx.post(checkout, data={"action": "approve"}, headers={"Accept": "application/json"})
        assert approved.status_code == 200

        mail = stack.mailbox.wait_for(lambda m: str(m["To"]) == "jan@voorbeeld.be", timeout_s=60)
        assert "herlading" in str(mail["Subject"])  # in Dutch
        html = mail.get_body(preferencelist=("html",))
        text = mail.get_body(preferencelist=("plain",))
        assert html is not None
        assert text is not None
        assert "Proximus" in html.get_content()
        assert "btw" in text.get_content().lower()
        pdfs = [p for p in mail.iter_attachments() if p.get_content_type() == "application/pdf"]
        assert len(pdfs) == 1
        assert pdfs[0].get_content().startswith(b"%PDF")
        assert len(stack.mailbox.messages) == 1
