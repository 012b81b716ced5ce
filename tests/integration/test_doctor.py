"""`topup doctor`: healthy on a demo-like database with every simulator up, and each injected fault named —
a weak secret in production, an unreachable peer, a refused credential, an unapplied migration, a dead job,
a due job left waiting, an unbalanced ledger — with exit 1; a database it cannot reach is a line, not a
traceback."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import F

from tests.support.processes import ROOT, free_port, running
from tests.support.smtp_sink import smtp_sink
from topup import settings
from topup.clock import new_id, now
from topup.crypto import Keyring
from topup.db import ledger, partitions
from topup.db.models import Account, Job
from topup.doctor import check_configuration, check_database, examine
from topup.doctor_report import FAIL, OK, WARN, Finding, exit_status
from topup.doctor_state import check_jobs, check_ledger, check_partitions, within
from topup.domain.ledger import AccountSpec, AccountType, Posting
from topup.domain.money import Money
from topup.settings import CONFIG, Config

TIMEOUT_S = 2.0
STRONG = "Zq8v-Lr3Xw0pB7nT_c5Kd2Hy9Ms4Fj6Ga1Ue"  # 36 characters, 34 different ones
PRODUCTION = dataclasses.replace(
    CONFIG,
    env="production",
    public_url="https://topup.example",
    secret_key=STRONG + "s",
    payments_api_key="sk_live_" + STRONG,
    webhook_secrets=("whsec_" + STRONG,),
    carrier_api_key=STRONG + "c",
    smdp_api_key=STRONG + "d",
    smdp_callback_key=STRONG + "b",
    index_key=STRONG + "i",
    voucher_peppers=(("v2", STRONG + "n"),),
    otp_key=STRONG + "t",
    metrics_token=STRONG + "m",
    data_keys=("k9:cHJvZHVjdGlvbi10ZXN0LWRhdGEta2V5LTMyYnl0ZXM=",),
    sms_webhook_key="",
    sms_webhook_keys=(),
    ussd_gateway_keys=(),
    ivr_auth_tokens=(),
    dtone_callback_token="",
    carrier_routes={"*": "gateway"},
    smsc_host="",
)


def failed(findings: list[Finding]) -> list[str]:
    return [f.line() for f in findings if f.status == FAIL]


def one(findings: list[Finding], subject: str) -> Finding:
    found = [f for f in findings if f.subject == subject]
    assert len(found) == 1, [f.line() for f in findings]
    return found[0]


@pytest.fixture
def smsc() -> Iterator[int]:
    """The SMSC simulator, accepting the configuration's system id and password; its SMPP port."""
    smpp_port, http_port = free_port(), free_port()
    args = ["-m", "topup.simulators.smsc", "--smpp-port", str(smpp_port), "--http-port", str(http_port)]
    with running([*args, "--seed", "7"], f"http://127.0.0.1:{http_port}/healthz"):
        yield smpp_port


@pytest.fixture
def http_peers(payments_simulator: str, carriers_simulator: str, smdp_simulator: str) -> tuple[str, str, str]:
    return payments_simulator, carriers_simulator, smdp_simulator


@pytest.fixture
def demo(seeded: None, http_peers: tuple[str, str, str], dtone_simulator: str, smsc: int) -> Iterator[Config]:
    """The demo's configuration pointed at every simulator (Orange Belgium through DT One) and a mail sink."""
    payments, carriers, smdp = http_peers
    with smtp_sink() as (_mailbox, smtp_port):
        yield dataclasses.replace(
            CONFIG, payments_url=payments, carriers_url=carriers, smdp_url=smdp,
            dtone_url=dtone_simulator, carrier_routes={"*": "gateway", "orange": "dtone"},
            smsc_host="127.0.0.1", smsc_port=smsc, smtp_host="127.0.0.1", smtp_port=smtp_port,
        )  # fmt: skip


