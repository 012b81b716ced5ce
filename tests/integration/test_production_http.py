"""The platform as production runs it (TOPUP_ENV=production and real secrets, in a child process, since the
settings are read once at start): plain HTTP is redirected to HTTPS except the health check, HTTPS answers
(X-Forwarded-Proto from the proxy) carry HSTS and the CSP, cookies are Secure, HttpOnly and SameSite,
/metrics needs its token; short or demo secrets stop it before it serves anything; `topup migrate` seeds
no demo."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.processes import ROOT, free_port

METRICS_TOKEN = "metrics-" + "m" * 32
SECRETS = {
    "TOPUP_SECRET_KEY": "secret-" + "s" * 40,
    "TOPUP_PAYMENTS_API_KEY": "sk_live_" + "p" * 32,
    "TOPUP_WEBHOOK_SECRETS": "whsec_" + "w" * 32,
    "TOPUP_CARRIER_API_KEY": "carrier-" + "c" * 32,
    "TOPUP_SMDP_API_KEY": "smdp-" + "d" * 32,
    "TOPUP_SMDP_CALLBACK_KEY": "callback-" + "b" * 32,
    "TOPUP_SMS_WEBHOOK_KEY": "webhook-" + "h" * 32,
    "TOPUP_INDEX_KEY": "index-" + "i" * 32,
    "TOPUP_VOUCHER_PEPPERS": f"v2:{'n' * 32},v1:{'o' * 32}",
    "TOPUP_OTP_KEY": "otp-" + "t" * 32,
    "TOPUP_METRICS_TOKEN": METRICS_TOKEN,
    "TOPUP_DATA_KEYS": "k9:cHJvZHVjdGlvbi10ZXN0LWRhdGEta2V5LTMyYnl0ZXM=",
}

PROBE = """
import json, os
import django
os.environ["DJANGO_SETTINGS_MODULE"] = "topup.settings"
django.setup()
from django.core.management import call_command
from django.test import Client
call_command("migrate", interactive=False, verbosity=0)
from topup.services.seed import seed_demo
seed_demo()

def cookie(answer, name):
    morsel = answer.cookies.get(name)
    return None if morsel is None else {k: morsel[k] for k in ("secure", "httponly", "samesite")}

