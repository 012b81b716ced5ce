"""Conformance of our ESME against an independent SMSC: one written with the npm `smpp` package
(tests/conformance/smsc_npm_peer.mjs), run by node on loopback. It delivers SMS from a sender in national
formats (TON 0 `0470123456`, TON 2 `470123456`) and then unbinds; we check the TON/NPI and number of our
replies, our unbind_resp, and that the link binds again. Skipped loudly without node or node_modules/smpp
(`npm ci`), failed instead under CI=true."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from typing import Any

import pytest

from tests.support.processes import ROOT, free_port
from topup.adapters.messaging.smpp import SmppLink

PEER = ROOT / "tests" / "conformance" / "smsc_npm_peer.mjs"
SYSTEM_ID, PASSWORD = "topup", "topup123"


def _require_node() -> str:
    node = shutil.which("node")
    missing = [] if node else ["node (Node.js 20)"]
    if not (ROOT / "node_modules" / "smpp").is_dir():
        missing.append("node_modules/smpp (npm ci)")
    if not missing:
        assert node is not None
        return node
    reason = "SMPP NPM PEER NOT RUN: missing " + ", ".join(missing)
    if os.environ.get("CI") == "true":
        pytest.fail(reason + " (CI=true: the conformance run is required)", pytrace=False)
    pytest.skip(reason)


def _events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_our_esme_against_an_npm_smpp_smsc() -> None:
    node = _require_node()
    port = free_port()
    peer = subprocess.Popen(
        [node, str(PEER), str(port), SYSTEM_ID, PASSWORD],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert peer.stdout is not None
    first = peer.stdout.readline()  # the peer listens before the link tries to bind
    assert '"listening"' in first, first + (peer.stderr.read() if peer.stderr else "")
    senders: list[str] = []

    def echo(sender: str, text: str) -> None:
        senders.append(sender)
        threading.Thread(target=link.send, args=(sender, f"ECHO {text}"), daemon=True).start()

    link = SmppLink("127.0.0.1", port, SYSTEM_ID, PASSWORD, on_message=echo, reconnect_max_s=1.0)
    link.start()
    try:
        stdout, stderr = peer.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        peer.kill()
        stdout, stderr = peer.communicate()
    finally:
        link.stop()
    events = _events(stdout)
    assert peer.returncode == 0, f"the npm SMSC's run failed:\n{first}{stdout}\n{stderr}"
    assert senders == ["+32470123456", "+32470123456"]
    submits = [event for event in events if event["event"] == "submit_sm"]
    assert [(s["destination_addr"], s["dest_addr_ton"], s["dest_addr_npi"]) for s in submits] == [
        ("32470123456", 1, 1),
        ("32470123456", 1, 1),
    ]
    assert [s["text"] for s in submits] == ["ECHO SALDO", "ECHO TOPUP"]
    unbind = [event for event in events if event["event"] == "unbind_resp"]
    assert unbind == [{"event": "unbind_resp", "status": 0, "command": "unbind_resp"}]
    binds = [event for event in events if event["event"] == "bind_transceiver"]
    assert [bind["ok"] for bind in binds] == [True, True]
    assert events[-1] == {"event": "done"}
    assert link.unbinds_answered == 1
