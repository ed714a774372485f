"""One settings module for every environment, driven by environment variables.

Development defaults are safe and need nothing set. `ECF_ENV=production` turns DEBUG off,
requires a real SECRET_KEY and switches on the HTTPS protections.
"""

import ipaddress
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from ecf.env import email_settings, env_bool, env_choice, env_int, env_list, env_str
from ecf.json_logs import logging_config

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
    "jobs",
]

MIDDLEWARE = [
    "api.request_log.RequestLogMiddleware",  # outermost: every response, even a redirect or a 429, gets its id
    "ecf.observability.ObservabilityMiddleware",  # metrics and the JSON line of every request, 429s included
    "api.body_limit.BodyLimitMiddleware",  # a body over the limit is refused before anything reads it
    "api.ratelimit.ClientRateLimitMiddleware",  # per client address, every path, before any other work
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "api.ratelimit.RateLimitMiddleware",  # before sessions, auth and DRF: an over-limit request costs one query
    "ecf.after_response.AfterResponseMiddleware",  # work a service defers until the answer has been sent
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "api.json_suffix.JsonSuffixMiddleware",  # `.json` on an API path changes nothing (api.md §1)
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # After the rate limit (a replay counts) and before the sandbox clock (keys expire in real time).
    "api.idempotency.IdempotencyMiddleware",
    "ecf.content_security_policy.ContentSecurityPolicyMiddleware",  # admin and docs pages
    "ecf.clock.ServerDateMiddleware",
    "api.flavours.FlavourMiddleware",  # after the clock (token use is stamped with it), before URL resolution
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
    # Django turns psycopg's prepared statements off (prepare_threshold None), and psycopg then ignores
    # even an explicit `prepare=True`: ecf.compiled_query's lookups of a declaration POST, which cost
    # PostgreSQL more to plan than to run, were planned on every run (issue 19). A threshold no query
    # reaches prepares exactly those that ask; Django's own cursors bind on the client and never prepare.
    _options.setdefault("prepare_threshold", 2**31)
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

# Per client address on every path (the rewrite's catch-all, issue 12.1), counted in a table of fixed
# size (api.throttle). Off under ECF_ENV=test for the same reason as the per-token limit.
CLIENT_RATE_LIMIT_ENABLED = env_bool("CLIENT_RATE_LIMIT_ENABLED", ECF_ENV != "test")
CLIENT_RATE_LIMIT = env_int("CLIENT_RATE_LIMIT", 1500, minimum=1)
CLIENT_RATE_LIMIT_WINDOW_SECONDS = env_int("CLIENT_RATE_LIMIT_WINDOW_SECONDS", 300, minimum=1)
# X-Forwarded-For is believed only from these peers (addresses or networks; `unix`: a Unix-socket peer,
# as nginx is in front of gunicorn under `make serve`). Never trust it from anyone else (api.client_address).
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])
for _proxy in TRUSTED_PROXIES:
    try:
        _proxy == "unix" or ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        _message = f"TRUSTED_PROXIES must list IP addresses, networks or 'unix', got {_proxy!r}"
        raise ImproperlyConfigured(_message) from None
# Slots per scope of api.throttle's fixed-size counter table (its row count can never exceed 4 × this).
THROTTLE_SLOTS = env_int("THROTTLE_SLOTS", 65536, minimum=1)

# Request bodies over this are refused with 413 before they are read (api.body_limit); nginx applies
# the same limit at the edge. The largest legitimate request is a few KB.
MAX_REQUEST_BODY_BYTES = env_int("MAX_REQUEST_BODY_BYTES", 64 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES

# The error log (api.request_log): authenticated requests only, at most this many entries per provider
# per rate-limit window, bodies cut to this many bytes.
REQUEST_LOG_PER_PROVIDER = env_int("REQUEST_LOG_PER_PROVIDER", 100, minimum=0)
REQUEST_LOG_BODY_BYTES = env_int("REQUEST_LOG_BODY_BYTES", 16 * 1024, minimum=0)

# Back-office logins (ecf.login_throttle): this many failures per user name, or per client address,
# within one fixed window lock further attempts until the window ends.
LOGIN_FAILURES_PER_ACCOUNT = env_int("LOGIN_FAILURES_PER_ACCOUNT", 5, minimum=1)
LOGIN_FAILURES_PER_ADDRESS = env_int("LOGIN_FAILURES_PER_ADDRESS", 20, minimum=1)
LOGIN_THROTTLE_WINDOW_SECONDS = env_int("LOGIN_THROTTLE_WINDOW_SECONDS", 15 * 60, minimum=1)

# Sent on the admin and the API docs pages (ecf.content_security_policy).
from ecf.content_security_policy import POLICY as _DEFAULT_CSP  # noqa: E402

CONTENT_SECURITY_POLICY = env_str("CONTENT_SECURITY_POLICY", _DEFAULT_CSP)

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
# json: one JSON object per line (ecf/json_logs.py), what `make serve` and production write; text for `make run`.
LOG_FORMAT = env_choice("LOG_FORMAT", "json" if PRODUCTION else "text", ("json", "text"))
LOGGING = logging_config(format=LOG_FORMAT, level=LOG_LEVEL)
LOGGING_CONFIG = "ecf.json_logs.configure"

# GET /metrics (ecf/metrics.py) answers only `Authorization: Bearer <METRICS_TOKEN>`; unset, it is a 404.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
if METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 32 characters (or unset to switch /metrics off)")

# Every error item the API sends carries a registered code (api/error_codes.py). Outside production an
# error without one is refused loudly, so a test that produces it fails; production sends a fallback code.
ERROR_CODES_STRICT = env_bool("ERROR_CODES_STRICT", not PRODUCTION)

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
    # "v3-rect": the rewrite's v3 contract, served at /api/v3/ to rewrite-flavoured providers (api/rect/).
    "ALLOWED_VERSIONS": ["v1", "v2", "v3", "v3-rect"],
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
        "api.idempotency.document_idempotency_key",
        "api.conditional.document_conditional_get",
    ],
}

if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Load balancers probe over plain HTTP inside the network; a redirect would read as "down".
    # The same for the Prometheus scraper on /metrics (token-protected, never routed from outside:
    # docs/deployment.md).
    SECURE_REDIRECT_EXEMPT = [r"^healthcheck$", r"^metrics$"]
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
