"""The API documentation served by us, offline: `topup serve` on a fresh demo database, then
`node tests/browser/apidocs.mjs`, whose browser may reach the server and nothing else. Swagger UI's assets
come from django-ninja's package through whitenoise, under the site's Content-Security-Policy; the page must
list the API's operations. Screenshot: artifacts/screenshots/apidocs-offline.png. Skipped without chromium or
node_modules, except in CI."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.browser_stack import ARTIFACTS, serving
from tests.support.processes import ROOT

pytestmark = pytest.mark.slow

JOURNEY = ROOT / "tests" / "browser" / "apidocs.mjs"


def test_the_api_docs_render_with_no_network_but_the_server(tmp_path: Path) -> None:
    with serving(tmp_path, "apidocs") as server:
        page = httpx.get(f"{server.base}/api/v1/docs", timeout=10).text
        assert "cdn" not in page.lower(), "the docs page still names a CDN"
        result = subprocess.run(
            ["node", str(JOURNEY), server.base, str(ARTIFACTS)], cwd=ROOT, capture_output=True, text=True,
            timeout=300, check=False,
        )  # fmt: skip
    print(result.stdout, result.stderr, sep="\n")
    assert result.returncode == 0, f"API docs journey failed:\n{result.stdout}\n{result.stderr}"
    assert (ARTIFACTS / "screenshots" / "apidocs-offline.png").is_file()
