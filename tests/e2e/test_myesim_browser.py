"""My eSIMs in a real browser at 360 px: `topup serve` sending e-mail to a local SMTP sink (aiosmtpd), then
`node tests/browser/myesim.mjs`. A Chinese buyer buys an eSIM through the API with an e-mail address and pays
on the payment simulator's checkout; on the website in Chinese they sign in to My eSIMs with the code the
sink received, see the eSIM (its bar, its QR code decoding to the activation code) and add data up to the
review for that ICCID. Screenshots go to artifacts/screenshots/myesim-*.png.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from tests.e2e.stack import LOGS, fresh_database_url
from tests.e2e.test_browser import (
    ARTIFACTS,
    SERVE_PORTS,
    _free_port_block,
    _require_browser,
    _tail,
    _wait_healthy,
)
from tests.support.processes import ROOT, free_port

pytestmark = pytest.mark.slow

JOURNEY = ROOT / "tests" / "browser" / "myesim.mjs"
EMAIL = "li.na@example.cn"


class MailSink:
    """Writes each message it receives as JSON (to, subject, text body) into a folder the journey reads."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook
        message = message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        body = message.get_body(preferencelist=("plain",))
        self.count += 1
        document = {
            "to": str(message["To"]),
            "subject": str(message["Subject"]),
            "text": body.get_content() if body is not None else "",
        }
        path = self.folder / f"{self.count:04d}.json"
        path.with_suffix(".tmp").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
        path.with_suffix(".tmp").replace(path)
        return "250 OK"


@pytest.fixture
def served_with_mail(tmp_path: Path) -> Iterator[tuple[str, Path, dict[str, str]]]:
    """`topup serve` on a fresh database, its e-mail going to a sink on loopback; yields the web URL, the
    sink's folder and the settings."""
    _require_browser()
    LOGS.mkdir(parents=True, exist_ok=True)
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    smtp_port = free_port()
    sink = Controller(MailSink(mail_dir), hostname="127.0.0.1", port=smtp_port)
    sink.start()
    port = _free_port_block(SERVE_PORTS)
    env = {key: value for key, value in os.environ.items() if not key.startswith("TOPUP_")}
    env.update(
        {
            "TOPUP_ENV": "demo",
            "TOPUP_HOST": "127.0.0.1",
            "TOPUP_PORT": str(port),
            "TOPUP_DATA_DIR": str(tmp_path),
            "TOPUP_DATABASE_URL": fresh_database_url(tmp_path, "myesim"),
            "TOPUP_WEB_WORKERS": "2",
            "TOPUP_SMTP_HOST": "127.0.0.1",
            "TOPUP_SMTP_PORT": str(smtp_port),
        }
    )
    env.pop("DJANGO_LIVE_TEST_SERVER_ADDRESS", None)
    log_path = LOGS / "myesim-serve.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "topup.cli", "serve"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_healthy(f"{base}/healthz", process, log_path)
            yield base, mail_dir, env
        finally:
            sink.stop()
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


def _buy_esim_through_the_api(base: str, env: dict[str, str]) -> tuple[str, str]:
    """A Chinese buyer's app orders an eSIM with an e-mail address: the order id and where to pay."""
    answer = httpx.post(
        f"{base}/api/v1/esim/orders",
        json={"plan_id": "esim-7d-5gb", "payment_method": "card", "language": "zh-hans", "email": EMAIL},
        headers={"Idempotency-Key": uuid.uuid4().hex},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    order = answer.json()
    action = order["payment"]["next_action"]
    pay_url = action["url"] if action and action.get("url") else order["payment"]["checkout_url"]
    assert pay_url, order
    # Until helper "mail"'s intake (`email` in POST /api/v1/esim/orders) is merged, this branch's API drops
    # the field: store the address the buyer gave on the order, as that intake does (a no-op after it).
    backfill = (
        "from topup.db.models import Order;"
        f"print(Order.objects.filter(id={order['id']!r}, email_index='').update(email={EMAIL!r}))"
    )
    done = subprocess.run(
        [sys.executable, "-m", "topup.cli", "manage", "shell", "-c", backfill],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    print(f"order {order['id']}: e-mail stored by the API: {done.stdout.strip() == '0'}")
    return str(order["id"]), str(pay_url)


def test_my_esims_in_chinese_in_a_browser(served_with_mail: tuple[str, Path, dict[str, str]]) -> None:
    base, mail_dir, env = served_with_mail
    order_id, pay_url = _buy_esim_through_the_api(base, env)
    result = subprocess.run(
        ["node", str(JOURNEY), base, str(mail_dir), str(ARTIFACTS), EMAIL, order_id, pay_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    print(result.stdout, result.stderr, sep="\n")
    assert result.returncode == 0, (
        f"My eSIMs journey failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}\n"
        f"the server's last lines ({LOGS / 'myesim-serve.log'}):\n{_tail(LOGS / 'myesim-serve.log')}"
    )
