"""The one place where configuration is read: `TOPUP_*` environment variables (and a `.env` file).

`CONFIG` is a typed view for our own code; the Django settings below are derived from it.
Every variable is listed in the README with its default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

DEMO_SECRET = "demo-insecure-secret-change-me"  # noqa: S105 - the demo's placeholder, refused in production
DEMO_PAYMENTS_API_KEY = "sk_test_topup_demo"
DEMO_WEBHOOK_SECRET = "whsec_topup_demo"  # noqa: S105
DEMO_CARRIER_API_KEY = "carrier_demo_key"
DEMO_SMDP_API_KEY = "smdp_demo_key"
DEMO_SMDP_CALLBACK_KEY = "smdp_callback_demo_key"
DEMO_SMSC_PASSWORD = "topup123"  # noqa: S105 - the demo SMSC simulator's, refused in production
DEMO_SMS_WEBHOOK_KEY = "sms_webhook_demo_key"
DEMO_INDEX_KEY = "demo-blind-index-key-change-me-0123456789"


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


_load_dotenv(Path.cwd() / ".env")


def _env(name: str, default: str) -> str:
    return os.environ.get(f"TOPUP_{name}", default)


def _env_int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


def _env_float(name: str, default: float) -> float:
    return float(_env(name, str(default)))


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
    sms_webhook_key: str  # what an SMS aggregator sends with inbound messages over HTTP
    smtp_host: str  # empty: no e-mail is sent (receipts go by SMS only)
    smtp_port: int
    mail_from: str
    delivery_deadline_s: int
    worker_threads: int
    job_lease_s: float
    payment_ttl_s: int
    web_workers: int
    log_format: str  # text | json
    index_key: str  # keys the blind indexes of personal data and the hashes of client addresses

    @property
    def is_production(self) -> bool:
        return self.env == "production"


def load_config() -> Config:
    host = _env("HOST", "127.0.0.1")
    port = _env_int("PORT", 8000)
    data_dir = Path(_env("DATA_DIR", str(Path.cwd() / "data"))).resolve()
    payments_port = _env_int("PAYMENTS_PORT", port + 1)
    carriers_port = _env_int("CARRIERS_PORT", port + 2)
    smdp_port = _env_int("SMDP_PORT", port + 3)
    smsc_port = _env_int("SMSC_PORT", port + 4)
    env = _env("ENV", "demo")
    config = Config(
        env=env,
        secret_key=_env("SECRET_KEY", DEMO_SECRET),
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
        smdp_url=_env("SMDP_URL", f"http://{host}:{smdp_port}").rstrip("/"),
        smdp_port=smdp_port,
        smdp_api_key=_env("SMDP_API_KEY", DEMO_SMDP_API_KEY),
        smdp_callback_key=_env("SMDP_CALLBACK_KEY", DEMO_SMDP_CALLBACK_KEY),
        smsc_host=_env("SMSC_HOST", host),
        smsc_port=smsc_port,
        smsc_http_port=_env_int("SMSC_HTTP_PORT", smsc_port + 1),
        smsc_system_id=_env("SMSC_SYSTEM_ID", "topup"),
        smsc_password=_env("SMSC_PASSWORD", DEMO_SMSC_PASSWORD),
        sms_short_code=_env("SMS_SHORT_CODE", "1919"),
        sms_webhook_key=_env("SMS_WEBHOOK_KEY", DEMO_SMS_WEBHOOK_KEY),
        smtp_host=_env("SMTP_HOST", ""),
        smtp_port=_env_int("SMTP_PORT", 25),
        mail_from=_env("MAIL_FROM", "Topup <receipts@topup.example>"),
        delivery_deadline_s=_env_int("DELIVERY_DEADLINE_S", 900),
        worker_threads=_env_int("WORKER_THREADS", 16),
        job_lease_s=_env_float("JOB_LEASE_S", 60.0),
        payment_ttl_s=_env_int("PAYMENT_TTL_S", 1800),
        web_workers=_env_int("WEB_WORKERS", 2),
        log_format=_env("LOG_FORMAT", "json" if env == "production" else "text"),
        index_key=_env("INDEX_KEY", DEMO_INDEX_KEY),
    )
    if config.is_production:
        _refuse_demo_secrets(config)
    return config


def _refuse_demo_secrets(config: Config) -> None:
    demo = {DEMO_SECRET, DEMO_PAYMENTS_API_KEY, DEMO_WEBHOOK_SECRET, DEMO_CARRIER_API_KEY, DEMO_SMDP_API_KEY}
    demo.update({DEMO_SMDP_CALLBACK_KEY, DEMO_SMSC_PASSWORD, DEMO_SMS_WEBHOOK_KEY, DEMO_INDEX_KEY})
    keys = (config.secret_key, config.payments_api_key, config.carrier_api_key, config.smdp_api_key)
    used = [
        s
        for s in (
            *keys,
            config.smdp_callback_key,
            config.smsc_password,
            config.sms_webhook_key,
            config.index_key,
        )
        if s in demo
    ]
    used += [s for s in config.webhook_secrets if s in demo]
    if used or not config.webhook_secrets:
        raise RuntimeError("TOPUP_ENV=production refuses to start with a demo or missing secret")


def database_settings(url: str) -> dict[str, object]:
    """Turn `sqlite:///path` or `postgresql://user:pw@host:port/name` into a Django DATABASES entry."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        name = unquote(parsed.path) or ":memory:"
        test_name = str(Path(name).with_name(f"test_{Path(name).name}")) if name != ":memory:" else name
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": name,
            # A file, not Django's shared in-memory test database: live server and worker threads need locks.
            "TEST": {"NAME": test_name},
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN: concurrent writers queue instead of failing later.
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            },
        }
    if parsed.scheme in {"postgres", "postgresql"}:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")) or "topup",
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "CONN_MAX_AGE": 600,
            "CONN_HEALTH_CHECKS": True,
            "TEST": {"NAME": f"test_{unquote(parsed.path.lstrip('/')) or 'topup'}"},
        }
    raise RuntimeError(f"unsupported TOPUP_DATABASE_URL scheme {parsed.scheme!r}")


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
    "django.contrib.admin",
    "topup.db",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
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
        "DIRS": [BASE_DIR / "channels" / "web" / "templates"],
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
DATABASES = {"default": database_settings(CONFIG.database_url)}
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
WHITENOISE_USE_FINDERS = True  # serve app static files (API docs assets) without a collectstatic step
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "topup.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": CONFIG.log_format}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"django.server": {"level": "WARNING"}},
}
