"""Sales Department settings: one file, every environment differs only by env vars.

Defaults give the embedded setup (SQLite and a filesystem Celery broker under var/).
DATABASE_URL, CELERY_BROKER_URL and REDIS_URL switch to PostgreSQL and Redis.
Every variable is listed in .env.example.
"""

import datetime
import ipaddress
import json
import os
import zoneinfo
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

from salesdept.logcontext import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
# Runtime files (SQLite, broker folders, caches); a relative path is taken from the project root.
VAR_DIR = BASE_DIR / os.environ.get("VAR_DIR", "var")


def _load_dotenv(path: Path) -> None:
    """Read KEY=VALUE lines from .env; real environment variables win."""
    if not path.is_file():
        return
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        os.environ.setdefault(key.strip(), value.strip().strip("'\""))


_load_dotenv(BASE_DIR / os.environ.get("ENV_FILE", ".env"))


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def database_from_url(url: str) -> dict:
    """postgres://user:pass@host:port/name or sqlite:///absolute/path.sqlite3."""
    parts = urlsplit(url)
    options = dict(parse_qsl(parts.query))
    if parts.scheme in ("postgres", "postgresql"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 60),
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": prepared_statements() | options,
        }
    if parts.scheme == "sqlite":
        return sqlite_database(Path(unquote(parts.path)))
    raise ImproperlyConfigured(f"DATABASE_URL must start with postgres:// or sqlite:///, not {parts.scheme!r}://")


def prepared_statements() -> dict:
    """A connection plans each statement it repeats once, and reuses the plan (psycopg's prepared
    statements, from a statement's 5th run; they need server-side parameter binding).

    A send's 22 statements were planned more than they ran: its database time fell from 5.9 to 3.2 ms
    on the send benchmark. Django leaves them off for connection poolers: behind PgBouncer in
    transaction mode older than 1.21 (or without max_prepared_statements), set DB_PREPARED_STATEMENTS=false.
    """
    if not env_bool("DB_PREPARED_STATEMENTS", True):
        return {}
    return {"server_side_binding": True, "prepare_threshold": 5}


def sqlite_database(path: Path) -> dict:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        # The web server, the worker and beat share the file: WAL lets readers run
        # beside one writer, IMMEDIATE takes the write lock up front (no upgrade deadlocks).
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
# Comma-separated Fernet keys, newest first: prepend a new key to rotate.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS")

if not DEBUG:
    _missing = [
        name
        for name, value in (("SECRET_KEY", SECRET_KEY), ("FIELD_ENCRYPTION_KEYS", FIELD_ENCRYPTION_KEYS))
        if not value
    ]
    if _missing:
        raise ImproperlyConfigured(
            f"{' and '.join(_missing)} must be set when DEBUG is off. "
            'Generate values with `python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"` and see .env.example.'
        )
elif not SECRET_KEY:
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105 (DEBUG only)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "csp",
    "django_htmx",
    "template_partials",
    "django_celery_beat",
    "salesdept",
    "leads",
    "campaigns",
    "outreach",
    "approvals",
    "reporting",
    "library",
    "presence",
    "hooks",
    "competitors",
    "deals",
    "crm",
    "proposals",
]

MIDDLEWARE = [
    "salesdept.middleware.RequestMetricsMiddleware",  # first: it times everything below it
    "salesdept.middleware.RequestContextMiddleware",  # the request id every log line below carries
    "django.middleware.security.SecurityMiddleware",
    "salesdept.middleware.RefuseNulMiddleware",
    # Serves collected static files (STATIC_ROOT) in production, compressed; no separate web server needed.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "salesdept.middleware.RequestSizeMiddleware",  # before anything reads a body (CSRF does)
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
]

ROOT_URLCONF = "salesdept.urls"
WSGI_APPLICATION = "salesdept.wsgi.application"

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
                "salesdept.context_processors.navigation",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL")