def test_a_demo_like_deployment_is_healthy(demo: Config) -> None:
    findings = examine(demo, TIMEOUT_S)
    assert failed(findings) == []
    assert exit_status(findings) == 0
    peers = {f.subject for f in findings if f.area == "peers" and f.status == OK}
    assert peers == {
        "carrier gateway (base)", "carrier gateway (proximus)", "carrier gateway (telenet)", "DT One",
        "SM-DP+ (ES2+)", "payment provider (stripe)", "SMSC (SMPP)", "SMTP relay",
    }  # fmt: skip
    assert one(findings, "migrations").status == OK
    assert (one(findings, "dead").status, one(findings, "backlog").status) == (OK, OK)
    assert (
        one(findings, "secrets").status == WARN
    )  # the demo's published secrets: a warning outside production


def test_refused_credentials_are_named_as_such(demo: Config) -> None:
    wrong = dataclasses.replace(
        demo, payments_api_key="sk_test_not_the_simulators", carrier_api_key="wrong", smdp_api_key="wrong",
        dtone_api_secret="wrong", smsc_password="wrong",
    )  # fmt: skip
    findings = examine(wrong, TIMEOUT_S)
    refused = {f.subject: f.detail for f in findings if f.status == FAIL}
    assert refused["payment provider (stripe)"] == "credentials refused (HTTP 401)"
    assert refused["carrier gateway (proximus)"] == "credentials refused (unauthorized)"
    assert refused["SM-DP+ (ES2+)"] == "credentials refused (HTTP 401)"
    assert refused["DT One"] == "credentials refused (HTTP 401)"
    assert refused["SMSC (SMPP)"].startswith("credentials refused (bind refused")
    assert "TOPUP_PAYMENTS_API_KEY" in one(findings, "payment provider (stripe)").fix
    assert exit_status(findings) == 1


@pytest.mark.django_db
def test_an_unreachable_peer_is_named_unreachable() -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    config = dataclasses.replace(
        CONFIG, payments_url=closed, carriers_url=closed, smdp_url=closed, smsc_host="127.0.0.1",
        smsc_port=free_port(), smtp_host="",
    )  # fmt: skip
    findings = examine(config, TIMEOUT_S)
    for subject in ("payment provider (stripe)", "carrier gateway", "SM-DP+ (ES2+)", "SMSC (SMPP)"):
        finding = one(findings, subject)
        assert finding.status == FAIL
        assert finding.detail.startswith("unreachable at "), finding.line()


def test_a_weak_secret_in_production_is_named() -> None:
    assert failed(check_configuration(PRODUCTION)) == []
    short = check_configuration(dataclasses.replace(PRODUCTION, secret_key="too-short"))
    assert failed(short) == [
        "FAIL  config: TOPUP_SECRET_KEY: is shorter than 32 characters -> fix: set TOPUP_SECRET_KEY to 32+ "
        "random characters (secrets.token_urlsafe(48))"
    ]
    patterned = check_configuration(dataclasses.replace(PRODUCTION, otp_key="ab" * 20))
    assert [f.subject for f in patterned if f.status == FAIL] == ["TOPUP_OTP_KEY"]
    assert one(patterned, "TOPUP_OTP_KEY").detail == "has only 2 different characters"
    demo_key = check_configuration(dataclasses.replace(PRODUCTION, payments_api_key="sk_test_topup_demo"))
    assert one(demo_key, "TOPUP_PAYMENTS_API_KEY").status == FAIL
    broken_url = check_configuration(dataclasses.replace(PRODUCTION, smdp_url="smdp.example:8443"))
    assert one(broken_url, "TOPUP_SMDP_URL").status == FAIL


