"""One settings module for every environment, driven by environment variables.

Development defaults are safe and need nothing set. `ECF_ENV=production` turns DEBUG off,
requires a real SECRET_KEY and switches on the HTTPS protections.
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from ecf.env import email_settings, env_bool, env_choice, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

ECF_ENV = env_choice("ECF_ENV", "development", ("development", "test", "production"))
PRODUCTION = ECF_ENV == "production"

DEBUG = env_bool("DEBUG", not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off when ECF_ENV=production")

_DEV_SECRET = "dev-only-insecure-secret-key-change-me-in-production-0123456789"
SECRET_KEY = env_str("SECRET_KEY", "" if PRODUCTION else _DEV_SECRET)
if PRODUCTION and (not SECRET_KEY or SECRET_KEY == _DEV_SECRET or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured("SECRET_KEY must be set to a random value of at least 50 characters in production")

# A sandbox deployment lets providers move the clock with the X-With-Server-Date header.
SANDBOX = env_bool("SANDBOX", not PRODUCTION)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["*"])

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
    "participants",
    "statements",
    "declarations",
    "visibility",
    "notifications",
    "api",
    "sandbox",
]

MIDDLEWARE = [
    "api.request_log.RequestLogMiddleware",  # outermost: every response, even a redirect or a 429, gets its id
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "api.ratelimit.RateLimitMiddleware",  # before sessions, auth and DRF: an over-limit request costs one query
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "api.json_suffix.JsonSuffixMiddleware",  # `.json` on an API path changes nothing (api.md §1)
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "ecf.clock.ServerDateMiddleware",
    "api.versioning.VersionPolicyMiddleware",
]

# The one registry of API versions (api/versioning.py): current, supported, deprecated (with a
# sunset date, optionally deprecated_on) or retired. Changing a status here is all a retirement takes.
API_VERSIONS = {
    "v1": {"status": "supported", "extended_support": True},
    "v2": {"status": "supported"},
    "v3": {"status": "current"},
}

ROOT_URLCONF = "ecf.urls"

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

WSGI_APPLICATION = "ecf.wsgi.application"

# SQLite is the embedded default for a quick local run; PostgreSQL in production and tests.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
# Seconds a worker keeps its connection between requests (0: a new connection per request).
DB_CONN_MAX_AGE = env_int("DB_CONN_MAX_AGE", 60 if PRODUCTION else 0, minimum=0)
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=DB_CONN_MAX_AGE)}
except Exception as exc:  # dj_database_url raises several types for a malformed URL
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
# Persistent connections are checked before reuse, so a database restart needs no application restart.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # PostgreSQL's JIT compiles any plan whose cost estimate is high, and a list query over a large
    # provider is: measured at 1.3 s of compilation for a 0.5 s query (docs/benchmarks.md). Our queries
    # are short, so JIT never pays for itself; it is switched off for our connections only.
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = " ".join(filter(None, [_options.get("options", ""), "-c jit=off"]))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"  # decisions §8: "today" is the UTC date everywhere
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# whitenoise serves the admin's and Swagger UI's files from the application itself. In production they
# come from `collectstatic` with hashed, pre-compressed names (cached forever); elsewhere they are found
# in the apps on each request, so nothing needs collecting first.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION

# api.md §3: requests per fixed window (aligned to the epoch) per Authorization header, on /api/.
# Off by default under ECF_ENV=test only so that the suite's query-count assertions count the
# endpoint's own queries; tests/test_rate_limit.py switches it on.
API_RATE_LIMIT_ENABLED = env_bool("API_RATE_LIMIT_ENABLED", ECF_ENV != "test")
API_RATE_LIMIT = env_int("API_RATE_LIMIT", 1000, minimum=1)
API_RATE_LIMIT_WINDOW_SECONDS = env_int("API_RATE_LIMIT_WINDOW_SECONDS", 300, minimum=1)

# `make bench` only (scripts/bench, issue 9): the floor views under /_bench/ and per-request query
# counts written to BENCHMARK_QUERY_LOG. Never on in a real deployment.
BENCHMARK_FLOOR = env_bool("BENCHMARK_FLOOR", False)
BENCHMARK_QUERY_LOG = env_str("BENCHMARK_QUERY_LOG", str(BASE_DIR / "bench-queries.jsonl"))
if BENCHMARK_FLOOR:
    MIDDLEWARE.insert(0, "benchmark.query_count.QueryCountMiddleware")

# Email (the outbox in notifications/ is delivered by `manage.py send_emails`): EMAIL_URL chooses the
# server; without it development prints messages to the console and tests keep them in memory.
EMAIL_URL = env_str("EMAIL_URL", "")
globals().update(
    email_settings(
        "EMAIL_URL",
        "django.core.mail.backends.locmem.EmailBackend"
        if ECF_ENV == "test"
        else "django.core.mail.backends.console.EmailBackend",
    )
)
DEFAULT_FROM_EMAIL = env_str("EMAIL_FROM", "Early career teacher training <no-reply@ecf-lead-provider-api.invalid>")

LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.LeadProviderTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.authentication.IsLeadProvider"],
    "DEFAULT_RENDERER_CLASSES": ["api.renderers.JsonApiRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.JsonApiParser",
        "api.parsers.VndApiJsonParser",
        "api.parsers.TextJsonParser",
    ],
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_METADATA_CLASS": "api.renderers.AllowedMethodsOnly",
    # The contract ignores Accept: the path alone chooses JSON or CSV (api.md §1).
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "api.negotiation.IgnoreAcceptNegotiation",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.NamespaceVersioning",
    "ALLOWED_VERSIONS": ["v1", "v2", "v3"],
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Lead provider API (ECF)",
    "DESCRIPTION": "The API lead providers use to read participants and submit declarations.",
    "SERVE_INCLUDE_SCHEMA": False,
    "VERSION": None,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,
    # Swagger UI served from our own static files: no CDN needed.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SECURITY": [{"bearerAuth": []}],
    "APPEND_COMPONENTS": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    "AUTHENTICATION_WHITELIST": [],
    "POSTPROCESSING_HOOKS": [
        "api.schema.document_both_json_media_types",
        "api.versioning.describe_version",
    ],
}

if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Load balancers probe over plain HTTP inside the network; a redirect would read as "down".
    SECURE_REDIRECT_EXEMPT = [r"^healthcheck$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # The back office: cookies out of scripts' reach, and a session lasts a working day.
    SESSION_COOKIE_HTTPONLY = True
    CSRF_COOKIE_HTTPONLY = True
    SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 60 * 60, minimum=60)

# No page of ours is meant to be framed (clickjacking on the admin).
X_FRAME_OPTIONS = "DENY"

if ECF_ENV == "test":
    # Hashing passwords slowly protects nothing in a throwaway test database.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
