"""The one place where configuration is read: `TOPUP_*` environment variables (and a `.env` file).

`CONFIG` is a typed view for our own code; the Django settings below are derived from it.
Every variable is listed in the README with its default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from topup.db.config import DatabaseConfig, check_pooler, databases

DEMO_SECRET = "demo-insecure-secret-change-me"  # noqa: S105 - the demo's placeholder, refused in production
DEMO_PAYMENTS_API_KEY = "sk_test_topup_demo"
DEMO_WEBHOOK_SECRET = "whsec_topup_demo"  # noqa: S105
DEMO_CARRIER_API_KEY = "carrier_demo_key"
DEMO_DTONE_API_KEY = "dtone_demo_key"
DEMO_DTONE_API_SECRET = "dtone_demo_secret"  # noqa: S105 - the DT One simulator's, refused in production
DEMO_DTONE_CALLBACK_TOKEN = "dtone-demo-callback-token"  # noqa: S105 - the demo's, refused in production
DEMO_SMDP_API_KEY = "smdp_demo_key"
DEMO_SMDP_CALLBACK_KEY = "smdp_callback_demo_key"
DEMO_SMSC_PASSWORD = "topup123"  # noqa: S105 - the demo SMSC simulator's, refused in production
DEMO_SMS_WEBHOOK_KEY = "sms_webhook_demo_key"
DEMO_INDEX_KEY = "demo-blind-index-key-change-me-0123456789"
DEMO_OTP_KEY = "demo-one-time-code-key-change-me-0123456789"
MIN_SECRET_CHARS = 32  # every secret production needs is at least this long (SMPP passwords excepted)
# base64 of SHA-256("topup demo data key"): encrypts personal data in the demo, refused in production.
DEMO_DATA_KEY = "k1:vWop16c/9B27OubzJGVRhC8zB9WuNLr2bKWbb2VB5CI="
DEMO_USSD_GATEWAY_KEY = "ussd_gateway_demo_key"
DEMO_IVR_AUTH_TOKEN = "ivr_demo_auth_token"  # noqa: S105 - the demo's, refused in production


def _load_dotenv(path: Path) -> None:
    """Read KEY=VALUE lines into the environment; variables already set win."""
    if not path.is_file():
        return
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        os.environ.setdefault(key.strip(), value.strip().strip('"').strip("'"))


def _checkout() -> Path | None:
    """The source checkout this code runs from (`make run`'s editable install), or None when installed."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() and (root / "src" / "topup").is_dir() else None


CHECKOUT = _checkout()


def _dotenv_files() -> tuple[Path, ...]:
    """The .env files to read: the working directory's; else the checkout's, so that a command run from
    another folder sees the same settings as `make run` in the checkout. Never the checkout's when the
    working directory has its own, nor when the process environment says TOPUP_ENV=production: a
    developer's demo settings left in the checkout must not reach a production process."""
    own = Path.cwd() / ".env"
    if own.is_file():
        return (own,)
    if CHECKOUT is None or os.environ.get("TOPUP_ENV") == "production" or not (CHECKOUT / ".env").is_file():
        return ()
    return (CHECKOUT / ".env",)


DOTENV_FILES = _dotenv_files()  # what was read, for `topup doctor` (a variable already set wins)
for _dotenv in DOTENV_FILES:
    _load_dotenv(_dotenv)
# The default data folder does not depend on the working directory: the checkout's data/, else ./data.
DEFAULT_DATA_DIR = (CHECKOUT or Path.cwd()) / "data"


def _env(name: str, default: str) -> str:
    return os.environ.get(f"TOPUP_{name}", default)


def _env_int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


def _env_float(name: str, default: float) -> float:
    return float(_env(name, str(default)))


def _env_bool(name: str, default: bool) -> bool:
    return _env(name, "true" if default else "false").strip().lower() in {"1", "true", "yes", "on"}


def _peppers(raw: str) -> tuple[tuple[str, str], ...]:
    """`v2:<secret>,v1:<secret>` as ((id, secret), ...): the first hashes new vouchers, all redeem."""
    peppers: list[tuple[str, str]] = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        pepper_id, sep, secret = item.partition(":")
        if not sep or not pepper_id.isalnum() or not secret or pepper_id in dict(peppers):
            raise RuntimeError("TOPUP_VOUCHER_PEPPERS must read `v2:<secret>,v1:<secret>` with distinct ids")
        peppers.append((pepper_id, secret))
    return tuple(peppers)


def _env_list(name: str, default: str) -> tuple[str, ...]:
    """A comma-separated list; set but empty gives an empty list (a channel's empty key list disables it)."""
    return tuple(item.strip() for item in _env(name, default).split(",") if item.strip())


@dataclass(frozen=True)
class Config:
    env: str  # demo | production | test
    secret_key: str
    data_dir: Path
    database_url: str
    host: str
    port: int
    public_url: str
    payments_url: str
    payments_port: int
    payments_api_key: str
    webhook_secrets: tuple[str, ...]  # first signs (in the simulator), all verify (rotation)
    carriers_url: str
    carriers_port: int
    carrier_api_key: str
    carrier_timeout_s: float
    # Which adapter each payment method and each network goes through (see topup.wiring):
    payment_routes: dict[str, str]  # method -> provider name (card=stripe, ...)
    stripe_api_version: str  # the Stripe API version every request asks for (the SDK's pinned one)
    stripe_card_payment_method: str  # what card payments confirm with (a Stripe test card in test mode)
    stripe_card_flow: str  # checkout (Stripe's hosted page collects the card) | payment_method (test mode)
    carrier_routes: dict[str, str]  # network id -> carrier route name; "*" is every other network
    # DT One DVS (the "dtone" carrier route): Basic auth with key and secret, its float watched.
    dtone_url: str
    dtone_port: int  # the demo's simulator
    dtone_api_key: str
    dtone_api_secret: str
    dtone_timeout_s: float
    dtone_float_alert_minor: int  # below this the float sweep logs alert=carrier_float_low
    dtone_callback_token: str  # secret path segment of DT One's callback URL; empty: no callbacks (poll only)
    smdp_url: str
    smdp_port: int
    smdp_api_key: str
    smdp_callback_key: str  # what the SM-DP+ sends us with handleDownloadProgressInfo
    smsc_host: str
    smsc_port: int
    smsc_http_port: int  # the SMSC simulator's phone-playing web side
    smsc_system_id: str
    smsc_password: str
    sms_short_code: str
    support_phone: str  # customer service, printed on receipts; empty: the website is printed instead
    support_email: str  # customer service's address on the contact and help pages; empty: not shown
    sms_webhook_key: str  # what an SMS aggregator sends with inbound messages over HTTP
    smtp_host: str  # empty: no e-mail is sent (receipts go by SMS only)
    smtp_port: int
    mail_port: int  # the demo's SMTP sink (`topup simulate mail`), when TOPUP_SMTP_HOST is not set
    mail_sink: bool  # `topup serve` runs the sink and e-mails into it (the demo, no TOPUP_SMTP_HOST)
    mail_from: str
    delivery_deadline_s: int
    worker_threads: int
    job_lease_s: float
    job_max_attempts: int  # failed this many times: `dead` (alert, metric, `topup jobs requeue`)
    payment_ttl_s: int
    payment_max_attempts: int  # payment attempts per order (the first and its retries)
    web_workers: int
    web_threads: int  # gunicorn gthread threads per web process
    web_streams: int  # of those, how many may hold a long poll or an event stream at once
    log_format: str  # text | json
    access_log: bool  # a line per HTTP request, job and message that went well (off: only what needs a look)
    otel_endpoint: str  # OTLP/HTTP collector's base URL (spans to <url>/v1/traces); empty: no tracing
    index_key: str  # keys the blind indexes of personal data and the hashes of client addresses
    voucher_peppers: tuple[tuple[str, str], ...]  # (id, secret): the first hashes new PINs, all redeem
    otp_key: str  # keys the digests of one-time codes
    metrics_token: str  # Bearer token of /metrics; empty outside production: loopback callers only
    metrics_dir: Path  # prometheus-client's multiprocess folder: every process's counters, summed by /metrics
    hsts_seconds: int
    hsts_include_subdomains: bool
    hsts_preload: bool
    ssl_redirect: bool  # http -> https (behind a proxy: X-Forwarded-Proto), except /healthz
    data_keys: tuple[
        str, ...
    ]  # `kid:base64(32 bytes)` AES-GCM keys for personal data: first encrypts, all decrypt
    retention_days: dict[str, int]  # what is purged after how many days (see topup.services.retention)
    # Channel gateways (first key signs in our own tools, all verify: rotation); empty disables the channel.
    ussd_gateway_keys: tuple[str, ...]
    sms_webhook_keys: tuple[str, ...]
    ivr_auth_tokens: tuple[str, ...]
    gateway_allowed_ips: tuple[str, ...]  # CIDRs the gateways call from; empty: any
    trusted_proxies: tuple[str, ...]  # CIDRs of our own proxies, whose X-Forwarded-For is believed
    agent_idle_s: int  # an agent console session ends after this long without a request
    shop_seller: tuple[
        str, ...
    ]  # the operator's shop on counter receipts: name, address lines..., VAT number
    voucher_breaker_window_s: int  # the sliding window in which failed redemptions are counted
    voucher_breaker_failures: int  # unknown PINs in the window that open the breaker whatever the share
    voucher_breaker_share: float  # or this share of attempts failing (with at least a third of the count)
    voucher_breaker_rate: int  # redemption attempts a minute, for everyone together, while it is open
    # Yuan for Alipay and WeChat Pay payers (topup.domain.fx): where `topup fx import` reads the ECB's
    # rates, our markup on them, how long a quote holds, the oldest rate still quoted, and per method
    # whether the provider charges EUR or the yuan amount.
    fx_url: str
    fx_markup_bp: int
    fx_quote_ttl_s: int
    fx_max_age_days: int
    charge_currency: dict[str, str]
    # The self-service kiosk (topup.channels.kiosk): the cash acceptor's device service, the receipt
    # printer, the idle timeout, and the card reader of the provider's card-present flow.
    cash_url: str
    cash_port: int  # the demo's cash acceptor simulator
    kiosk_printer: str  # file:/path | network:host:9100 | dummy (bytes kept in memory, tests)
    kiosk_idle_timeout_s: int
    kiosk_reader_id: str  # the Stripe Terminal reader beside the demo's kiosk
    # Auto top-up: charge attempts per period before it pauses, hours between them, threshold checks
    autotopup_max_attempts: int = 3
    autotopup_retry_s: int = 6 * 3600
    autotopup_check_s: int = 900
    # Several machines (topup.db.config): a transaction-mode pooler, a replica for reads that may lag, and
    # a session connection for LISTEN.
    database_pooler: str = ""
    database_replica_url: str = ""
    database_listen_url: str = ""
    # Partitioned tables (topup.db.partitions): months older than this are detached and archived; 0: never
    partition_retention_months: int = 24

    @property
    def is_production(self) -> bool:
        return self.env == "production"


# Defaults of TOPUP_RETENTION_<NAME>_DAYS: how long records kept only for a while live before the purge.
RETENTION_DAYS = (
    ("otp", 7),  # one-time code challenges (the rate limits look back 1 hour at most)
    ("redeem_attempts", 30),  # voucher redemption failure counters without a recent failure
    ("inbox_payloads", 30),  # processed webhook payloads (the row stays, for deduplication)
    ("jobs", 14),  # finished (done) jobs
    ("access_tokens", 1),  # expired bearer tokens
    ("idempotency", 7),  # stored first answers to write requests
    ("rate_counters", 1),  # windows of the voucher and one-time-code limits (the longest is 1 hour)
)


DEFAULT_FX_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
DEFAULT_CHARGE_CURRENCY = "alipay=EUR,wechat_pay=EUR"


def _charge_currency(raw: dict[str, str]) -> dict[str, str]:
    """TOPUP_CHARGE_CURRENCY: `alipay=CNY,wechat_pay=EUR`; any other method or currency refuses to start."""
    from topup.domain.fx import FX_METHODS  # noqa: PLC0415 - only they may be charged in CNY

    charged = dict.fromkeys(sorted(FX_METHODS), "EUR")
    for method, currency in raw.items():
        if method not in FX_METHODS or currency.upper() not in {"EUR", "CNY"}:
            raise RuntimeError(
                "TOPUP_CHARGE_CURRENCY must read `alipay=EUR|CNY,wechat_pay=EUR|CNY` "
                f"(got {method}={currency})"
            )
        charged[method] = currency.upper()
    return charged


DEFAULT_PAYMENT_ROUTES = "card=stripe,bancontact=stripe,alipay=stripe,wechat_pay=stripe,card_present=stripe"
DEFAULT_STRIPE_API_VERSION = "2026-10-28.endive"  # what stripe==16.1.0 pins
DEFAULT_STRIPE_CARD_PAYMENT_METHOD = "pm_card_threeDSecure2Required"
DEFAULT_CARRIER_ROUTES = "*=gateway"
DEMO_CARRIER_ROUTES = "*=gateway,orange=dtone"  # the demo shows both routes: Orange Belgium via DT One


def _env_map(name: str, default: str) -> dict[str, str]:
    """`key=value,key=value` (spaces ignored); a later key wins."""
    pairs = (item.split("=", 1) for item in _env(name, default).split(",") if "=" in item)
    return {key.strip(): value.strip() for key, value in pairs if key.strip() and value.strip()}


def load_config() -> Config:
    host = _env("HOST", "127.0.0.1")
    port = _env_int("PORT", 8000)
    data_dir = Path(_env("DATA_DIR", str(DEFAULT_DATA_DIR))).resolve()
    payments_port = _env_int("PAYMENTS_PORT", port + 1)
    carriers_port = _env_int("CARRIERS_PORT", port + 2)
    smdp_port = _env_int("SMDP_PORT", port + 3)
    smsc_port = _env_int("SMSC_PORT", port + 4)
    dtone_port = _env_int("DTONE_PORT", port + 7)  # +5 is the SMSC's phones, +6 the chaos relay
    cash_port = _env_int("CASH_PORT", port + 8)
    mail_port = _env_int("MAIL_PORT", port + 9)
    env = _env("ENV", "demo")
    # The demo e-mails into its own SMTP sink (data/mail/) unless the operator names a relay.
    mail_sink = env == "demo" and "TOPUP_SMTP_HOST" not in os.environ
    production = env == "production"
    secret_key = _env("SECRET_KEY", DEMO_SECRET)
    config = Config(
        env=env,
        secret_key=secret_key,
        data_dir=data_dir,
        database_url=_env("DATABASE_URL", f"sqlite:///{data_dir / 'topup.sqlite3'}"),
        host=host,
        port=port,
        public_url=_env("PUBLIC_URL", f"http://{host}:{port}").rstrip("/"),
        payments_url=_env("PAYMENTS_URL", f"http://{host}:{payments_port}").rstrip("/"),
        payments_port=payments_port,
        payments_api_key=_env("PAYMENTS_API_KEY", DEMO_PAYMENTS_API_KEY),
        webhook_secrets=tuple(s for s in _env("WEBHOOK_SECRETS", DEMO_WEBHOOK_SECRET).split(",") if s),
        carriers_url=_env("CARRIERS_URL", f"http://{host}:{carriers_port}").rstrip("/"),
        carriers_port=carriers_port,
        carrier_api_key=_env("CARRIER_API_KEY", DEMO_CARRIER_API_KEY),
        carrier_timeout_s=_env_float("CARRIER_TIMEOUT_S", 5.0),
        payment_routes=_env_map("PAYMENT_ROUTES", DEFAULT_PAYMENT_ROUTES),
        stripe_api_version=_env("STRIPE_API_VERSION", DEFAULT_STRIPE_API_VERSION),
        stripe_card_payment_method=_env("STRIPE_CARD_PAYMENT_METHOD", DEFAULT_STRIPE_CARD_PAYMENT_METHOD),
        stripe_card_flow=_env("STRIPE_CARD_FLOW", "checkout"),
        carrier_routes=_env_map(
            "CARRIER_ROUTES", DEMO_CARRIER_ROUTES if env == "demo" else DEFAULT_CARRIER_ROUTES
        ),
        dtone_url=_env("DTONE_URL", f"http://{host}:{dtone_port}").rstrip("/"),
        dtone_port=dtone_port,
        dtone_api_key=_env("DTONE_API_KEY", DEMO_DTONE_API_KEY),
        dtone_api_secret=_env("DTONE_API_SECRET", DEMO_DTONE_API_SECRET),
        dtone_timeout_s=_env_float("DTONE_TIMEOUT_S", 10.0),
        dtone_float_alert_minor=_env_int("DTONE_FLOAT_ALERT_MINOR", 50_000),
        dtone_callback_token=_env("DTONE_CALLBACK_TOKEN", DEMO_DTONE_CALLBACK_TOKEN if env == "demo" else ""),
        smdp_url=_env("SMDP_URL", f"http://{host}:{smdp_port}").rstrip("/"),
        smdp_port=smdp_port,
        smdp_api_key=_env("SMDP_API_KEY", DEMO_SMDP_API_KEY),
        smdp_callback_key=_env("SMDP_CALLBACK_KEY", DEMO_SMDP_CALLBACK_KEY),
        smsc_host=_env("SMSC_HOST", "" if production else host),  # production: no SMSC unless named
        smsc_port=smsc_port,
        smsc_http_port=_env_int("SMSC_HTTP_PORT", smsc_port + 1),
        smsc_system_id=_env("SMSC_SYSTEM_ID", "topup"),
        smsc_password=_env("SMSC_PASSWORD", DEMO_SMSC_PASSWORD),
        sms_short_code=_env("SMS_SHORT_CODE", "1919"),
        support_phone=_env("SUPPORT_PHONE", ""),
        support_email=_env("SUPPORT_EMAIL", "help@topup.example"),
        sms_webhook_key=_env("SMS_WEBHOOK_KEY", "" if production else DEMO_SMS_WEBHOOK_KEY),
        smtp_host=_env("SMTP_HOST", host if mail_sink else ""),
        smtp_port=_env_int("SMTP_PORT", mail_port if mail_sink else 25),
        mail_port=mail_port,
        mail_sink=mail_sink,
        mail_from=_env("MAIL_FROM", "Topup <receipts@topup.example>"),
        delivery_deadline_s=_env_int("DELIVERY_DEADLINE_S", 900),
        worker_threads=_env_int("WORKER_THREADS", 16),
        job_lease_s=_env_float("JOB_LEASE_S", 60.0),
        job_max_attempts=_env_int("JOB_MAX_ATTEMPTS", 40),
        payment_ttl_s=_env_int("PAYMENT_TTL_S", 1800),
        payment_max_attempts=_env_int("PAYMENT_MAX_ATTEMPTS", 5),
        web_workers=_env_int("WEB_WORKERS", 2),
        web_threads=_env_int("WEB_THREADS", 16),
        web_streams=_env_int("WEB_STREAMS", 12),
        log_format=_env("LOG_FORMAT", "json" if env == "production" else "text"),
        access_log=_env_bool("ACCESS_LOG", False),
        otel_endpoint=_env("OTEL_EXPORTER_OTLP_ENDPOINT", os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "")),
        index_key=_env("INDEX_KEY", DEMO_INDEX_KEY),
        # Demo: v1 is the secret key, which hashed every voucher before peppers were separate.
        voucher_peppers=_peppers(_env("VOUCHER_PEPPERS", "" if production else f"v1:{secret_key}")),
        otp_key=_env("OTP_KEY", "" if production else DEMO_OTP_KEY),
        metrics_token=_env("METRICS_TOKEN", ""),
        metrics_dir=Path(_env("METRICS_DIR", str(data_dir / "metrics"))).resolve(),
        hsts_seconds=_env_int("HSTS_SECONDS", 31_536_000 if production else 0),
        hsts_include_subdomains=_env_bool("HSTS_INCLUDE_SUBDOMAINS", True),
        hsts_preload=_env_bool("HSTS_PRELOAD", False),
        ssl_redirect=_env_bool("SSL_REDIRECT", production),
        data_keys=tuple(k.strip() for k in _env("DATA_KEYS", DEMO_DATA_KEY).split(",") if k.strip()),
        retention_days={
            name: _env_int(f"RETENTION_{name.upper()}_DAYS", days) for name, days in RETENTION_DAYS
        },
        ussd_gateway_keys=_env_list("USSD_GATEWAY_KEYS", "" if production else DEMO_USSD_GATEWAY_KEY),
        sms_webhook_keys=_env_list("SMS_WEBHOOK_KEYS", "" if production else DEMO_SMS_WEBHOOK_KEY),
        ivr_auth_tokens=_env_list("IVR_AUTH_TOKEN", "" if production else DEMO_IVR_AUTH_TOKEN),
        gateway_allowed_ips=_env_list("GATEWAY_ALLOWED_IPS", ""),
        trusted_proxies=_env_list("TRUSTED_PROXIES", ""),
        agent_idle_s=_env_int("AGENT_IDLE_S", 900),
        shop_seller=tuple(
            _env("SHOP_SELLER", "Topup shop;Rue Neuve 1;1000 Bruxelles;BE0000000097").split(";")
        ),
        voucher_breaker_window_s=_env_int("VOUCHER_BREAKER_WINDOW_S", 300),
        voucher_breaker_failures=_env_int("VOUCHER_BREAKER_FAILURES", 60),
        voucher_breaker_share=_env_float("VOUCHER_BREAKER_SHARE", 0.5),
        voucher_breaker_rate=_env_int("VOUCHER_BREAKER_RATE", 12),
        fx_url=_env("FX_URL", DEFAULT_FX_URL),
        fx_markup_bp=_env_int("FX_MARKUP_BPS", 200),
        fx_quote_ttl_s=_env_int("FX_QUOTE_TTL_S", 900),
        # The demo quotes its bundled sample whatever its date (no internet needed); elsewhere 4 days: a
        # weekend and a holiday between two ECB publications.
        fx_max_age_days=_env_int("FX_MAX_AGE_DAYS", 36_500 if env == "demo" else 4),
        charge_currency=_charge_currency(_env_map("CHARGE_CURRENCY", DEFAULT_CHARGE_CURRENCY)),
        cash_url=_env("CASH_URL", f"http://{host}:{cash_port}").rstrip("/"),
        cash_port=cash_port,
        kiosk_printer=_env("KIOSK_PRINTER", f"file:{data_dir / 'kiosk-printer.bin'}"),
        kiosk_idle_timeout_s=_env_int("KIOSK_IDLE_TIMEOUT_S", 60),
        kiosk_reader_id=_env("KIOSK_READER_ID", "tmr_demo_kiosk"),
        autotopup_max_attempts=_env_int("AUTOTOPUP_MAX_ATTEMPTS", 3),
        autotopup_retry_s=_env_int("AUTOTOPUP_RETRY_S", 6 * 3600),
        autotopup_check_s=_env_int("AUTOTOPUP_CHECK_S", 900),
        database_pooler=check_pooler(_env("DATABASE_POOLER", "")),
        database_replica_url=_env("DATABASE_REPLICA_URL", ""),
        database_listen_url=_env("DATABASE_LISTEN_URL", ""),
        partition_retention_months=_env_int("PARTITION_RETENTION_MONTHS", 24),
    )
    if config.is_production:
        _refuse_demo_secrets(config)
    return config


