"""`topup doctor [--json] [--timeout S]`: is this deployment fit to serve? Configuration, database, peers,
job queue and ledger, one line per check with what to fix; exit 0 when healthy (warnings allowed), 1 when
something is wrong, 2 on a usage error.

Production's secret rules are the settings module's own (`production_problems`); the peers are probed in
`topup.doctor_peers`, the findings printed by `topup.doctor_report`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from topup.doctor_report import FAIL, OK, WARN, Finding, as_json, as_text, exit_status

if (
    TYPE_CHECKING
):  # importing the settings loads (and in production checks) the configuration: at run time only
    from topup.settings import Config

DEFAULT_TIMEOUT_S = 5.0
MIN_DISTINCT_CHARS = 12  # a 32-character secret with fewer different characters is a pattern, not random
# How to make one: python -c "import secrets; print(secrets.token_urlsafe(48))"
NEW_SECRET_ADVICE = "set {name} to 32+ random characters (secrets.token_urlsafe(48))"  # noqa: S105
# The two lists of keys, in the format the settings parse (`id:secret`, comma-separated, the first used
# for new values): each hint is the command that makes a value, to paste as it is.
PEPPER_ADVICE = (  # 48 random characters (36 bytes, URL-safe base64)
    "set TOPUP_VOUCHER_PEPPERS=v1:<48 random chars>, made by "
    "TOPUP_VOUCHER_PEPPERS=$(python3 -c \"import secrets; print('v1:' + secrets.token_urlsafe(36))\"); "
    "with vouchers already printed, put the new one first: v2:<new>,v1:<old>"
)
DATA_KEY_ADVICE = (
    "set TOPUP_DATA_KEYS=k1:<base64 of 32 random bytes>, made by TOPUP_DATA_KEYS=$(python3 -c "
    "\"import base64, secrets; print('k1:' + base64.b64encode(secrets.token_bytes(32)).decode())\")"
)
ROTATE_DATA_KEY_ADVICE = (
    "add a new first key `k2:<base64 of 32 random bytes>` (see README), then `topup keys rotate`"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the findings as one JSON object")
    parser.add_argument(
        "--timeout", type=_timeout, default=DEFAULT_TIMEOUT_S, metavar="S",
        help=f"seconds each peer and the database get to answer (default {DEFAULT_TIMEOUT_S:g})",
    )  # fmt: skip


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from exc
    if not 0 < value <= 300:
        raise argparse.ArgumentTypeError("give more than 0 and at most 300 seconds")
    return value


def run(args: argparse.Namespace) -> None:
    findings = diagnose(args.timeout)
    sys.stdout.write((as_json(findings) if args.json else as_text(findings)) + "\n")
    sys.exit(exit_status(findings))


def diagnose(timeout_s: float) -> list[Finding]:
    """Every check, in order; a configuration production refuses stops there (nothing else can load)."""
    from topup.process import start_django  # noqa: PLC0415

    try:
        start_django(wired=False)
    except (RuntimeError, ValueError) as exc:  # the settings refused to load: production's rules, a bad
        # database URL, a number that is not one (TOPUP_PORT=abc)
        problems: list[str] = getattr(exc, "problems", None) or [str(exc)]
        return [_problem(problem, production=True) for problem in problems] + [
            Finding("doctor", "other checks", WARN, "not run: the configuration must load first", "")
        ]
    from topup.settings import CONFIG  # noqa: PLC0415

    return examine(CONFIG, timeout_s)


def examine(config: Config, timeout_s: float) -> list[Finding]:
    """The checks of a configuration that loaded, against Django's default database."""
    findings = check_configuration(config)
    database = check_database(timeout_s)
    findings += database
    ready = all(f.status != FAIL for f in database)
    findings += check_peers(config, timeout_s, ready=ready)
    if ready:
        from topup.doctor_state import check_jobs, check_ledger, check_partitions, within  # noqa: PLC0415

        findings += within(timeout_s, check_partitions, "database")
        findings += within(timeout_s, check_jobs, "jobs") + within(timeout_s, check_ledger, "ledger")
    else:
        findings.append(
            Finding("doctor", "jobs and ledger", WARN, "not checked: the database is not ready", "")
        )
    return findings