DATABASES = {"default": database_from_url(DATABASE_URL) if DATABASE_URL else sqlite_database(VAR_DIR / "db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    # Login rate limits must be shared by every process: a file cache is, LocMem is not.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": VAR_DIR / "cache",
        }
    }

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_ADAPTER = "salesdept.auth.ClosedSignupAdapter"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = None

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves STATIC_ROOT (filled by `collectstatic`, done when the Docker image is built)
# with gzip copies. Names are not hashed, so pages and tests never need a manifest.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Sales Department <sales@localhost>")
# The daily report goes to each manager at their own time (reporting.ReportRecipient); these are
# the time and timezone of a manager without one. A hung SMTP server must not hold the tick.
REPORT_DEFAULT_TIMEZONE = env_str("REPORT_DEFAULT_TIMEZONE", TIME_ZONE)
REPORT_DEFAULT_TIME = env_str("REPORT_DEFAULT_TIME", "09:15")
REPORT_EMAIL_TIMEOUT_SECONDS = env_float("REPORT_EMAIL_TIMEOUT_SECONDS", 30.0)
try:
    zoneinfo.ZoneInfo(REPORT_DEFAULT_TIMEZONE)
    datetime.time.fromisoformat(REPORT_DEFAULT_TIME)
except (ValueError, zoneinfo.ZoneInfoNotFoundError) as exc:
    raise ImproperlyConfigured(
        f'REPORT_DEFAULT_TIMEZONE must name a timezone ("Europe/Paris") and REPORT_DEFAULT_TIME be HH:MM: {exc}'
    ) from None

# Security (practices.md §3). Production (DEBUG off) is HTTPS-only by default; DEBUG keeps `make run`
# working over plain http. `manage.py check --deploy` is clean with production env vars
# (tests/security/test_deploy_settings.py).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Behind a TLS-terminating proxy that sets it (and strips it from clients), e.g.
# SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto: Django then knows a request came over https.
_proxy_ssl_header = env_str("SECURE_PROXY_SSL_HEADER")
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
# Preloading binds the whole registrable domain to HTTPS in browsers for months, beyond this app:
# the owner opts in (SECURE_HSTS_PRELOAD=true); until then Django's reminder (W021) is silenced.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
# The CSRF cookie stays readable (Django's default): htmx takes the token from the page
# (hx-headers in base.html), but Django's own admin scripts read the cookie.
CSRF_COOKIE_HTTPONLY = False

# Content Security Policy (django-csp): no inline scripts or styles, nothing from elsewhere. htmx
# injects no indicator <style> (htmx-config meta in base.html; .htmx-indicator is in app.css) and
# Chart.js sizes its canvas through the CSSOM, which style-src does not govern. The archived report
# email, which needs its inline styles, is served from its own URL with its own policy
# (reporting/report_views.report_email).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

# Login rate limits (allauth 65.x; allauth/account/app_settings.py RATE_LIMITS). They are counted in
# the default cache, which every process shares: Redis with REDIS_URL, else the file cache above.
# A failed sign-in counts against the address (5 per 5 minutes) and the client IP (10 a minute);
# once over, even the right password is refused until the window passes.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/300s/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
}
# Behind a proxy every request comes from the proxy's address: name how many proxies you run
# (X-Forwarded-For) or the header your proxy puts the client's IP in (X-Real-IP), or every
# visitor shares one per-IP limit.
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
ALLAUTH_TRUSTED_CLIENT_IP_HEADER = env_str("TRUSTED_CLIENT_IP_HEADER") or None

# Celery. Future work lives in the database; the broker carries only "do this now".
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://localhost/")
CELERY_BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "polling_interval": 0.25,  # kombu's 1 s default makes each pipeline hop wait a second
    }
elif CELERY_BROKER_URL.startswith("redis"):
    # Longer than the longest task and any countdown, or Redis redelivers the message.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ACKS_LATE = True  # ack after return: every task is idempotent
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_REJECT_ON_WORKER_LOST = False  # True re-queues a killed send: never resend blindly
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_IGNORE_RESULT = True  # state lives in our models
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = 30.0
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = False

# Beat writes a heartbeat through a worker every minute; /healthz fails after this many seconds.
HEARTBEAT_MAX_AGE_SECONDS = env_int("HEARTBEAT_MAX_AGE_SECONDS", 180)

# Seconds an approved message waits before a send may claim it: the rep's window to undo.
APPROVAL_HOLD_SECONDS = env_int("APPROVAL_HOLD_SECONDS", 30)