DEMO_SECRETS = frozenset(
    {DEMO_SECRET, DEMO_PAYMENTS_API_KEY, DEMO_WEBHOOK_SECRET, DEMO_CARRIER_API_KEY, DEMO_SMDP_API_KEY}
    | {DEMO_SMDP_CALLBACK_KEY, DEMO_SMSC_PASSWORD, DEMO_SMS_WEBHOOK_KEY, DEMO_INDEX_KEY, DEMO_OTP_KEY}
    | {DEMO_DATA_KEY, DEMO_USSD_GATEWAY_KEY, DEMO_IVR_AUTH_TOKEN, DEMO_DTONE_API_KEY, DEMO_DTONE_API_SECRET}
    | {DEMO_DTONE_CALLBACK_TOKEN}
)


def optional_secrets(config: Config) -> list[tuple[str, str]]:
    """Secrets of channels production may leave off (empty: the channel answers 404); when set, they are held
    to the same rules as the required ones."""
    return [
        ("TOPUP_SMS_WEBHOOK_KEY", config.sms_webhook_key),
        *(("TOPUP_SMS_WEBHOOK_KEYS", key) for key in config.sms_webhook_keys),
        *(("TOPUP_USSD_GATEWAY_KEYS", key) for key in config.ussd_gateway_keys),
        *(("TOPUP_IVR_AUTH_TOKEN", key) for key in config.ivr_auth_tokens),
        ("TOPUP_DTONE_CALLBACK_TOKEN", config.dtone_callback_token),
    ]


