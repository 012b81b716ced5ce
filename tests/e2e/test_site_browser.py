"""The customer website's finish in a real browser at 360 px (`node tests/browser/site.mjs` against
`topup serve`): the one-line language switcher and the footer, a top-up that reaches its success state
pushed by the order page's event stream (SSE), its receipt and "top up again", and the help page in
Chinese and French. Screenshots: artifacts/screenshots/site-*. Skipped without chromium or node_modules,
except in CI."""

from __future__ import annotations

import subprocess

import pytest

from tests.e2e.browser_stack import ARTIFACTS
from tests.support.processes import ROOT

pytestmark = pytest.mark.slow

SITE = ROOT / "tests" / "browser" / "site.mjs"


def test_the_website_in_a_browser(served: tuple[str, str, dict[str, str]]) -> None:
    base, _smsc, _env = served
    result = subprocess.run(
        ["node", str(SITE), base, str(ARTIFACTS)], cwd=ROOT, capture_output=True, text=True, timeout=600,
        check=False,
    )  # fmt: skip
    print(result.stdout, result.stderr, sep="\n")
    assert result.returncode == 0, f"site journeys failed:\n{result.stdout}\n{result.stderr}"
