"""Settings, read only from the environment, with safe development defaults.

Production mode (DEBUG off) refuses to start on the development secret key.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


DEV_SECRET_KEY = "dev-insecure-omnichannel-key-change-me"  # noqa: S105 - the refusal below guards it
DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is the development key while DEBUG is off: set SECRET_KEY in the environment."
    )
if not DEBUG and len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters in production.")

ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "omnichannel.apps.KernelConfig",
    "inventory",
    "transport",
    "warehouse",
    "orders",
    "channels_sync",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "omnichannel.middleware.NulCharacters",
    "omnichannel.middleware.ApiOptionalSlash",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "omnichannel.urls"
WSGI_APPLICATION = "omnichannel.wsgi.application"
ASGI_APPLICATION = "omnichannel.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "omnichannel" / "templates"],
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

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
    )
}
_db_options = DATABASES["default"].setdefault("OPTIONS", {})
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Server-side binding with prepared statements: psycopg 3 prepares a statement the second
    # time a connection runs it, so Postgres skips parse and plan (+16 % hot-SKU reservations,
    # docs/benchmarks.md). Turn off with `?server_side_binding=false` (e.g. behind a pooler
    # that cannot keep prepared statements).
    _db_options.setdefault("server_side_binding", True)
    _db_options.setdefault("prepare_threshold", 2)
# Query-string options arrive as text: `?server_side_binding=false&prepare_threshold=none`.
if "server_side_binding" in _db_options:
    _db_options["server_side_binding"] = str(_db_options["server_side_binding"]).lower() in ("1", "true", "yes", "on")
if "prepare_threshold" in _db_options:
    _threshold = str(_db_options["prepare_threshold"]).lower()
    _db_options["prepare_threshold"] = None if _threshold in ("", "none", "off") else int(_threshold)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # SQLite has one writer; wait for it instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"]["timeout"] = 20
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
FORMS_URLFIELD_ASSUME_HTTPS = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Amsterdam")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))

# --- Email: console in development ---------------------------------------
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "orders@omnichannel.local")
if os.environ.get("EMAIL_FILE_PATH"):
    EMAIL_FILE_PATH = os.environ["EMAIL_FILE_PATH"]

# --- Celery --------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
# No broker configured -> tasks run in-process (the embedded default for a laptop).
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 4
# Celery's Django fixup closes the database connection before and after every task unless
# told to reuse it: a new Postgres backend per task, and prepared statements never reused.
# Reuse it as the web does; omnichannel/celery.py still closes it when Django would
# (CONN_MAX_AGE passed, or an error left it unusable).
CELERY_DB_REUSE_MAX = int(os.environ.get("CELERY_DB_REUSE_MAX", "1000"))
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "orders.tasks.order_route_task": {"queue": "routing"},
    "orders.tasks.*notif*": {"queue": "notifications"},
    "channels_sync.tasks.*": {"queue": "channels"},
}
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "omnichannel.tasks.outbox_sweep", "schedule": 60.0},
    "webhook-sweep": {"task": "channels_sync.tasks.webhook_sweep", "schedule": 120.0},
    "inventory-release-expired-holds": {"task": "inventory.tasks.release_expired_holds", "schedule": 30.0},
    "reroute-unaccepted": {"task": "orders.tasks.reroute_unaccepted_fulfillments", "schedule": 60.0},
    "reroute-backordered": {"task": "orders.tasks.reroute_backordered", "schedule": 120.0},
    "warehouse-cancel-uncollected-pickups": {"task": "warehouse.tasks.cancel_uncollected_pickups", "schedule": 3600.0},
    "idempotency-purge": {"task": "omnichannel.tasks.idempotency_purge", "schedule": 3600.0},
}
CELERY_TIMEZONE = TIME_ZONE

# --- DRF -----------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "channels_sync.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "omnichannel.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "omnichannel.api.exception_handler",
    "UNAUTHENTICATED_USER": None,
    # JSON, or a form for flat inputs; views whose input nests take JSON only (`JSON_ONLY`), the
    # CSV import names its own parsers. omnichannel/parsers.py.
    "DEFAULT_PARSER_CLASSES": ["omnichannel.parsers.JSONParser", "rest_framework.parsers.FormParser",
                               "rest_framework.parsers.MultiPartParser"],
    # Reads every unsafe request's body before the view: one that cannot be read is a 400/415.
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "omnichannel.parsers.BodyCheckingNegotiation",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Omnichannel API",
    "DESCRIPTION": "Orders, inventory, fulfilment and transport for every sales channel.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One clear name per choice set (drf-spectacular would otherwise invent StatusDe3Enum and the like).
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.Order.Status",
        "FulfillmentStatusEnum": "orders.models.Fulfillment.Status",
        "DeliveryMethodEnum": "orders.models.DeliveryMethod",
        "ShipmentStatusEnum": "transport.models.Shipment.Status",
        "DeliveryOptionKindEnum": ["ship", "same_day", "pickup"],
        "StockStateEnum": ["available", "quality_control", "damaged"],
    },
    # The error shape and statuses on every operation (omnichannel/schema.py), after the enums.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "omnichannel.schema.add_error_responses",
    ],
}

# --- Domain settings -----------------------------------------------------
OMNICHANNEL = {
    "DEFAULT_PHONE_REGION": os.environ.get("DEFAULT_PHONE_REGION", "NL"),
    "WEBHOOK_TIMEOUT_S": float(os.environ.get("WEBHOOK_TIMEOUT_S", "5")),
    "WEBHOOK_MAX_RETRIES": int(os.environ.get("WEBHOOK_MAX_RETRIES", "6")),
    "PICKUP_CODE_MAX_ATTEMPTS": 5,
    "ACCEPT_TIMEOUT_MINUTES": int(os.environ.get("ACCEPT_TIMEOUT_MINUTES", "60")),
    # How long the outbox pump waits after a batch that was not full before it claims the next
    # (omnichannel/outbox.py); 0: no wait.
    "OUTBOX_PUMP_LINGER_MS": float(os.environ.get("OUTBOX_PUMP_LINGER_MS", "25")),
    # How long an Idempotency-Key's answer is replayed (omnichannel/idempotency.py); 0: forever.
    "IDEMPOTENCY_KEY_TTL_HOURS": float(os.environ.get("IDEMPOTENCY_KEY_TTL_HOURS", "72")),
    # How far ahead a draining pump promises to look again; until then commits skip waking it.
    "OUTBOX_PUMP_AWAKE_MS": float(os.environ.get("OUTBOX_PUMP_AWAKE_MS", "250")),
}

if not DEBUG:
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    # HTTPS. TLS usually ends at a proxy or load balancer in front of gunicorn: trust its
    # X-Forwarded-Proto only when told to, since a client could send that header itself.
    if env_bool("SECURE_PROXY_SSL_HEADER", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]  # container health checks call it over plain HTTP
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
