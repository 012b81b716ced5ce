"""The README cannot drift from the code a newcomer runs: its port table is what the settings compute, every
command of its shell blocks parses with `topup`'s own command line as written (`.venv/bin/topup …`, from the
checkout), every `topup …` of the commands table names real subcommands, and every `make X` is a Makefile
target."""

from __future__ import annotations

import argparse
import dataclasses
import re
import shlex

import pytest

from tests.support.processes import ROOT
from topup.chaos.runner import RELAY_PORT_OFFSET
from topup.cli import build_parser
from topup.settings import load_config

README = (ROOT / "README.md").read_text(encoding="utf-8")
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")
TOPUP = ".venv/bin/topup"
# The setting each row of the port table names, and the Config field it sets.
PORT_FIELDS = {
    "TOPUP_PORT": "port",
    "TOPUP_PAYMENTS_PORT": "payments_port",
    "TOPUP_CARRIERS_PORT": "carriers_port",
    "TOPUP_SMDP_PORT": "smdp_port",
    "TOPUP_SMSC_PORT": "smsc_port",
    "TOPUP_SMSC_HTTP_PORT": "smsc_http_port",
    "TOPUP_DTONE_PORT": "dtone_port",
    "TOPUP_CASH_PORT": "cash_port",
    "TOPUP_MAIL_PORT": "mail_port",
}
NOT_IN_THE_BLOCK = {"smtp_port"}  # the relay's port (the sink's when the demo uses its own): not one of ours


def _section(heading: str) -> str:
    start = README.index(f"\n{heading}\n")
    end = README.find("\n#", start + len(heading) + 2)
    return README[start : end if end != -1 else None]


def _port_rows() -> list[tuple[int, int, str]]:
    """(offset, demo port, setting) for each row of the "Ports" table."""
    rows = []
    for line in _section("### Ports").splitlines():
        found = re.match(r"\| \+(\d+) \| (\d+) \| .+ \| (`(TOPUP_\w+)`|\(none\)) \|$", line)
        if found:
            rows.append((int(found[1]), int(found[2]), found[4] or ""))
    return rows


def test_the_port_table_is_what_the_settings_compute(monkeypatch: pytest.MonkeyPatch) -> None:
    for setting in PORT_FIELDS:
        monkeypatch.delenv(setting, raising=False)
    monkeypatch.setenv("TOPUP_ENV", "demo")
    monkeypatch.setenv("TOPUP_PORT", "31000")
    config = load_config()
    rows = _port_rows()
    assert [offset for offset, _, _ in rows] == list(range(10)), "one row per port of the block, in order"
    for offset, demo_port, setting in rows:
        assert demo_port == 8000 + offset
        if setting:
            assert getattr(config, PORT_FIELDS[setting]) == 31000 + offset, setting
        else:
            assert offset == RELAY_PORT_OFFSET  # the chaos relay, which has no setting
    named = {setting for _, _, setting in rows if setting}
    ports = {field.name for field in dataclasses.fields(config) if field.name.endswith("_port")} | {"port"}
    assert ports - NOT_IN_THE_BLOCK == {PORT_FIELDS[setting] for setting in named}, (
        "a port missing from the table"
    )


def _shell_commands() -> list[str]:
    """Each command line of the README's ```sh blocks: continuations joined, a block's `$VAR` expanded."""
    commands = []
    for block in re.findall(r"^```sh\n(.*?)^```", README, flags=re.DOTALL | re.MULTILINE):
        variables: dict[str, str] = {}
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if not words:
                continue
            assignment = re.fullmatch(r"([A-Z_]+)=(.*)", words[0])
            if assignment and len(words) == 1:
                variables[assignment[1]] = assignment[2]
                continue
            if words[0].startswith("$"):
                words = [*shlex.split(variables[words[0][1:]]), *words[1:]]
            commands.append(shlex.join(words))
    return commands


def _parses(words: list[str]) -> str | None:
    """None when `topup`'s parser accepts `words`, else its complaint."""
    parser = build_parser()
    parser.exit_on_error = False
    try:
        parser.parse_args(words)
    except (argparse.ArgumentError, SystemExit) as error:
        return str(error)
    return None


def test_the_shell_blocks_run_topup_as_written_from_the_checkout(capsys: pytest.CaptureFixture[str]) -> None:
    commands = _shell_commands()
    assert len(commands) > 15
    runs = [shlex.split(command) for command in commands if "topup" in shlex.split(command)[0]]
    assert len(runs) > 10
    for words in runs:
        assert words[0] == TOPUP, f"{shlex.join(words)}: from the checkout `topup` is {TOPUP}"
        assert _parses(words[1:]) is None, f"{shlex.join(words)}: {capsys.readouterr().err}"
    makes = [shlex.split(command)[1] for command in commands if command.startswith("make ")]
    assert set(makes) >= {"run", "test"}
    for target in makes:
        assert re.search(rf"^{re.escape(target)}:", MAKEFILE, flags=re.MULTILINE), f"no target make {target}"


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_every_topup_command_the_readme_names_exists() -> None:
    named = re.findall(r"`topup ((?:[a-z][a-z0-9-]*(?: |`))+)", README)
    assert len(named) > 40
    parser = build_parser()
    for words in {" ".join(found.rstrip("`").split()) for found in named}:
        current = parser
        for word in words.split():
            choices = _subcommands(current)
            if not choices:
                break  # the rest are the command's own arguments
            assert word in choices, f"`topup {words}`: no subcommand {word!r} (there are {sorted(choices)})"
            current = choices[word]


def test_every_make_target_the_readme_names_exists() -> None:
    targets = set(re.findall(r"`make ([a-z-]+)", README))
    assert {"run", "test", "lint", "browser", "bench", "clean"} <= targets
    for target in targets:
        assert re.search(rf"^{re.escape(target)}:", MAKEFILE, flags=re.MULTILINE), f"no target make {target}"
