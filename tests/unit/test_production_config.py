"""Production refuses to start without its own secrets (each one set, not a demo value, at least 32
characters, not one reused for another), and `topup serve` / `topup migrate` run no demo in production."""

from __future__ import annotations

import dataclasses

import pytest

from topup import cli
from topup.serve import banner, children_for
from topup.settings import Config, load_config

SECRETS = {
    "TOPUP_SECRET_KEY": "s" * 40,
    "TOPUP_PAYMENTS_API_KEY": "sk_live_" + "p" * 32,
    "TOPUP_WEBHOOK_SECRETS": "whsec_" + "w" * 32,
    "TOPUP_CARRIER_API_KEY": "c" * 32,
    "TOPUP_SMDP_API_KEY": "d" * 32,
    "TOPUP_SMDP_CALLBACK_KEY": "b" * 32,
    "TOPUP_SMS_WEBHOOK_KEY": "h" * 32,
    "TOPUP_INDEX_KEY": "i" * 32,
    "TOPUP_VOUCHER_PEPPERS": f"v2:{'n' * 32},v1:{'o' * 32}",
    "TOPUP_OTP_KEY": "t" * 32,
    "TOPUP_METRICS_TOKEN": "m" * 32,
    "TOPUP_DATA_KEYS": "k9:cHJvZHVjdGlvbi10ZXN0LWRhdGEta2V5LTMyYnl0ZXM=",
}


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("TOPUP_SMSC_HOST", "TOPUP_SMSC_PASSWORD", "TOPUP_HSTS_SECONDS", "TOPUP_SSL_REDIRECT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TOPUP_ENV", "production")
    monkeypatch.setenv("TOPUP_PUBLIC_URL", "https://topup.example")
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def refusal(monkeypatch: pytest.MonkeyPatch, name: str, value: str | None) -> str:
    if value is None:
        monkeypatch.delenv(name, raising=False)
    else:
        monkeypatch.setenv(name, value)
    with pytest.raises(RuntimeError) as refused:
        load_config()
    return str(refused.value)


def test_production_starts_with_long_separate_secrets(production: pytest.MonkeyPatch) -> None:
    config = load_config()
    assert config.is_production
    assert config.voucher_peppers == (("v2", "n" * 32), ("v1", "o" * 32))
    assert (config.otp_key, config.metrics_token) == ("t" * 32, "m" * 32)
    assert (config.hsts_seconds, config.hsts_include_subdomains) == (31_536_000, True)
    assert not config.hsts_preload
    assert config.ssl_redirect
    assert config.smsc_host == ""  # no SMSC unless one is named


OPTIONAL = {"TOPUP_SMS_WEBHOOK_KEY"}  # a channel's key: empty switches the channel off, set it must be strong


@pytest.mark.parametrize("name", sorted(set(SECRETS) - OPTIONAL))
@pytest.mark.parametrize("value", [None, "", "x", "a" * 31], ids=["unset", "empty", "x", "31-chars"])
def test_each_missing_or_short_secret_is_refused_by_name(
    production: pytest.MonkeyPatch, name: str, value: str | None
) -> None:
    if name == "TOPUP_VOUCHER_PEPPERS" and value:
        value = f"v1:{value}"
    message = refusal(production, name, value)
    assert name in message
    assert "a" * 31 not in message  # the value itself is never shown


@pytest.mark.parametrize("name", sorted(OPTIONAL))
def test_an_optional_channel_secret_may_be_left_out_but_not_weak(
    production: pytest.MonkeyPatch, name: str
) -> None:
    production.delenv(name, raising=False)
    assert load_config().is_production  # left out: that channel is off
    assert name in refusal(production, name, "x" * 31)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TOPUP_SECRET_KEY", "demo-insecure-secret-change-me"),
        ("TOPUP_INDEX_KEY", "demo-blind-index-key-change-me-0123456789"),
        ("TOPUP_OTP_KEY", "demo-one-time-code-key-change-me-0123456789"),
        ("TOPUP_WEBHOOK_SECRETS", f"{'w' * 32},whsec_topup_demo"),
        ("TOPUP_VOUCHER_PEPPERS", f"v2:{'n' * 32},v1:short"),
    ],
)
def test_demo_secrets_and_short_list_items_are_refused(
    production: pytest.MonkeyPatch, name: str, value: str
) -> None:
    assert name in refusal(production, name, value)


def test_one_secret_may_not_serve_as_another(production: pytest.MonkeyPatch) -> None:
    assert "TOPUP_OTP_KEY repeats TOPUP_SECRET_KEY" in refusal(production, "TOPUP_OTP_KEY", "s" * 40)
    production.setenv("TOPUP_OTP_KEY", "t" * 32)
    message = refusal(production, "TOPUP_VOUCHER_PEPPERS", f"v2:{'s' * 40}")
    assert "TOPUP_VOUCHER_PEPPERS (first) repeats TOPUP_SECRET_KEY" in message
    # The old secret key may stay as an older pepper: it redeems the vouchers printed before.
    production.setenv("TOPUP_VOUCHER_PEPPERS", f"v2:{'n' * 32},v1:{'s' * 40}")
    assert load_config().voucher_peppers[1] == ("v1", "s" * 40)