def production_secrets(config: Config) -> list[tuple[str, str]]:
    """(variable, value) of every secret production needs: each set, not a demo value, >= 32 characters.

    A list variable contributes one entry per item (an empty list one empty entry, so it counts as missing).
    """
    return [
        ("TOPUP_SECRET_KEY", config.secret_key),
        ("TOPUP_PAYMENTS_API_KEY", config.payments_api_key),
        *(("TOPUP_WEBHOOK_SECRETS", s) for s in config.webhook_secrets or ("",)),
        ("TOPUP_CARRIER_API_KEY", config.carrier_api_key),
        ("TOPUP_SMDP_API_KEY", config.smdp_api_key),
        ("TOPUP_SMDP_CALLBACK_KEY", config.smdp_callback_key),
        ("TOPUP_INDEX_KEY", config.index_key),
        *(("TOPUP_VOUCHER_PEPPERS", s) for _id, s in config.voucher_peppers or (("", ""),)),
        ("TOPUP_OTP_KEY", config.otp_key),
        ("TOPUP_METRICS_TOKEN", config.metrics_token),
        *(("TOPUP_DATA_KEYS", key) for key in config.data_keys or ("",)),
    ]


def production_problems(config: Config) -> list[str]:
    """What keeps this configuration from running in production (names only: never a secret's value)."""
    problems: list[str] = []
    optional = [(name, value) for name, value in optional_secrets(config) if value]
    for name, value in [*production_secrets(config), *optional]:
        if name == "TOPUP_DATA_KEYS" and value == DEMO_DATA_KEY and len(config.data_keys) > 1:
            continue  # the demo key kept to read older data: "holds the demo data key" below (rotate)
        if not value or value in DEMO_SECRETS:
            problems.append(f"{name} is missing or a demo value")
        elif len(value) < MIN_SECRET_CHARS:
            problems.append(f"{name} is shorter than {MIN_SECRET_CHARS} characters")
    if config.smsc_host and (not config.smsc_password or config.smsc_password == DEMO_SMSC_PASSWORD):
        problems.append("TOPUP_SMSC_PASSWORD is missing or a demo value (TOPUP_SMSC_HOST is set)")
    # Separate secrets: one leaked key must not give away another (older voucher peppers may repeat
    # the old secret key, which hashed the vouchers printed before peppers were separate).
    own = {
        "TOPUP_SECRET_KEY": config.secret_key,
        "TOPUP_INDEX_KEY": config.index_key,
        "TOPUP_OTP_KEY": config.otp_key,
        "TOPUP_METRICS_TOKEN": config.metrics_token,
        "TOPUP_VOUCHER_PEPPERS (first)": config.voucher_peppers[0][1] if config.voucher_peppers else "",
    }
    seen: dict[str, str] = {}
    for name, value in own.items():
        if value and value in seen:
            problems.append(f"{name} repeats {seen[value]}: each secret must be its own")
        seen.setdefault(value, name)
    demo_material = DEMO_DATA_KEY.split(":", 1)[1]
    # The demo's alone (TOPUP_DATA_KEYS unset) is "missing" above: set one; with others, rotate away from it.
    alone = config.data_keys == (DEMO_DATA_KEY,)
    if not alone and any(key.split(":", 1)[-1] == demo_material for key in config.data_keys):
        problems.append("TOPUP_DATA_KEYS holds the demo data key")
    if not config.public_url.startswith("https://"):
        problems.append("TOPUP_PUBLIC_URL must start with https://")
    if "dtone" in config.carrier_routes.values():
        if {config.dtone_api_key, config.dtone_api_secret} & DEMO_SECRETS:
            problems.append(
                "TOPUP_DTONE_API_KEY or TOPUP_DTONE_API_SECRET is a demo value (a route uses dtone)"
            )
        if not config.dtone_url.startswith("https://"):
            problems.append("TOPUP_DTONE_URL must start with https:// (a route uses dtone)")
    return problems