# Sending and replies (providers.md §2.2).
# No second touch to one person within this many days, whatever the campaign, rep or channel
# (answers to their replies excepted), and at most CONTACT_MAX_TOUCHES in CONTACT_WINDOW_DAYS.
CONTACT_MIN_GAP_DAYS = env_int("CONTACT_MIN_GAP_DAYS", 2)
CONTACT_WINDOW_DAYS = env_int("CONTACT_WINDOW_DAYS", 30)
CONTACT_MAX_TOUCHES = env_int("CONTACT_MAX_TOUCHES", 4)
# Posts on LinkedIn (presence): suggestions each week on this weekday (0 = Monday) at this UTC hour, this many
# per author; at most POSTS_DAILY_CAP published per account and local day, inside the account's working hours.
POSTS_SUGGEST_WEEKDAY = env_int("POSTS_SUGGEST_WEEKDAY", 0)
POSTS_SUGGEST_HOUR = env_int("POSTS_SUGGEST_HOUR", 7)
POSTS_PER_WEEK = env_int("POSTS_PER_WEEK", 2)
POSTS_DAILY_CAP = env_int("POSTS_DAILY_CAP", 1)
# The company page: its LinkedIn organisation id (posts go `as_organization`) and the SendingAccount (by id)
# of an admin of the page that publishes them. Blank: no company-page suggestions.
POSTS_COMPANY_ORGANIZATION_ID = env_str("POSTS_COMPANY_ORGANIZATION_ID")
POSTS_COMPANY_ACCOUNT_ID = env_int("POSTS_COMPANY_ACCOUNT_ID", 0)
# Reactions and comments are read back for posts published in the last this many days.
POSTS_RESULTS_DAYS = env_int("POSTS_RESULTS_DAYS", 14)
# Nurturing (library.nurture): each week on this weekday (0 = Monday) from this UTC hour, one touch is suggested
# to each connected, met or won person nobody wrote to (nor heard from) in NURTURE_QUIET_DAYS days.
NURTURE_WEEKDAY = env_int("NURTURE_WEEKDAY", 1)
NURTURE_HOUR = env_int("NURTURE_HOUR", 8)
NURTURE_QUIET_DAYS = env_int("NURTURE_QUIET_DAYS", 30)
# Retention (practices.md §7): raw profiles of leads untouched this long, and the texts of finished
# messages, replies and provider events older than this, are emptied daily (rows and counts stay).
RETENTION_RAW_PROFILE_DAYS = env_int("RETENTION_RAW_PROFILE_DAYS", 365)
RETENTION_MESSAGE_BODY_DAYS = env_int("RETENTION_MESSAGE_BODY_DAYS", 730)
# A rate limit on two local days in a row pauses the account this long.
RATE_LIMIT_PAUSE_HOURS = env_int("RATE_LIMIT_PAUSE_HOURS", 48)
# Invitations still pending after this many days are withdrawn (frees the weekly quota).
INVITE_WITHDRAW_AFTER_DAYS = env_int("INVITE_WITHDRAW_AFTER_DAYS", 21)
# Pause an email account once more than this share of its last 50 emails bounced.
EMAIL_BOUNCE_PAUSE_RATE = env_float("EMAIL_BOUNCE_PAUSE_RATE", 0.03)
# Printed under every outreach email (CAN-SPAM wants a valid postal address).
COMPANY_POSTAL_ADDRESS = env_str("COMPANY_POSTAL_ADDRESS", "Sales Department, 1 Example Street, London")
# Unipile (LinkedIn): the tenant's DSN (https://apiN.unipile.com:PORT) and API key; the shared
# secret Unipile must send in the X-Webhook-Secret header of every webhook call. A DSN and key a
# manager saves on /settings/ override these two (salesdept/teamconfig.py).
UNIPILE_DSN = env_str("UNIPILE_DSN")
UNIPILE_API_KEY = env_str("UNIPILE_API_KEY")
UNIPILE_WEBHOOK_SECRET = env_str("UNIPILE_WEBHOOK_SECRET")
UNIPILE_TIMEOUT_SECONDS = env_float("UNIPILE_TIMEOUT_SECONDS", 30.0)
# Competitor watch (competitors/): how many LinkedIn reads (a page of a competitor's posts, or of a post's
# reactions) each reading account may spend per local day, on top of its own profile views.
COMPETITOR_DAILY_READS = env_int("COMPETITOR_DAILY_READS", 20)
# Google Sheets sync (leads/sheets.py). GOOGLE_SERVICE_ACCOUNT_KEY: a service account key, as its
# JSON text or the path of its JSON file; empty turns the sync off. The key is never logged or shown
# (the name holds "KEY", so Django's error pages hide it too):
# pages show only its client_email, the address a manager shares each sheet with (as an Editor).
# SHEETS_API_URL: empty for Google's API (https://sheets.googleapis.com); a base URL such as
# http://127.0.0.1:8089 sends every Sheets API call there instead (an emulator, a proxy, the tests'
# fake). Tokens come from the key's own token_uri. A sync makes at most SHEETS_REQUESTS_PER_MINUTE
# requests a minute (Google's quota: 60 per minute per user).
GOOGLE_SERVICE_ACCOUNT_KEY = env_str("GOOGLE_SERVICE_ACCOUNT_KEY")
SHEETS_API_URL = env_str("SHEETS_API_URL")
SHEETS_REQUESTS_PER_MINUTE = env_int("SHEETS_REQUESTS_PER_MINUTE", 60)
SHEET_SYNC_STALE_MINUTES = env_int("SHEET_SYNC_STALE_MINUTES", 30)  # a run this old died with its worker
# CRM sync (crm/): HUBSPOT_API_URL empty for HubSpot's API (https://api.hubapi.com); a base URL sends
# every HubSpot call there instead (a proxy, the tests' fake). A sync run older than
# CRM_SYNC_STALE_MINUTES died with its worker: the next run may take the connection over.
# A rate-limited run waits the CRM's Retry-After, at most CRM_RETRY_MAX_SECONDS, CRM_RETRIES_MAX times.
# SALESFORCE_CA_BUNDLE: a PEM file of CAs to trust for the org's My Domain URL instead of the
# system's (a TLS-inspecting proxy's CA; the tests' fake); empty: the system's CAs.
HUBSPOT_API_URL = env_str("HUBSPOT_API_URL")
SALESFORCE_CA_BUNDLE = env_str("SALESFORCE_CA_BUNDLE")
CRM_SYNC_STALE_MINUTES = env_int("CRM_SYNC_STALE_MINUTES", 30)
CRM_RETRY_MAX_SECONDS = env_int("CRM_RETRY_MAX_SECONDS", 600)
CRM_RETRIES_MAX = env_int("CRM_RETRIES_MAX", 8)
# Test only: a file holding the time the background jobs act at (salesdept/clock.py).
CLOCK_FILE = env_str("SALESDEPT_CLOCK_FILE")