def test_an_smsc_needs_its_password_and_the_public_url_https(production: pytest.MonkeyPatch) -> None:
    production.setenv("TOPUP_SMSC_HOST", "smsc.example")
    assert "TOPUP_SMSC_PASSWORD" in refusal(production, "TOPUP_SMSC_PASSWORD", None)
    production.setenv("TOPUP_SMSC_PASSWORD", "k3y!pw")  # SMPP 3.4 allows 8 characters at most
    assert load_config().smsc_password == "k3y!pw"
    assert "TOPUP_PUBLIC_URL" in refusal(production, "TOPUP_PUBLIC_URL", "http://topup.example")


@pytest.mark.parametrize("raw", ["v1", "v1:", ":secret", "v1:a,v1:b", "v-1:secret"])
def test_malformed_voucher_peppers_are_refused_in_every_environment(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("TOPUP_ENV", "demo")
    assert "TOPUP_VOUCHER_PEPPERS" in refusal(monkeypatch, "TOPUP_VOUCHER_PEPPERS", raw)


def test_the_demo_pepper_is_the_secret_key_so_existing_vouchers_keep_working(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TOPUP_ENV", "demo")
    monkeypatch.setenv("TOPUP_SECRET_KEY", "an-old-demo-secret")
    monkeypatch.delenv("TOPUP_VOUCHER_PEPPERS", raising=False)
    assert load_config().voucher_peppers == (("v1", "an-old-demo-secret"),)


def _config(env: str, **changes: object) -> Config:
    return dataclasses.replace(load_config(), env=env, **changes)  # type: ignore[arg-type]


def test_serve_in_production_runs_web_and_worker_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOPUP_ENV", "test")
    assert [c.name for c in children_for(_config("production", smsc_host=""))] == ["web", "worker"]
    with_smsc = children_for(_config("production", smsc_host="smsc.example"))
    assert [c.name for c in with_smsc] == ["web", "SMS gateway", "worker"]
    demo = [c.name for c in children_for(_config("demo", smsc_host="127.0.0.1"))]
    assert demo == [
        "payments simulator", "carriers simulator", "SM-DP+ simulator", "SMSC simulator",
        "cash acceptor simulator", "web", "SMS gateway", "worker",
    ]  # fmt: skip


def test_serve_in_production_prints_no_key_and_no_simulator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOPUP_ENV", "test")
    shown = banner(_config("production"), "tpk_demoadmin_secret")
    assert "tpk_" not in shown
    assert "admin key" not in shown
    assert "sim" not in shown
    demo = banner(_config("demo"), "tpk_demoadmin_secret")
    assert "demo admin key   tpk_demoadmin_secret" in demo
    assert "payments sim" in demo


def test_migrate_seeds_the_demo_in_production_only_when_asked() -> None:
    parse = cli.build_parser().parse_args
    assert cli.seeds_demo(parse(["migrate"]), production=False)
    assert not cli.seeds_demo(parse(["migrate", "--no-seed"]), production=False)
    assert not cli.seeds_demo(parse(["migrate"]), production=True)
    assert cli.seeds_demo(parse(["migrate", "--seed-demo"]), production=True)


def test_production_routed_to_dtone_needs_its_own_credentials_over_https(
    production: pytest.MonkeyPatch,
) -> None:
    production.setenv("TOPUP_CARRIER_ROUTES", "*=gateway,orange=dtone")
    refused = refusal(production, "TOPUP_DTONE_URL", "http://dvs.example")
    assert "TOPUP_DTONE_API_KEY or TOPUP_DTONE_API_SECRET is a demo value" in refused
    assert "TOPUP_DTONE_URL must start with https://" in refused
    production.setenv("TOPUP_DTONE_URL", "https://dvs-api.dtone.com")
    production.setenv("TOPUP_DTONE_API_KEY", "a real key")
    production.setenv("TOPUP_DTONE_API_SECRET", "a real secret")
    assert load_config().carrier_routes == {"*": "gateway", "orange": "dtone"}


def test_the_demo_routes_orange_through_dtone_and_starts_its_simulator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TOPUP_ENV", "demo")
    monkeypatch.delenv("TOPUP_CARRIER_ROUTES", raising=False)
    config = load_config()
    assert config.carrier_routes == {"*": "gateway", "orange": "dtone"}
    assert config.dtone_port == config.port + 7
    assert "DT One simulator" in [c.name for c in children_for(config)]