# ---------------------------------------------------------------- configuration


ISSUED_BY_PEERS = frozenset({  # credentials a peer gives us: asked for, not made up
    "TOPUP_PAYMENTS_API_KEY", "TOPUP_WEBHOOK_SECRETS", "TOPUP_CARRIER_API_KEY", "TOPUP_SMDP_API_KEY",
    "TOPUP_DTONE_API_KEY", "TOPUP_SMSC_PASSWORD",
})  # fmt: skip


def _advice(name: str, problem: str) -> str:
    if "https://" in problem:
        return f"set {name} to the https:// address"
    if name == "TOPUP_DATA_KEYS":  # none set (the demo's alone) or keys to replace, data sealed under them
        return DATA_KEY_ADVICE if "missing or a demo value" in problem else ROTATE_DATA_KEY_ADVICE
    if name == "TOPUP_VOUCHER_PEPPERS":
        return PEPPER_ADVICE
    if name in ISSUED_BY_PEERS:
        return f"set {name} to the production credential its provider issued"
    if name.startswith("TOPUP_") and ("characters" in problem or "demo value" in problem):
        return NEW_SECRET_ADVICE.format(name=name)
    return "see the configuration table in the README"


def _problem(problem: str, *, production: bool) -> Finding:
    """A finding of one of `production_problems`' sentences (they start with the variable's name)."""
    name, _, rest = problem.partition(" ")
    if not name.startswith("TOPUP_"):
        name, rest = "configuration", problem
    return Finding("config", name, FAIL if production else WARN, rest, _advice(name, problem))


def check_configuration(config: Config) -> list[Finding]:
    """Secrets (production: each strong and its own; elsewhere demo values warn), URLs well formed."""
    from topup.settings import production_problems, production_secrets  # noqa: PLC0415

    problems = production_problems(config)
    weak = [
        f"{name} has only {len(set(value))} different characters"
        for name, value in production_secrets(config)
        if value and len(set(value)) < MIN_DISTINCT_CHARS and not any(p.startswith(name) for p in problems)
    ]
    found: list[Finding] = []
    if config.is_production:
        found += [_problem(problem, production=True) for problem in [*problems, *weak]]
    elif problems or weak:
        names = sorted({p.split(" ", 1)[0] for p in [*problems, *weak] if p.startswith("TOPUP_")})
        found.append(Finding(
            "config", "secrets", WARN,
            f"{len(names)} settings not fit for production (fine in {config.env})",
            "production needs its own: " + ", ".join(names),
        ))  # fmt: skip
    if not found:
        found.append(Finding("config", "secrets", OK, "every secret set, strong and its own"))
    return [dotenv_finding(), *found, *check_urls(config)]


def dotenv_finding() -> Finding:
    """Which .env files the settings were read from (the environment's variables win over them)."""
    from topup.settings import DOTENV_FILES  # noqa: PLC0415

    read = ", ".join(str(path) for path in DOTENV_FILES) or "none (the process environment only)"
    return Finding("config", ".env", OK, f"read: {read}")


def peer_urls(config: Config) -> list[tuple[str, str]]:
    """(setting, URL) of the addresses in use: ours, and each peer the routes send calls to."""
    routes = {"*": "gateway", **config.carrier_routes}.values()
    urls = [("TOPUP_PUBLIC_URL", config.public_url), ("TOPUP_SMDP_URL", config.smdp_url)]
    if "stripe" in config.payment_routes.values():
        urls.append(("TOPUP_PAYMENTS_URL", config.payments_url))
    if "gateway" in routes:
        urls.append(("TOPUP_CARRIERS_URL", config.carriers_url))
    if "dtone" in routes:
        urls.append(("TOPUP_DTONE_URL", config.dtone_url))
    return [*urls, ("TOPUP_FX_URL", config.fx_url)]