# Adapters.
LEAD_SOURCE_DEFAULT = env_str("LEAD_SOURCE_DEFAULT", "sandbox")
# The largest CSV file a person may upload to import leads.
CSV_IMPORT_MAX_BYTES = env_int("CSV_IMPORT_MAX_BYTES", 50 * 1024 * 1024)

# Per person, on what reaches other people or costs money (salesdept/ratelimit.py): action ->
# (what, count, seconds). RATE_LIMITS='{"regenerate": [100, 3600]}' changes a count and window.
RATE_LIMITS = {
    "campaign_request": ("campaign requests", 5, 3600),  # each is a model call and an email to every manager
    "regenerate": ("rewrites", 60, 3600),  # a model call each; a rep rewrites a few drafts an hour
    "needs_summary": ("needs summaries", 30, 3600),  # a model call each, over a whole conversation
    "import": ("imports", 20, 3600),
    "export": ("exports", 60, 3600),
    "mailbox_check": ("mailbox checks", 30, 3600),  # each signs in to a server the person named, or sends
    "api": ("API requests", 600, 60),  # per token: a script's loop, not a person; ten a second sustained
}
for _action, (_count, _seconds) in json.loads(env_str("RATE_LIMITS", "{}")).items():
    RATE_LIMITS[_action] = (RATE_LIMITS[_action][0], int(_count), int(_seconds))
