"""A Chinese buyer's eSIM in a real browser at 360 px: `topup serve` sending e-mail to a local SMTP sink
(aiosmtpd), then `node tests/browser/myesim.mjs`. On the website in Chinese the buyer picks an eSIM plan,
gives an e-mail address on the review, pays by card on the payment simulator's checkout and waits on the order
page until the eSIM is delivered; the receipt e-mail the sink received is in Chinese, its PDF is attached and
its inline QR code decodes to the activation code the order page shows. Then they sign in to My eSIMs with
the code the sink received, see the eSIM (its bar, its QR code) and add data up to the review for that
ICCID. Screenshots go to artifacts/screenshots/myesim-*.png.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage, Message
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.e2e.browser_stack import ARTIFACTS, serving
from tests.e2e.browser_stack import tail as _tail
from tests.e2e.stack import LOGS
from tests.support.processes import ROOT, free_port

pytestmark = pytest.mark.slow

JOURNEY = ROOT / "tests" / "browser" / "myesim.mjs"
EMAIL = "li.na@example.cn"
SELLER = "Topup shop;Rue Neuve 1;1000 Bruxelles;BE0000000097"  # the receipt's header: names, not English


class MailSink:
    """Writes each message it receives as JSON (to, subject, text and HTML bodies, its images and PDFs) into a
    folder the journey reads; the images and PDFs go to files next to it (`0003-qr.png`, `0003.pdf`)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook
        message = message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        self.count += 1
        stem = f"{self.count:04d}"
        images: list[dict[str, str]] = []
        pdfs: list[str] = []
        for part in message.walk():
            kind = part.get_content_type()
            if kind == "application/pdf":
                pdfs.append(self._save(part, f"{stem}{'' if not pdfs else f'-{len(pdfs) + 1}'}.pdf"))
            elif part.get_content_maintype() == "image":  # inline (by Content-ID) or attached
                cid = str(part.get("Content-ID", "")).strip("<>")
                label = re.sub(r"[^\w-]", "_", cid.partition("@")[0]) if cid else f"{len(images) + 1}"
                name = f"{stem}-{label}.{part.get_content_subtype()}"  # 0003-esim-qr.png, 0003-2.png
                images.append({"cid": cid, "type": kind, "file": self._save(part, name)})
        document = {
            "to": str(message["To"]),
            "subject": str(message["Subject"]),
            "text": _body(message, "plain"),
            "html": _body(message, "html"),
            "images": images,
            "pdfs": pdfs,
        }
        path = self.folder / f"{stem}.json"  # written last, whole: the journey reads it once it exists
        path.with_suffix(".tmp").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
        path.with_suffix(".tmp").replace(path)
        return "250 OK"

    def _save(self, part: Message, name: str) -> str:
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes), name
        (self.folder / name).write_bytes(payload)
        return name


def _body(message: EmailMessage, subtype: str) -> str:
    body = message.get_body(preferencelist=(subtype,))
    return str(body.get_content()) if body is not None else ""


@pytest.fixture
def served_with_mail(tmp_path: Path) -> Iterator[tuple[str, Path, dict[str, str]]]:
    """`topup serve` on a fresh database, its e-mail going to a sink on loopback; yields the web URL, the
    sink's folder and the settings."""
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    smtp_port = free_port()
    sink = Controller(MailSink(mail_dir), hostname="127.0.0.1", port=smtp_port)
    sink.start()
    settings = {
        "TOPUP_SMTP_HOST": "127.0.0.1",
        "TOPUP_SMTP_PORT": str(smtp_port),
        "TOPUP_SHOP_SELLER": SELLER,
    }
    try:
        with serving(tmp_path, "myesim", settings) as server:
            yield server.base, mail_dir, server.env
    finally:
        sink.stop()


def test_my_esims_in_chinese_in_a_browser(served_with_mail: tuple[str, Path, dict[str, str]]) -> None:
    base, mail_dir, _env = served_with_mail
    result = subprocess.run(
        ["node", str(JOURNEY), base, str(mail_dir), str(ARTIFACTS), EMAIL],
        cwd=ROOT,
        env={**os.environ, "SHOP_SELLER": SELLER},
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
