"""Plain `topup serve` (the demo, no TOPUP_SMTP_HOST) e-mails into its own SMTP sink: an eSIM bought with an
e-mail address is receipted into the Maildir data/mail/, the banner says so, and `topup simulate mail`
lists and shows the message."""

from __future__ import annotations

import subprocess
import sys
import time
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import httpx

from tests.e2e.browser_stack import serving


def _first_mail(maildir: Path, timeout_s: float = 90.0) -> EmailMessage:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        files = sorted((maildir / "new").glob("*")) if (maildir / "new").is_dir() else []
        if files:
            message = message_from_bytes(files[0].read_bytes(), policy=default_policy)
            assert isinstance(message, EmailMessage)
            return message
        time.sleep(0.2)
    raise AssertionError(f"no e-mail in {maildir} within {timeout_s} s")


def test_the_demo_keeps_its_email_in_the_data_folder(tmp_path: Path) -> None:
    with serving(tmp_path, "demomail", browser=False) as server:
        assert "TOPUP_SMTP_HOST" not in server.env
        body = {"plan_id": "esim-1d-1gb", "payment_method": "alipay", "email": "li@example.com",
                "language": "zh-hans"}  # fmt: skip
        placed = httpx.post(
            f"{server.base}/api/v1/esim/orders", json=body, headers={"Idempotency-Key": "demo-mail-1"},
            timeout=20,
        )  # fmt: skip
        assert placed.status_code == 201, placed.text
        checkout = placed.json()["payment"]["checkout_url"]
        approved = httpx.post(checkout, data={"action": "approve"}, headers={"Accept": "application/json"})
        assert approved.status_code == 200

        mail = _first_mail(tmp_path / "mail")
        assert mail["To"] == "li@example.com"
        assert mail["Date"] is not None
        html = mail.get_body(preferencelist=("html",))
        assert html is not None
        assert "eSIM" in html.get_content()

        log = server.log.read_text(errors="replace")
        assert f"{tmp_path / 'mail'}/new/" in log  # the banner says where the e-mail goes
        assert "no mailer configured" not in log
        sign_in = httpx.get(f"{server.base}/my/esims", timeout=10)
        assert sign_in.status_code == 200  # e-mail works: My eSIMs can send its codes

        def cli(*args: str) -> str:
            done = subprocess.run(
                [sys.executable, "-m", "topup.cli", "simulate", "mail", *args],
                env=server.env, capture_output=True, text=True, check=True,
            )  # fmt: skip
            return done.stdout

        assert "li@example.com" in cli("list")
        shown = cli("show")
        assert "To: li@example.com" in shown
        assert "image/png esim-qr.png (inline)" in shown