def _made_by(advice: str, name: str) -> str:
    """The value the hint's command makes (`NAME=$(python3 -c "…")`), run as a user would paste it."""
    command = advice.split(f"{name}=$(", 1)[1].rsplit(")", 1)[0]
    done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_the_voucher_pepper_hint_makes_a_pepper_the_next_run_accepts() -> None:
    weak = check_configuration(dataclasses.replace(PRODUCTION, voucher_peppers=(("v1", "short"),)))
    advice = one(weak, "TOPUP_VOUCHER_PEPPERS").fix
    assert advice.startswith("set TOPUP_VOUCHER_PEPPERS=v1:<48 random chars>")
    value = _made_by(advice, "TOPUP_VOUCHER_PEPPERS")
    assert value.startswith("v1:")
    assert len(value) == len("v1:") + 48
    peppers = settings._peppers(value)  # as the settings read the variable
    assert failed(check_configuration(dataclasses.replace(PRODUCTION, voucher_peppers=peppers))) == []


def test_a_missing_data_key_says_set_one_and_the_key_it_makes_is_accepted() -> None:
    missing = check_configuration(dataclasses.replace(PRODUCTION, data_keys=()))
    unset = check_configuration(dataclasses.replace(PRODUCTION, data_keys=(settings.DEMO_DATA_KEY,)))
    for findings in (missing, unset):
        advice = one(findings, "TOPUP_DATA_KEYS").fix
        assert advice.startswith("set TOPUP_DATA_KEYS=k1:<")
        assert "rotate" not in advice
    value = _made_by(one(missing, "TOPUP_DATA_KEYS").fix, "TOPUP_DATA_KEYS")
    Keyring.parse((value,))  # a key the encryption takes
    assert failed(check_configuration(dataclasses.replace(PRODUCTION, data_keys=(value,)))) == []
    # Keys in use next to the demo's: rotate away from it.
    kept = check_configuration(dataclasses.replace(PRODUCTION, data_keys=(value, settings.DEMO_DATA_KEY)))
    assert [f.subject for f in kept if f.status == FAIL] == ["TOPUP_DATA_KEYS"]
    assert "topup keys rotate" in one(kept, "TOPUP_DATA_KEYS").fix


def test_the_command_names_a_refused_production_configuration_without_a_traceback(tmp_path: Path) -> None:
    done = _doctor(tmp_path, TOPUP_ENV="production", TOPUP_SECRET_KEY="too-short")
    assert done.returncode == 1
    assert "FAIL  config: TOPUP_SECRET_KEY: is shorter than 32 characters" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_an_unreachable_or_missing_database_is_a_line_not_a_traceback(tmp_path: Path) -> None:
    port = free_port()
    unreachable = _doctor(tmp_path, TOPUP_DATABASE_URL=f"postgresql://topup@127.0.0.1:{port}/topup")
    assert unreachable.returncode == 1
    assert f"FAIL  database: connection: PostgreSQL 127.0.0.1:{port}/topup unreachable" in unreachable.stdout
    missing = _doctor(tmp_path, TOPUP_DATABASE_URL=f"sqlite:///{tmp_path}/none.sqlite3")
    assert f"FAIL  database: connection: no database file at {tmp_path}/none.sqlite3" in missing.stdout
    assert not (tmp_path / "none.sqlite3").exists()  # looked for, not created
    for done in (unreachable, missing):
        assert "Traceback" not in done.stdout + done.stderr
    usage = _doctor(tmp_path, "--timeout", "0")
    assert usage.returncode == 2