def url_fault(url: str) -> str:
    """Why `url` is not an http(s) address of a host, or "" when it is."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a port that is not a number
    except ValueError as exc:
        return f"is not a URL ({exc})"
    if parts.scheme not in {"http", "https"}:
        return f"needs http:// or https://, not {parts.scheme or 'no scheme'}"
    if not parts.hostname or any(c.isspace() for c in url):
        return "has no host name" if not parts.hostname else "contains white space"
    return ""


def check_urls(config: Config) -> list[Finding]:
    found: list[Finding] = []
    for name, url in peer_urls(config):
        fault = url_fault(url)
        if fault:
            found.append(Finding("config", name, FAIL, f"{url!r} {fault}", f"set {name} to a full URL"))
        elif config.is_production and not url.startswith("https://"):
            found.append(Finding("config", name, WARN, "plain http in production", f"use https:// in {name}"))
    if not found:
        found.append(Finding("config", "URLs", OK, f"{len(peer_urls(config))} URLs well formed"))
    return found


# ---------------------------------------------------------------- database


def check_database(timeout_s: float) -> list[Finding]:
    """Reachable (without creating an SQLite file that is not there), and every migration applied."""
    from django.db import DatabaseError, connection  # noqa: PLC0415
    from django.db.migrations.executor import MigrationExecutor  # noqa: PLC0415

    db = connection.settings_dict
    where = _where(db)
    fix = "start the database server, or correct TOPUP_DATABASE_URL (host, port, name, user, password)"
    if connection.vendor == "sqlite" and db["NAME"] != ":memory:" and not Path(str(db["NAME"])).is_file():
        return [Finding(
            "database", "connection", FAIL, f"no database file at {_path(db['NAME'])}",
            "run `topup migrate` from the checkout (the default data folder is ./data), "
            "or set TOPUP_DATA_DIR or TOPUP_DATABASE_URL",
        )]  # fmt: skip
    if connection.vendor == "postgresql":
        db["OPTIONS"] = {**db["OPTIONS"], "connect_timeout": max(1, round(timeout_s))}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [Finding("database", "connection", FAIL, f"{where} unreachable: {first}", fix)]
    found = [Finding("database", "connection", OK, f"{where} reachable")]
    if plan:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _backwards in plan[:3])
        more = f" and {len(plan) - 3} more" if len(plan) > 3 else ""
        found.append(Finding(
            "database", "migrations", FAIL, f"{len(plan)} not applied: {names}{more}", "run `topup migrate`"
        ))  # fmt: skip
    else:
        found.append(Finding("database", "migrations", OK, "all applied"))
    return found


def _path(name: object) -> str:
    """An SQLite file's path as people write it (`sqlite:////srv/x` leaves `//srv/x`)."""
    return "/" + str(name).lstrip("/") if str(name).startswith("//") else str(name)


def _where(db: dict[str, object]) -> str:
    """The database named without its password."""
    if "sqlite" in str(db["ENGINE"]):
        return f"SQLite {_path(db['NAME'])}"
    return f"PostgreSQL {db['HOST'] or 'local socket'}:{db['PORT'] or 5432}/{db['NAME']}"


# ---------------------------------------------------------------- peers


def check_peers(config: Config, timeout_s: float, *, ready: bool) -> list[Finding]:
    from topup.doctor_peers import check_peers as probe  # noqa: PLC0415

    networks: list[str] = []
    if ready:
        from topup.db.models import NetworkRecord  # noqa: PLC0415

        networks = sorted(  # the carriers' networks; hosted ones (our eSIM lines) have no carrier
            NetworkRecord.objects.filter(active=True, kind="external").values_list("id", flat=True)
        )
    return probe(config, networks, timeout_s)