class ProductionRefused(RuntimeError):
    """A production configuration that may not start; `problems` names each fault (`topup doctor` too)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("TOPUP_ENV=production refuses to start: " + "; ".join(problems))
        self.problems = problems


def _refuse_demo_secrets(config: Config) -> None:
    problems = production_problems(config)
    if problems:
        raise ProductionRefused(problems)


CONFIG = load_config()

# ---------------------------------------------------------------- Django

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = CONFIG.secret_key
DEBUG = False
ALLOWED_HOSTS = ["*"] if not CONFIG.is_production else [urlparse(CONFIG.public_url).hostname or "localhost"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "topup.channels.backoffice.apps.BackOfficeAdminConfig",  # the admin on our own site (back office)
    "ninja",  # API docs from our own static files with no inline script (without it: a CDN and inline JS)
    "topup.db",
]
MIDDLEWARE = [
    "topup.channels.request_id.RequestIdMiddleware",  # X-Request-Id bound to the logs, a span per request
    "topup.metrics.http.RequestLatencyMiddleware",  # /metrics: time per route, method and status
    "topup.channels.access_log.AccessLogMiddleware",  # only with TOPUP_ACCESS_LOG (else not loaded)
    "django.middleware.security.SecurityMiddleware",
    "topup.channels.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "topup.channels.db_failover.DatabaseFailoverMiddleware",  # a failover: one safe retry, else 503
    "topup.channels.db_failover.ReadYourWritesMiddleware",  # only with TOPUP_DATABASE_REPLICA_URL
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "topup.channels.input_guard.InputGuardMiddleware",  # NUL bytes: 404/400 before any database read
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "topup.urls"
WSGI_APPLICATION = "topup.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [
            BASE_DIR / "channels" / "web" / "templates",
            BASE_DIR / "channels" / "kiosk" / "templates",
            BASE_DIR / "channels" / "agent" / "templates",
        ],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DATABASES = databases(
    DatabaseConfig(
        url=CONFIG.database_url,
        pooler=CONFIG.database_pooler,
        replica_url=CONFIG.database_replica_url,
        listen_url=CONFIG.database_listen_url,
    )
)
# Reads go to the primary unless a block opts in with `replica_reads()` (and the replica has caught up).
DATABASE_ROUTERS = ["topup.db.router.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = True
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("nl", "Nederlands"),
    ("fr", "Français"),
    ("de", "Deutsch"),
    ("zh-hans", "简体中文"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "channels" / "web" / "static", BASE_DIR / "channels" / "kiosk" / "static"]
WHITENOISE_USE_FINDERS = True  # serve app static files (API docs assets) without a collectstatic step
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# ---------------------------------------------------------------- production hardening (HTTPS, cookies, CSP)
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and overwrites what the client sent).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if CONFIG.is_production else None
SECURE_SSL_REDIRECT = CONFIG.ssl_redirect
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the proxy's and the orchestrator's health checks speak plain HTTP
SECURE_HSTS_SECONDS = CONFIG.hsts_seconds
SECURE_HSTS_INCLUDE_SUBDOMAINS = CONFIG.hsts_include_subdomains
SECURE_HSTS_PRELOAD = CONFIG.hsts_preload
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = CONFIG.is_production
SESSION_COOKIE_HTTPONLY = CSRF_COOKIE_HTTPONLY = LANGUAGE_COOKIE_HTTPONLY = True  # no script reads them
SESSION_COOKIE_SAMESITE: Literal["Lax"] = "Lax"  # kept when coming back from the payment page
LANGUAGE_COOKIE_SAMESITE: Literal["Lax"] = "Lax"
CSRF_COOKIE_SAMESITE: Literal["Strict"] = "Strict"  # only our own forms post
CSRF_TRUSTED_ORIGINS = [CONFIG.public_url] if CONFIG.public_url.startswith("https://") else []
# Sent on every response, in every environment, so that the tests catch an inline script or style.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
METRICS_TOKEN = CONFIG.metrics_token
SESSION_ENGINE = "topup.db.sessions"  # sessions are sealed like the rest of the personal data
# Argon2id first: new and re-hashed passwords use it; the others only read hashes made before.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"()": "topup.logs.TextFormatter"},
        "json": {"()": "topup.logs.JsonFormatter"},
    },
    "filters": {
        "bound_ids": {"()": "topup.logs.BoundIds"},
        "mask_numbers": {"()": "topup.logs.MaskNumbers"},
        "routine": {"()": "topup.logs.RoutineLines"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": CONFIG.log_format,
            # Routine lines are dropped before the masking rewrites their message (it matches the template).
            "filters": ["bound_ids", *([] if CONFIG.access_log else ["routine"]), "mask_numbers"],
        }
    },
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "django.server": {"level": "WARNING"},
        # They log every request URL at INFO, and carrier URLs carry the number.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "stripe": {"level": "WARNING"},  # the SDK logs every request and answer at INFO
    },
}