# SEED_DEMO=false: `make run` (seed_demo) creates no demo users, campaign or account; the first admin
# comes from `manage.py createsuperuser` (README).
SEED_DEMO = env_bool("SEED_DEMO", True)
SANDBOX_SEED = env_int("SANDBOX_SEED", 7)
# Share of sandbox sends that get a reply, and how long the simulated prospect takes.
SANDBOX_REPLY_RATE = env_float("SANDBOX_REPLY_RATE", 0.35)
SANDBOX_REPLY_DELAY_SECONDS = env_int("SANDBOX_REPLY_DELAY_SECONDS", 180)
# Share of sandbox invitations accepted (after the same delay), and how long `inject-slow` sends take.
SANDBOX_ACCEPT_RATE = env_float("SANDBOX_ACCEPT_RATE", 0.4)
SANDBOX_SLOW_SECONDS = env_float("SANDBOX_SLOW_SECONDS", 5.0)
# What the simulated network received, one JSON line per delivery (proves exactly-once).
SANDBOX_OUTBOX = BASE_DIR / env_str("SANDBOX_OUTBOX", str(VAR_DIR / "sandbox-outbox.jsonl"))
# Apollo people search (providers.md §1.13): the key has no default; without it the source refuses.
APOLLO_API_KEY = env_str("APOLLO_API_KEY")
APOLLO_BASE_URL = env_str("APOLLO_BASE_URL", "https://api.apollo.io")
# Company enrichment reads a company's front page: per-read timeout, most bytes read, and whether
# private, loopback and link-local addresses may be fetched (never in production: the URL comes
# from prospect data, and must not reach internal services).
# ENRICH_WEBSITES turns it on: each qualified lead's company website is read once a month. Off by
# default, so the embedded setup (sandbox prospects with made-up domains) calls nothing outside.
ENRICH_WEBSITES = env_bool("ENRICH_WEBSITES", False)
ENRICH_TIMEOUT_SECONDS = env_float("ENRICH_TIMEOUT_SECONDS", 5.0)
ENRICH_MAX_BYTES = env_int("ENRICH_MAX_BYTES", 1024 * 1024)
ENRICH_ALLOW_PRIVATE = env_bool("ENRICH_ALLOW_PRIVATE", False)

# Outbound webhooks (hooks/) go only to public addresses, by the enrichment fetcher's rules; an
# admin who runs the receiver on the private network (or a test) sets this.
WEBHOOKS_ALLOW_PRIVATE = env_bool("WEBHOOKS_ALLOW_PRIVATE", False)

# LLM. Without OPENAI_API_KEY every call uses the offline template backend (labelled as such).
# Any OpenAI-compatible server works through LLM_BASE_URL (Ollama, vLLM, LM Studio).
# A manager's values on /settings/ override the key, base URL, models and budget (salesdept/teamconfig.py).
OPENAI_API_KEY = env_str("OPENAI_API_KEY")
LLM_BASE_URL = env_str("LLM_BASE_URL")
LLM_MODEL = env_str("LLM_MODEL", "gpt-4o-mini")
LLM_PURPOSES = (
    "qualify",
    "draft",
    "fact_check",
    "analyse_reply",
    "insights",
    "propose_campaign",
    "summarise_company",
    "read_task",
)
LLM_MODELS = {  # one model per purpose; each falls back to LLM_MODEL
    purpose: env_str(f"LLM_MODEL_{purpose.upper()}", LLM_MODEL) for purpose in LLM_PURPOSES
}
LLM_TIMEOUT_SECONDS = env_float("LLM_TIMEOUT_SECONDS", 60.0)
# Retries of 408/409/429/5xx and lost connections, with backoff. A timeout is never re-sent:
# the server may still be working on it, and a second copy only lengthens its queue.
LLM_MAX_RETRIES = env_int("LLM_MAX_RETRIES", 2)
# Model calls in flight at once per worker process, for a remote API. Lower it if your provider
# answers 429 often. A server on this machine or a private network (llama.cpp, Ollama) usually
# answers one request at a time: LLM_LOCAL_CONCURRENCY applies there instead, to all the worker's
# processes together (salesdept.slots).
LLM_CONCURRENCY = env_int("LLM_CONCURRENCY", 100)
LLM_LOCAL_CONCURRENCY = env_int("LLM_LOCAL_CONCURRENCY", 1)
# Whether the server is local in that sense: "auto" judges by its address (localhost, a private
# address, a bare host name); "false" for a remote API reached through a gateway on your network.
LLM_SERVER_IS_LOCAL = env_str("LLM_SERVER_IS_LOCAL", "auto")
if LLM_SERVER_IS_LOCAL not in ("auto", "true", "false"):
    raise ImproperlyConfigured("LLM_SERVER_IS_LOCAL must be auto, true or false.")