def _doctor(tmp_path: Path, *extra: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`topup doctor` as a separate process; its peers on ports nothing listens on."""
    environment = {**os.environ, "TOPUP_PORT": str(free_port()), "TOPUP_DATA_DIR": str(tmp_path), **env}
    if "TOPUP_DATABASE_URL" not in env:  # the default: a file in the (empty) data folder
        del environment["TOPUP_DATABASE_URL"]
    return subprocess.run(  # noqa: PLW1510 - the exit status is what is checked
        [sys.executable, "-m", "topup.cli", "doctor", "--timeout", "1", *extra],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_an_unapplied_migration_is_named() -> None:
    recorder = MigrationRecorder(connection)
    app, name = max(key for key in recorder.applied_migrations() if key[0] == "topup")
    recorder.record_unapplied(app, name)  # as a database one `topup migrate` behind
    try:
        findings = check_database(TIMEOUT_S)
    finally:
        recorder.record_applied(app, name)
    migrations = one(findings, "migrations")
    assert (migrations.status, migrations.detail) == (FAIL, f"1 not applied: topup.{name}")
    assert migrations.fix == "run `topup migrate`"
    assert one(check_database(TIMEOUT_S), "migrations").status == OK


@pytest.mark.django_db
def test_a_dead_job_fails_and_a_waiting_one_warns() -> None:
    moment = now()
    Job.objects.create(
        id="job_doctor_dead", kind="deliver", subject_id="ord_doctor", status="dead", attempts=40,
        run_after=moment, created_at=moment, finished_at=moment,
    )  # fmt: skip
    Job.objects.create(
        id="job_doctor_late", kind="refund", subject_id="ord_late", run_after=moment - timedelta(minutes=10),
        created_at=moment - timedelta(minutes=10),
    )  # fmt: skip
    findings = check_jobs()
    dead = one(findings, "dead")
    assert (dead.status, dead.detail) == (FAIL, "1 dead: deliver 1")
    assert "topup jobs list --dead" in dead.fix
    assert "topup jobs requeue --kind deliver" in dead.fix
    backlog = one(findings, "backlog")
    assert (backlog.status, backlog.detail) == (WARN, "due: refund 1; behind: refund")


@pytest.mark.django_db
def test_an_unbalanced_ledger_is_named() -> None:
    clearing = AccountSpec("clearing:doctor:EUR", "Clearing", AccountType.ASSET, "EUR", no_overdraft=False)
    wallet = AccountSpec("wallet:doctor:EUR", "Wallet", AccountType.LIABILITY, "EUR", no_overdraft=True)
    ledger.post([Posting(f"{new_id('tst')}:fund", clearing, wallet, Money(10_00, "EUR"), "fund")], now=now())
    ledger.roll_up()
    assert [f.status for f in check_ledger()] == [OK]
    Account.objects.filter(id=wallet.id).update(credits_posted=F("credits_posted") + 1)  # behind its back
    (finding,) = check_ledger()
    assert (finding.status, finding.subject) == (FAIL, "trial balance EUR")
    assert finding.detail.startswith("unbalanced: debits 1000, credits 1001")


@pytest.mark.django_db(transaction=True)
def test_partition_upkeep_behind_is_a_warning() -> None:
    if not partitions.enabled():
        pytest.skip("time-partitioned tables exist on PostgreSQL only")
    partitions.ensure_months(now())
    assert [f.status for f in check_partitions()] == [OK]
    name = partitions.partition_name("usage_record", partitions.month_start(now(), 1))
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE "{name}"')  # as if the worker's monthly upkeep had not run
    try:
        (finding,) = check_partitions()
    finally:
        partitions.ensure_months(now())
    assert finding.status == WARN
    assert finding.detail == f"no {partitions.month_start(now(), 1):%Y-%m} partition for usage_record"
    assert "topup partitions upkeep" in finding.fix


@pytest.mark.django_db
def test_the_database_checks_run_under_the_timeout() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("statement_timeout is PostgreSQL's")

    def shown() -> list[Finding]:
        with connection.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            (value,) = cursor.fetchone()
        return [Finding("jobs", "limit", OK, str(value))]

    def slow() -> list[Finding]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(5)")
        return [Finding("jobs", "slow", OK, "answered")]

    assert [f.detail for f in within(1.5, shown, "jobs")] == ["1500ms"]
    (finding,) = within(0.2, slow, "jobs")
    assert (finding.area, finding.subject, finding.status) == ("jobs", "query", FAIL)
    assert finding.detail.startswith("no answer within 0.2s")
    assert [f.status for f in within(1.0, check_jobs, "jobs")] == [OK, OK]

    def broken() -> list[Finding]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table_here")
        return []

    (failure,) = within(1.0, broken, "ledger")
    assert (failure.status, failure.subject) == (FAIL, "query")
    assert failure.detail.startswith("failed: relation")
