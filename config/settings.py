"""Settings from the environment (12-factor) with safe defaults for a laptop.

Production sets at least: STOCKPILE_DEBUG=false, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL,
CELERY_BROKER_URL. See README.md, "Configuration".
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
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
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "django_celery_beat",
    "core",
    "csp",
    "axes",
    "inventory",
    "stock",
    "transfers",
    "reports",
    "explorer",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.compression.ApiGZipMiddleware",
    "csp.middleware.CSPMiddleware",
    "core.request_guards.NulCharacterMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "core.history.HistoryDoorMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its 429 page.
    "axes.middleware.AxesMiddleware",
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
        # Persistent connections in production (a connection costs a few milliseconds
        # per request otherwise; benchmark_web); checked before reuse.
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0" if DEBUG else "60")),
        conn_health_checks=True,
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

# Cache: CACHE_URL (or REDIS_URL) selects Redis (redis://127.0.0.1:6379/1), shared by every
# web worker: API throttle counters and failed-token counts live there. Without it, each
# process counts in its own memory (a laptop, tests).
CACHE_URL = os.environ.get("CACHE_URL") or os.environ.get("REDIS_URL") or ""
if CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "stockpile"),
            "TIMEOUT": 300,
        }
    }
elif CACHE_URL:
    raise ImproperlyConfigured(
        f"CACHE_URL={CACHE_URL!r}: use a redis:// address or leave it unset."
    )
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Reverse proxies in front of the web app that append the client's address to
# X-Forwarded-For (0: none, the client is REMOTE_ADDR). Login lockouts and throttles count
# per address; a header that no trusted proxy wrote is never believed.
STOCKPILE_TRUSTED_PROXIES = int(os.environ.get("STOCKPILE_TRUSTED_PROXIES", "0"))

# Logins (django-axes, in the database: shared by every worker, SQLite and PostgreSQL):
# after AXES_FAILURE_LIMIT wrong passwords for one username, or from one address, logins
# are refused (429) for AXES_COOLOFF_TIME, the right password included.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("STOCKPILE_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("STOCKPILE_LOGIN_COOLOFF_HOURS", "0.25"))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "core.request_guards.client_ip"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_VERBOSE = False  # no "AXES: BEGIN ..." banner in every process at start-up

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
# Parallel test runs (pytest-xdist) give each test process its own queue and broker folder,
# so one process's worker never takes another's tasks.
_TEST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "broker" / _TEST_WORKER if _TEST_WORKER else VAR_DIR / "broker"
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
if _TEST_WORKER:
    CELERY_TASK_DEFAULT_QUEUE = f"{CELERY_TASK_DEFAULT_QUEUE}-{_TEST_WORKER}"
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
# A web request's enqueue (core.enqueue): connect timeout in seconds, no retries, and a
# circuit breaker that skips enqueues for a while after a failure (the sweeper covers them).
CELERY_TASK_PUBLISH_RETRY = False
STOCKPILE_ENQUEUE_TIMEOUT = float(os.environ.get("STOCKPILE_ENQUEUE_TIMEOUT", "0.5"))
STOCKPILE_ENQUEUE_BREAKER_SECONDS = float(os.environ.get("STOCKPILE_ENQUEUE_BREAKER_SECONDS", "30"))
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
CELERY_IMPORTS = ("reports.tasks",)
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
# The public explorer is on: the explorer and the API schema and its docs pages are open to
# anyone (else they need a login or a token).
STOCKPILE_PUBLIC = env_bool("STOCKPILE_PUBLIC", False)
# The explorer (/explore/, docs/explorer.md): anonymous readers' rate per address when public,
# and how long a built page stays in the cache (a refresh of the estimates invalidates it).
STOCKPILE_EXPLORER_THROTTLE = os.environ.get("STOCKPILE_EXPLORER_THROTTLE", "120/minute")
STOCKPILE_EXPLORER_CACHE_SECONDS = int(os.environ.get("STOCKPILE_EXPLORER_CACHE_SECONDS", "300"))
STOCKPILE_API_REQUIRE_IF_MATCH = env_bool("STOCKPILE_API_REQUIRE_IF_MATCH", True)
STOCKPILE_API_PAGE_SIZE = int(os.environ.get("STOCKPILE_API_PAGE_SIZE", "50"))
STOCKPILE_API_MAX_PAGE_SIZE = int(os.environ.get("STOCKPILE_API_MAX_PAGE_SIZE", "500"))
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("STOCKPILE_MAX_BODY_BYTES", str(2_621_440)))
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.StockpileAutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.api.authentication.CountedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.api.permissions.RolePermissions"],
    "DEFAULT_FILTER_BACKENDS": [
        "core.api.filters.FilterBackend",
        "rest_framework.filters.SearchFilter",
        "core.api.filters.StrictOrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.StockpilePagination",
    "DEFAULT_RENDERER_CLASSES": [
        "core.api.renderers.FastJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
        "core.api.renderers.CSVRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.LimitedJSONParser"],
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
        "core.api.throttles.WriteRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("STOCKPILE_API_THROTTLE_ANON", "60/minute"),
        "user": os.environ.get("STOCKPILE_API_THROTTLE_USER", "1200/minute"),
        "write": os.environ.get("STOCKPILE_API_THROTTLE_WRITE", "300/minute"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "NUM_PROXIES": STOCKPILE_TRUSTED_PROXIES,
}
# Wrong API tokens from one address: after this many in the window (seconds), every token
# request from it is refused with 429 until the window has passed (core.api.authentication).
STOCKPILE_API_TOKEN_FAILURE_LIMIT = int(os.environ.get("STOCKPILE_API_TOKEN_FAILURE_LIMIT", "20"))
STOCKPILE_API_TOKEN_FAILURE_WINDOW = int(
    os.environ.get("STOCKPILE_API_TOKEN_FAILURE_WINDOW", "600")
)
# API tokens (django-rest-knox, core.api.tokens): stored as SHA-512 digests, shown in full
# once when created, then only by their prefix; every token expires (default 90 days, at
# most STOCKPILE_API_TOKEN_MAX_DAYS).
STOCKPILE_API_TOKEN_DAYS = int(os.environ.get("STOCKPILE_API_TOKEN_DAYS", "90"))
STOCKPILE_API_TOKEN_MAX_DAYS = int(os.environ.get("STOCKPILE_API_TOKEN_MAX_DAYS", "365"))
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=STOCKPILE_API_TOKEN_DAYS),
    "TOKEN_PREFIX": "stk_",  # recognisable by secret scanners
    "AUTO_REFRESH": False,  # a token's end is fixed when it is made
    "AUTH_HEADER_PREFIX": "Token",
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
    "ENUM_NAME_OVERRIDES": {
        "DatePrecisionEnum": "core.choices.DatePrecision",
        # several choice sets are a field named "kind": each gets its own name
        "PartyKindEnum": "inventory.choices.PartyKind",
        "AliasKindEnum": "inventory.choices.AliasKind",
        "HoldingKindEnum": "transfers.choices.HoldingKind",
        "ExpenditureKindEnum": "transfers.choices.ExpenditureKind",
        "AuthorizationKindEnum": "transfers.choices.AuthorizationKind",
        "PolicyKindEnum": "transfers.choices.PolicyKind",
        "SystemFactKindEnum": "transfers.choices.SystemFactKind",
        "MovementKindEnum": "stock.choices.MovementKind",
    },
}

# Content-Security-Policy on every page (admin, API pages, the API docs, the report pages):
# scripts only from this site or with the page's nonce (`{{ request.csp_nonce }}`), so
# that text from data can never run as script. Inline style attributes stay allowed (the
# admin uses them; a style cannot run code). docs/security.md.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "worker-src": [SELF, "blob:"],  # ReDoc's search runs in a worker
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
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