# How answers are asked for: "auto" learns it per server and model (json_schema, then json_object,
# then the schema in the prompt); a fixed value skips the learning.
LLM_STRUCTURED_MODE = env_str("LLM_STRUCTURED_MODE", "auto")
if LLM_STRUCTURED_MODE not in ("auto", "json_schema", "json_object", "prompt"):
    raise ImproperlyConfigured("LLM_STRUCTURED_MODE must be auto, json_schema, json_object or prompt.")
LLM_DAILY_BUDGET_USD = env_float("LLM_DAILY_BUDGET_USD", 10.0)
LLM_CACHE_SECONDS = env_int("LLM_CACHE_SECONDS", 7 * 24 * 3600)
LLM_REVIEW_BELOW_CONFIDENCE = env_float("LLM_REVIEW_BELOW_CONFIDENCE", 0.6)
# USD per million tokens, input and output: {"model": [0.15, 0.60]}. A model without a price costs
# LLM_DEFAULT_PRICE (logged once, and marked on its LLMCall rows): set [0, 0] for a local model.
try:
    LLM_DEFAULT_PRICE = json.loads(env_str("LLM_DEFAULT_PRICE", "[2.5, 10.0]"))
    LLM_PRICES = {
        "gpt-4o-mini": [0.15, 0.60],
        "gpt-4o": [2.50, 10.00],
        "gpt-4.1-mini": [0.40, 1.60],
        "gpt-4.1": [2.00, 8.00],
        **json.loads(env_str("LLM_PRICES", "{}")),
    }
except json.JSONDecodeError as exc:
    raise ImproperlyConfigured(f'LLM_PRICES must be JSON like {{"model": [0.15, 0.6]}}: {exc}') from None

# JSON lines in production (one object per line, with request, user, task and lead ids), readable
# text in development: salesdept/logcontext.py.
LOG_FORMAT = env_str("LOG_FORMAT", "text" if DEBUG else "json")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, not {LOG_FORMAT!r}.")
LOGGING = logging_config(fmt=LOG_FORMAT, level=env_str("LOG_LEVEL", "INFO"))
# Celery's workers log through the same handlers (and so the same format and fields) as Django.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# /metrics (salesdept/prometheus.py): Prometheus scrapes it with `Authorization: Bearer METRICS_TOKEN`,
# or from an address in METRICS_ALLOWED_NETWORKS (this machine only by default; behind a proxy
# every request comes from the proxy's address, so use the token there).
METRICS_TOKEN = env_str("METRICS_TOKEN")
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", "127.0.0.1/32,::1/128")
try:
    for _network in METRICS_ALLOWED_NETWORKS:
        ipaddress.ip_network(_network)
except ValueError as exc:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS must list networks like 10.0.0.0/8: {exc}") from None
# Alerts (reporting/alerts.py): send errors per account since yesterday above this share of at
# least ALERT_MIN_ATTEMPTS attempts; the day's model spend above this share of its budget.
ALERT_ERROR_RATE = env_float("ALERT_ERROR_RATE", 0.1)
ALERT_MIN_ATTEMPTS = env_int("ALERT_MIN_ATTEMPTS", 20)
ALERT_LLM_BUDGET_SHARE = env_float("ALERT_LLM_BUDGET_SHARE", 0.8)
# Deals (deals/): the currency a new deal is offered in; a rep may pick another one per deal.
DEALS_DEFAULT_CURRENCY = env_str("DEALS_DEFAULT_CURRENCY", "EUR").strip().upper()
if not (len(DEALS_DEFAULT_CURRENCY) == 3 and DEALS_DEFAULT_CURRENCY.isascii() and DEALS_DEFAULT_CURRENCY.isalpha()):
    raise ImproperlyConfigured(
        f"DEALS_DEFAULT_CURRENCY must be an ISO 4217 code like EUR, not {DEALS_DEFAULT_CURRENCY!r}"
    )
