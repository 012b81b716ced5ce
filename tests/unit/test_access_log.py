"""The access log: off by default (a request, a delivery, a webhook write no line), on with TOPUP_ACCESS_LOG;
errors, warnings and money events log either way."""

from __future__ import annotations

import importlib
import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

from topup.logs import ROUTINE

# A process of its own for each setting: the configuration is read once, when the settings load.
PROBE = """
import logging, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "topup.settings")
import django
django.setup()
from django.test import Client
Client().get("/healthz")
logging.getLogger("topup.services.delivery").info("delivered", extra={"order_id": "ord_probe"})
logging.getLogger("topup.services.payments").info("webhook applied")
logging.getLogger("topup.adapters.messaging.smpp").warning("delivery receipt for %s: %s", "m1", "UNDELIV")
logging.getLogger("topup.services.refunds").info("refunded", extra={"order_id": "ord_probe"})
"""


def _log_of(access_log: str | None, data_dir: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k != "TOPUP_ACCESS_LOG"}
    env["TOPUP_DATABASE_URL"] = f"sqlite:///{data_dir / 'probe.sqlite3'}"  # /healthz's SELECT 1, on any suite
    if access_log is not None:
        env["TOPUP_ACCESS_LOG"] = access_log
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return done.stderr


def test_requests_and_jobs_that_went_well_write_no_line_by_default(tmp_path: Path) -> None:
    log = _log_of(None, tmp_path)
    assert "healthz" not in log
    assert "delivered" not in log
    assert "webhook applied" not in log
    assert "WARNING topup.adapters.messaging.smpp delivery receipt for m1: UNDELIV" in log
    assert "INFO topup.services.refunds refunded" in log  # money events always log


def test_the_setting_writes_a_line_per_request_and_job(tmp_path: Path) -> None:
    log = _log_of("1", tmp_path)
    assert "INFO topup.access GET healthz 200 " in log  # the route, never the path (numbers, tokens)
    assert "INFO topup.services.delivery delivered" in log
    assert "INFO topup.services.payments webhook applied" in log
    assert "INFO topup.services.refunds refunded" in log


@pytest.mark.parametrize(("logger", "template"), sorted(ROUTINE))
def test_each_routine_line_is_still_written_as_listed(logger: str, template: str) -> None:
    """A reworded message would slip past the filter and fill the log again: each template must be in
    its module's source, word for word."""
    module = "topup.channels.access_log" if logger == "topup.access" else logger
    assert f'"{template}"' in inspect.getsource(importlib.import_module(module))
