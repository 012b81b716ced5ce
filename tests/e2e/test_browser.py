"""Whole customer journeys in a real browser at 360 px: `topup serve` as one process, then
`node tests/browser/journeys.mjs` (playwright-core driving Debian's chromium; no browser download).

Top up a Proximus number in Chinese through the payment simulator's checkout until delivered, buy an
eSIM in French (with an e-mail address) and check its QR code carries the activation code shown, and that
the receipt e-mailed to an SMTP sink carries a QR code that decodes to it too; sign in on My line in Dutch
with the code the SMSC simulator's phone received. Screenshots of every step go to
artifacts/screenshots/. Skipped when chromium or node_modules are missing, except under CI=true.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys

import pytest
import zxingcpp
from PIL import Image

from tests.e2e.browser_stack import ARTIFACTS
from tests.e2e.browser_stack import tail as _tail
from tests.e2e.stack import LOGS
from tests.support.processes import ROOT
from tests.support.smtp_sink import Mailbox

pytestmark = pytest.mark.slow

JOURNEYS = ROOT / "tests" / "browser" / "journeys.mjs"
# Dutch month names (those French spells otherwise) and Dutch day-month-year with dashes ("5-12-2026").
DUTCH_DATE = re.compile(
    r"\b(januari|februari|maart|mei|juni|juli|augustus|oktober)\b|\b\d{1,2}-\d{1,2}-\d{4}\b", re.IGNORECASE
)


def test_customer_journeys_in_a_browser(
    served: tuple[str, str, dict[str, str]], mail_sink: tuple[Mailbox, int]
) -> None:
    base, smsc_http, env = served
    result = subprocess.run(
        ["node", str(JOURNEYS), base, smsc_http, str(ARTIFACTS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    print(result.stdout, result.stderr, sep="\n")
    assert result.returncode == 0, (
        f"browser journeys failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}\n"
        f"the server's last lines ({LOGS / 'browser-serve.log'}):\n{_tail(LOGS / 'browser-serve.log')}"
    )
    if not os.environ.get("JOURNEYS") or "esim-fr" in os.environ["JOURNEYS"].split(","):
        _check_esim_receipt(mail_sink[0])
    if os.environ.get("JOURNEYS"):
        return  # a chosen few: the books of a partial demo are not the point
    # After the demo's journeys, Stripe's records and DT One's sales agree with our books to the cent.
    for what in ("payments", "carriers"):
        books = subprocess.run(
            [sys.executable, "-m", "topup.cli", "reconcile", what], env=env, cwd=ROOT,
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        print(books.stdout, books.stderr, sep="\n")
        assert (books.returncode, "no mismatches" in books.stdout) == (0, True), (
            f"reconcile {what}: {books.stdout}"
        )


def _check_esim_receipt(mailbox: Mailbox) -> None:
    """The French eSIM's receipt, read from the sink: in French, its inline QR code decodes to the
    activation code it prints, and the PDF receipt is attached."""
    mail = mailbox.wait_for(lambda m: str(m["To"]) == "marie.dubois@example.fr", timeout_s=60)
    assert str(mail["Subject"]) == "Votre eSIM est prête"
    html = mail.get_body(preferencelist=("html",))
    assert html is not None
    content = html.get_content()
    qr = next(p for p in mail.walk() if str(p.get("Content-ID", "")) == "<esim-qr@topup>")
    decoded = [d.text for d in zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.get_payload(decode=True))))]
    assert len(decoded) == 1
    assert decoded[0].startswith("LPA:1$")
    assert decoded[0] in content
    assert "Installez votre eSIM" in content
    assert [m.group(0) for m in DUTCH_DATE.finditer(content)] == []  # no Dutch date in the French receipt
    pdfs = [p for p in mail.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert [p.get_content()[:4] for p in pdfs] == [b"%PDF"]
