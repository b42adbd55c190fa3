"""Settings from the environment (12-factor) with safe defaults for a laptop.

Production sets at least: STOCKPILE_DEBUG=false, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL,
CELERY_BROKER_URL. See README.md, "Configuration".
"""

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("STOCKPILE_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true or false).")


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("STOCKPILE_DEBUG", True)
_DEV_SECRET = "dev-only-insecure-secret-key-change-me-in-production-0123456789"
SECRET_KEY = os.environ.get("SECRET_KEY", _DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when STOCKPILE_DEBUG is false.")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "django_celery_beat",
    "inventory",
    "transfers",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "inventory.history.HistoryDoorMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: DATABASE_URL (postgres://user@host:5432/name) selects PostgreSQL; without it,
# SQLite in the project's var/ folder.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'stockpile.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    # Tests use a file too (not shared-cache memory), so that a worker thread and concurrent
    # refreshes wait for each other's locks as they do in production instead of failing.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-stockpile.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Celery: CELERY_BROKER_URL selects Redis (redis://127.0.0.1:6379/0) or RabbitMQ
# (amqp://guest:guest@127.0.0.1:5672//). Without it, kombu's filesystem transport under var/
# so that a real worker and beat run with no server installed.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://localhost//")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "queue"),
        "data_folder_out": str(_queue_dir / "queue"),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),  # broadcast (pidbox), not in the cwd
        "store_processed": False,
    }
    for _sub in ("queue", "processed", "control"):
        (_queue_dir / _sub).mkdir(parents=True, exist_ok=True)
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "stockpile")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# Periodic tasks. django-celery-beat copies these into its tables on start, where the admin
# shows them and an administrator can change their schedule. One key per task.
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    # Refresh estimates whose own refresh was missed (broker down at commit, worker killed).
    "estimates-sweep": {"task": "inventory.estimates_sweep", "schedule": 60.0},
    # Re-post the ledger from the records and recompute every estimate and the series.
    "estimates-rebuild": {
        "task": "inventory.estimates_rebuild",
        "schedule": crontab(hour=3, minute=17),
    },
    # Report emails: enqueue the report of every subscription with a period that has ended
    # (hourly, so a missed run is repaired an hour later; each period is sent once).
    "reports-dispatch": {"task": "transfers.reports_dispatch", "schedule": crontab(minute=7)},
}
# Task modules outside `<app>.tasks` that the worker loads.
CELERY_IMPORTS = ("transfers.reports.tasks",)
# Refresh estimates in the writer's process after commit instead of through the broker
# (for scripts and tests that run without a worker). Off by default.
STOCKPILE_ESTIMATES_SYNC = env_bool("STOCKPILE_ESTIMATES_SYNC", False)

# Email: console backend on a laptop; SMTP when EMAIL_HOST is set.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Stockpile <stockpile@localhost>")
# Links in emails: SITE_URL, else the address bin/run serves on (STOCKPILE_HOST and PORT).
SITE_URL = os.environ.get("SITE_URL") or (
    f"http://{os.environ.get('STOCKPILE_HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
)
# Report emails (docs/reports.md): SMTP retries of one report (delay doubles from the
# backoff, in seconds, up to the max), periods sent when a subscriber is behind, and how long
# a confirmation link stays valid (seconds).
STOCKPILE_REPORTS_RETRY_MAX = int(os.environ.get("STOCKPILE_REPORTS_RETRY_MAX", "5"))
STOCKPILE_REPORTS_RETRY_BACKOFF = float(os.environ.get("STOCKPILE_REPORTS_RETRY_BACKOFF", "60"))
STOCKPILE_REPORTS_RETRY_BACKOFF_MAX = float(
    os.environ.get("STOCKPILE_REPORTS_RETRY_BACKOFF_MAX", "3600")
)
STOCKPILE_REPORTS_CATCH_UP = int(os.environ.get("STOCKPILE_REPORTS_CATCH_UP", "3"))
STOCKPILE_REPORTS_CONFIRM_MAX_AGE = int(
    os.environ.get("STOCKPILE_REPORTS_CONFIRM_MAX_AGE", str(7 * 86400))
)

# REST API v1 (docs/api.md). Anonymous reads are off unless STOCKPILE_API_ANONYMOUS_READ;
# throttle rates per user (DRF's "N/second|minute|hour|day"), counted in the default cache.
STOCKPILE_API_ANONYMOUS_READ = env_bool("STOCKPILE_API_ANONYMOUS_READ", False)
STOCKPILE_API_REQUIRE_IF_MATCH = env_bool("STOCKPILE_API_REQUIRE_IF_MATCH", False)
STOCKPILE_API_PAGE_SIZE = int(os.environ.get("STOCKPILE_API_PAGE_SIZE", "50"))
STOCKPILE_API_MAX_PAGE_SIZE = int(os.environ.get("STOCKPILE_API_MAX_PAGE_SIZE", "500"))
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("STOCKPILE_MAX_BODY_BYTES", str(2_621_440)))
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "inventory.api.schema.StockpileAutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["inventory.api.permissions.RolePermissions"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "inventory.api.filters.StrictOrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "inventory.api.pagination.StockpilePagination",
    "DEFAULT_RENDERER_CLASSES": [
        "inventory.api.renderers.FastJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
        "inventory.api.renderers.CSVRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["inventory.api.parsers.LimitedJSONParser"],
    "EXCEPTION_HANDLER": "inventory.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
        "inventory.api.throttles.WriteRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("STOCKPILE_API_THROTTLE_ANON", "60/minute"),
        "user": os.environ.get("STOCKPILE_API_THROTTLE_USER", "1200/minute"),
        "write": os.environ.get("STOCKPILE_API_THROTTLE_WRITE", "300/minute"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Stockpile API",
    "DESCRIPTION": "Weapon systems held, pledged and transferred, with their sources. "
    "See docs/api.md: token auth, filters, pagination, CSV, ETags and errors.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name for the date precisions (records' date_precision, sources' published_precision).
    "ENUM_NAME_OVERRIDES": {"DatePrecisionEnum": "inventory.choices.DatePrecision"},
}

if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Joining the browsers' preload list is a deliberate, hard-to-undo choice for the
        # operator of a domain, so it is opt-in rather than a deploy-check failure.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