client = Client(HTTP_HOST="topup.example")
https = {"X-Forwarded-Proto": "https"}
out = {}
answer = client.get("/topup?x=1")
out["http_page"] = [answer.status_code, answer.get("Location"), answer.get("Strict-Transport-Security")]
answer = client.get("/healthz")
out["http_healthz"] = [answer.status_code, answer.get("Location")]
answer = client.get("/my", headers=https)
out["https_page"] = [answer.status_code, answer.get("Strict-Transport-Security")]
out["csp"] = answer.get("Content-Security-Policy")
out["csrf_cookie"] = cookie(answer, "csrftoken")
answer = client.post("/topup", {"msisdn": "0470 12 34 56"}, headers=https)
out["session_cookie"] = cookie(answer, "sessionid")
out["language_cookie"] = cookie(client.get("/?lang=fr", headers=https), "django_language")
token = os.environ["TOPUP_METRICS_TOKEN"]
out["metrics"] = [
    client.get("/metrics", headers=https).status_code,
    client.get("/metrics", headers={**https, "Authorization": "Bearer wrong"}).status_code,
    client.get("/metrics", headers={**https, "Authorization": f"Bearer {token}"}).status_code,
]
print(json.dumps(out))
"""


def production_env(tmp_path: Path, **changes: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOPUP_")}
    env.update(SECRETS)
    env.update(
        TOPUP_ENV="production",
        TOPUP_PUBLIC_URL="https://topup.example",
        TOPUP_DATA_DIR=str(tmp_path),
        TOPUP_DATABASE_URL=f"sqlite:///{tmp_path / 'topup.sqlite3'}",
        PYTHONPATH=str(ROOT / "src"),
    )
    env.update(changes)
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    done = run(["-c", PROBE], production_env(tmp_path_factory.mktemp("production")))
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_plain_http_is_redirected_to_https_but_not_the_health_check(observed: dict[str, object]) -> None:
    assert observed["http_page"] == [301, "https://topup.example/topup?x=1", None]
    assert observed["http_healthz"] == [200, None]


def test_https_behind_the_proxy_answers_with_hsts_and_the_csp(observed: dict[str, object]) -> None:
    assert observed["https_page"] == [200, "max-age=31536000; includeSubDomains"]
    assert "script-src 'self'" in str(observed["csp"])


def test_cookies_are_secure_http_only_and_same_site(observed: dict[str, object]) -> None:
    assert observed["csrf_cookie"] == {"secure": True, "httponly": True, "samesite": "Strict"}
    assert observed["session_cookie"] == {"secure": True, "httponly": True, "samesite": "Lax"}
    assert observed["language_cookie"] == {"secure": True, "httponly": True, "samesite": "Lax"}


def test_metrics_need_the_token_even_from_loopback(observed: dict[str, object]) -> None:
    assert observed["metrics"] == [401, 403, 200]


@pytest.mark.parametrize("name", ["TOPUP_SECRET_KEY", "TOPUP_OTP_KEY", "TOPUP_METRICS_TOKEN"])
def test_a_short_secret_stops_every_command_naming_the_variable(tmp_path: Path, name: str) -> None:
    done = run(["-m", "topup.cli", "migrate"], production_env(tmp_path, **{name: "x"}))
    assert done.returncode != 0
    assert f"{name} is shorter than 32 characters" in done.stderr
    assert not (tmp_path / "topup.sqlite3").exists()


def test_migrate_in_production_seeds_no_demo_unless_asked(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    plain = run(["-m", "topup.cli", "migrate"], env)
    assert plain.returncode == 0, plain.stderr[-3000:]
    assert plain.stdout.strip() == "database migrated"
    count = "import django,os;os.environ['DJANGO_SETTINGS_MODULE']='topup.settings';django.setup();"
    count += "from topup.db.models import ApiKey, PlanRecord as P;"
    count += "print(P.objects.count(), ApiKey.objects.count())"
    assert run(["-c", count], env).stdout.split() == ["0", "0"]
    asked = run(["-m", "topup.cli", "migrate", "--seed-demo"], env)
    assert asked.stdout.strip() == "database migrated and demo catalogue seeded"
    assert run(["-c", count], env).stdout.split()[1] == "0"  # the catalogue, never a demo admin key
    assert not (tmp_path / "demo-admin-key").exists()


def test_apikey_create_makes_a_working_key_in_production(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    assert run(["-m", "topup.cli", "migrate"], env).returncode == 0
    made = run(["-m", "topup.cli", "apikey", "create", "--scope", "admin", "--name", "operator"], env)
    assert made.returncode == 0, made.stderr[-3000:]
    key = made.stdout.strip().splitlines()[-1]
    assert key.startswith("tpk_")
    check = "import django,os,sys;os.environ['DJANGO_SETTINGS_MODULE']='topup.settings';django.setup();"
    check += "from topup.channels.api.auth import ScopedKey;from django.test import RequestFactory as F;"
    check += "print(ScopedKey('admin').authenticate(F().get('/'), sys.argv[1]).name)"
    assert run(["-c", check, key], env).stdout.strip() == "operator"


def child_commands(pid: int) -> list[list[str]]:
    """The command lines of a process's children, from /proc."""
    commands = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "stat").read_text().rsplit(")", 1)[1].split()[1] == str(pid):
                commands.append((proc / "cmdline").read_text().split("\0")[:-1])
        except OSError:
            continue  # gone meanwhile
    return commands


def test_serve_in_production_runs_no_simulator_and_prints_no_key(tmp_path: Path) -> None:
    port = free_port()
    env = production_env(tmp_path, TOPUP_HOST="127.0.0.1", TOPUP_PORT=str(port), TOPUP_WEB_WORKERS="1")
    serve = subprocess.Popen(
        [sys.executable, "-m", "topup.cli", "serve"], env=env, cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and serve.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", headers={"Host": "topup.example"})
                if health.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail("topup serve did not answer /healthz in production")
        children = sorted(argv[3] for argv in child_commands(serve.pid))  # python -m <module> <what>
    finally:
        serve.send_signal(signal.SIGTERM)
        output = serve.communicate(timeout=60)[0]
    assert children == ["topup.wsgi:application", "worker"]  # gunicorn (`topup web`) and `topup worker`
    assert "Topup is running (production)" in output
    assert "tpk_" not in output
    assert "admin key" not in output
    assert "simulator" not in output
    assert "sim " not in output
