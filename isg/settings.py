"""ISG settings: one module, driven by environment variables.

Defaults are safe for production (DEBUG off, secure cookies, HSTS); `make run` and the tests
set DEBUG=true / the dev secret explicitly. Secrets come only from the environment.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from isg.api_settings import api_settings
from isg.storage import exports_storage

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def envint(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


DEBUG = envbool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY in the environment (or DEBUG=true locally).")
    SECRET_KEY = "insecure-development-key-only-for-make-run-and-tests"  # noqa: S105

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")
# A form posted without its CSRF token gets a clear page, and the refusal is an audit event.
CSRF_FAILURE_VIEW = "decisions.views.errors.csrf_failure"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_forms_gds",
    "csp",
    "pgtrigger",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "decisions",
    "decisions.accounts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "decisions.headers.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "decisions.audit.middleware.RequestIdMiddleware",
    "decisions.accounts.middleware.SessionLimitsMiddleware",
    "decisions.accounts.middleware.MFARequiredMiddleware",
    "decisions.guidance.middleware.PackErrorMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "isg.urls"
WSGI_APPLICATION = "isg.wsgi.application"

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
                "decisions.views.context.waiting_approvals",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_max_age=envint("CONN_MAX_AGE", 60)
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "decisions.User"
# django-axes first: it refuses a sign-in while its account or address is cooling off.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"  # shown in UK time; stored in UTC
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if envbool("STATIC_MANIFEST", not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Serve straight from static/ when there is no collectstatic manifest (make run, tests).
WHITENOISE_USE_FINDERS = not envbool("STATIC_MANIFEST", not DEBUG)

CRISPY_ALLOWED_TEMPLATE_PACKS = ["gds"]
CRISPY_TEMPLATE_PACK = "gds"
CRISPY_GDS_FRONTEND_VERSION = "5.8.0"

# Security: on unless DEBUG. Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = envint("SESSION_COOKIE_AGE", 8 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SECURE_HSTS_SECONDS = 0 if DEBUG else envint("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# A strict Content-Security-Policy: our own files only, no inline script or style.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "isg@localhost")
# Where emails link to (decisions.notifications), e.g. https://isg.example.org
ISG_BASE_URL = os.environ.get("ISG_BASE_URL", "http://127.0.0.1:8000" if DEBUG else "")

# Background jobs (long report exports): django-tasks with its database backend, so no extra
# server is needed. `manage.py db_worker` runs them (`make run` starts one).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# How many reverse proxies in front of the app append to X-Forwarded-For (for audit IPs).
ISG_TRUSTED_PROXY_COUNT = envint("ISG_TRUSTED_PROXY_COUNT", 0)

# Where finished exports are written; the web server and the task worker must share it.
ISG_EXPORTS_DIR = Path(os.environ.get("ISG_EXPORTS_DIR", BASE_DIR / "media" / "exports"))

# Sign-off that never stalls (decisions.access approvers; decisions.approvals reminders): a
# reminder to the approvers after this many hours waiting, and the next level of approvers
# (partnership leads, then administrators) may review after this many.
ISG_APPROVAL_REMIND_HOURS = envint("ISG_APPROVAL_REMIND_HOURS", 24)
ISG_APPROVAL_ESCALATE_HOURS = envint("ISG_APPROVAL_ESCALATE_HOURS", 72)

# Where guidance packs are loaded from.
GUIDANCE_DIR = BASE_DIR / "fixtures" / "guidance"

# Limits on free text (the wizard refuses longer input with a message).
ISG_MAX_POST_BYTES = envint("ISG_MAX_POST_BYTES", 200_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = ISG_MAX_POST_BYTES

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # Request lines carry only ids and references; no personal data goes to logs.
    "loggers": {
        "django.request": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# ---- Accounts: sign-in throttling, sessions, re-authentication (docs/accounts.md) ----------
# django-axes counts failed sign-ins per email address at one client address, and per client
# address for every account; either reaching its limit locks sign-in out for the cool-off.
AXES_FAILURE_LIMIT = envint("ISG_SIGN_IN_FAILURE_LIMIT", 5)
# An address may be a whole office behind one NAT, so its limit is higher.
ISG_SIGN_IN_ADDRESS_FAILURE_LIMIT = envint("ISG_SIGN_IN_ADDRESS_FAILURE_LIMIT", 50)
ISG_SIGN_IN_COOL_OFF_MINUTES = envint("ISG_SIGN_IN_COOL_OFF_MINUTES", 15)
AXES_COOLOFF_TIME = timedelta(minutes=ISG_SIGN_IN_COOL_OFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_HANDLER = "decisions.accounts.throttling.SignInThrottle"
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "decisions.accounts.throttling.attempted_username"
# The same client address as the audit log (ISG_TRUSTED_PROXY_COUNT).
AXES_CLIENT_IP_CALLABLE = "decisions.audit.middleware.client_ip"
AXES_LOCKOUT_CALLABLE = "decisions.accounts.throttling.lockout_response"
# Attempts while locked out do not extend the cool-off, so "wait 15 minutes" stays true.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Sign-ins are in the audit log already; axes keeps only the attempts it counts.
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False

# Sessions end after this long without a request, and this long after signing in, whatever.
ISG_SESSION_IDLE_MINUTES = envint("ISG_SESSION_IDLE_MINUTES", 30)
ISG_SESSION_ABSOLUTE_HOURS = envint("ISG_SESSION_ABSOLUTE_HOURS", 12)
# The timeout warning (static/js/timeout-warning.js) shows this long before the end.
ISG_SESSION_WARNING_SECONDS = envint("ISG_SESSION_WARNING_SECONDS", 120)
# Exports and administration ask for the password again when it was last given longer ago.
ISG_REAUTHENTICATION_MINUTES = envint("ISG_REAUTHENTICATION_MINUTES", 15)
# A second factor (an authenticator app, with recovery codes) at every sign-in; set up at the
# first. Switch off only for tests and local use: ISG_MFA_REQUIRED=false.
ISG_MFA_REQUIRED = envbool("ISG_MFA_REQUIRED", True)
OTP_TOTP_ISSUER = "ISG"
ISG_MFA_RECOVERY_CODES = 10
# Axes logs every attempt at INFO; the audit log has them already.
LOGGING["loggers"]["axes"] = {"level": "WARNING"}

# Request bodies and export files (issue 10). ISG takes no file uploads: any multipart file
# part is refused (decisions.headers), and bodies over ISG_MAX_POST_BYTES are refused from
# their Content-Length before they are read.
DATA_UPLOAD_MAX_NUMBER_FILES = 0
# Finished export files are deleted this many days after they were made
# (`manage.py prune_exports`, run daily: docs/operations.md).
ISG_EXPORT_RETENTION_DAYS = envint("ISG_EXPORT_RETENTION_DAYS", 7)
# Cookies for this host only, over HTTPS only, for the whole site (ASVS 3.4.4). A "__Host-"
# cookie must be Secure, so plain-HTTP development and tests keep the ordinary names.
SESSION_COOKIE_SAMESITE = "Lax"
if SESSION_COOKIE_SECURE:
    SESSION_COOKIE_NAME = "__Host-isg_session"
    CSRF_COOKIE_NAME = "__Host-isg_csrftoken"

# ---- Audit evidence: checkpoints and throttled refusals (docs/security-database.md) ---------
# Signs audit checkpoints (HMAC-SHA256): from the environment only, never in the database.
ISG_CHECKPOINT_KEY = os.environ.get("ISG_CHECKPOINT_KEY", "")
# `manage.py audit_checkpoint` appends to audit-checkpoints.jsonl here (mode 0600); keep it
# where database administrators cannot write. Empty: no file.
ISG_CHECKPOINT_DIR = os.environ.get("ISG_CHECKPOINT_DIR", "")
# ...and/or emails each checkpoint to these addresses (comma-separated). Empty: no email.
ISG_CHECKPOINT_EMAILS = envlist("ISG_CHECKPOINT_EMAILS")
# Months of audit events kept live before `manage.py archive_audit` may archive them (issue 13).
ISG_AUDIT_ARCHIVE_AFTER_MONTHS = int(os.environ.get("ISG_AUDIT_ARCHIVE_AFTER_MONTHS", "24"))
# Anonymous refusals (no CSRF token, failed sign-ins) are counted in the cache, one event per
# address a minute (decisions.audit.noise). The default counts per process; with several
# workers set a shared cache, e.g. ISG_CACHE_BACKEND=django.core.cache.backends.db.DatabaseCache
# and ISG_CACHE_LOCATION=isg_cache (then `manage.py createcachetable` as the owner role).
CACHES = {
    "default": {
        "BACKEND": os.environ.get(
            "ISG_CACHE_BACKEND", "django.core.cache.backends.locmem.LocMemCache"
        ),
        "LOCATION": os.environ.get("ISG_CACHE_LOCATION", ""),
    }
}

# ---- Accounts: passkeys, shared cache (issue 10, accounts area; docs/accounts.md) -----------
# Passkeys (WebAuthn) as a second factor beside the authenticator app: django-otp-webauthn,
# a django-otp plugin. Never a first factor: the password is always asked for first.
INSTALLED_APPS += ["django_otp_webauthn"]
# By default from ISG_BASE_URL when it is https; else http://localhost:8000 (browsers allow
# passkeys over plain HTTP on "localhost" only: open `make run` at that address to try them).
_ISG_HTTPS_BASE = ISG_BASE_URL.rstrip("/") if ISG_BASE_URL.startswith("https://") else ""
# The domain passkeys belong to (changing it later invalidates every passkey).
OTP_WEBAUTHN_RP_ID = os.environ.get(
    "ISG_WEBAUTHN_RP_ID",
    (_ISG_HTTPS_BASE.split("//", 1)[1].split("/")[0].split(":")[0] if _ISG_HTTPS_BASE else "")
    or "localhost",
)
OTP_WEBAUTHN_RP_NAME = "ISG"
# The exact origins pages are served from, e.g. https://isg.example.org (comma-separated).
OTP_WEBAUTHN_ALLOWED_ORIGINS = envlist(
    "ISG_WEBAUTHN_ORIGINS", _ISG_HTTPS_BASE or "http://localhost:8000"
)
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
OTP_WEBAUTHN_HELPER_CLASS = "decisions.accounts.passkeys.PasskeyHelper"
# No names or addresses in the library's exception log lines (it logs the error type).
OTP_WEBAUTHN_EXCEPTION_LOGGER_NAME = "django_otp_webauthn"
# Several web nodes share throttling counts (axes keeps its own in the database; the audit
# noise counts, decisions.audit.noise, are in this cache): without ISG_CACHE_BACKEND,
# production uses the database cache (no new infrastructure; `manage.py createcachetable`).
# DEBUG (make run) keeps a per-process cache; the tests set ISG_CACHE_BACKEND themselves.
if "ISG_CACHE_BACKEND" not in os.environ and not DEBUG:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": os.environ.get("ISG_CACHE_LOCATION", "") or "isg_cache",
        }
    }
# ---- Scale out: a streaming standby for reads, exports in shared storage (docs/scaling.md) --
# DATABASE_REPLICA_URL: a PostgreSQL hot standby of DATABASES["default"]. Reports, the audit-log
# pages and background export builds read from it once it has replayed the reader's own last
# write; everything else, and every write, goes to the primary (decisions/routing.py).
DATABASE_ROUTERS = ["decisions.routing.ReplicaRouter"]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "decisions.routing.ReplicaReadsMiddleware",
)
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"], conn_max_age=envint("CONN_MAX_AGE", 60)
    )
    # A standby that does not answer quickly is skipped (the primary serves the page).
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", envint("DATABASE_REPLICA_CONNECT_TIMEOUT", 2)
    )
    # Tests: the standby mirrors the test database (Django creates no second one).
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
# Sessions in the database (Django's default, stated): any web node serves any request.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
# Finished export files: a private local folder by default (ISG_EXPORTS_DIR, 0600 files); or
# any Django storage backend (ISG_EXPORTS_STORAGE), or a private S3-compatible bucket
# (ISG_EXPORTS_S3_BUCKET): isg/storage.py says which variables, and why nodes share nothing else.
_exports, _storage_settings = exports_storage(os.environ)
if _exports is not None:
    STORAGES["exports"] = _exports
globals().update(_storage_settings)
# ---- Single sign-on: OpenID Connect per organisation (decisions/sso; docs/accounts.md) ------
# mozilla-django-oidc as the relying party; each organisation's provider (issuer, client id,
# the NAME of the environment variable holding its secret) is set in administration.
AUTHENTICATION_BACKENDS += ["decisions.sso.backend.OrganisationOIDCBackend"]
OIDC_AUTHENTICATION_CALLBACK_URL = "sso_callback"
OIDC_USE_NONCE = True
OIDC_USE_PKCE = True
OIDC_TOKEN_USE_BASIC_AUTH = True  # client_secret_basic: the default of Entra ID, Google, Okta
OIDC_CREATE_USER = False  # no self-registration: a first sign-in finds an invited account
OIDC_TIMEOUT = envint("ISG_SSO_TIMEOUT_SECONDS", 10)
# Plain-HTTP providers on this machine only (the test suite's local provider); never in production.
ISG_SSO_ALLOW_HTTP = envbool("ISG_SSO_ALLOW_HTTP", False)
# The sign-in page offers single sign-on only when some organisation has it switched on.
TEMPLATES[0]["OPTIONS"]["context_processors"].append("decisions.sso.context.sso_available")
# ---- area api: the API for case-management systems (decisions/api/, docs/api.md) ----------
# Django REST framework + drf-spectacular. Token authentication only: no session, so no
# cookie acts through the API and it needs no CSRF token. JSON only (no browsable API: its
# page needs inline scripts that the CSP refuses).
INSTALLED_APPS += ["rest_framework", "drf_spectacular"]
# REST_FRAMEWORK and SPECTACULAR_SETTINGS: isg/api_settings.py.
REST_FRAMEWORK, SPECTACULAR_SETTINGS = api_settings(os.environ)
# How long the link returned by "start a decision" can be followed (it works once).
ISG_API_LINK_MINUTES = envint("ISG_API_LINK_MINUTES", 60)
# Webhook deliveries: attempts before giving up, and the first wait (doubled each time).
ISG_WEBHOOK_MAX_ATTEMPTS = envint("ISG_WEBHOOK_MAX_ATTEMPTS", 8)
ISG_WEBHOOK_BACKOFF_SECONDS = envint("ISG_WEBHOOK_BACKOFF_SECONDS", 60)
# Webhook URLs must be https; plain http to this machine only for development and tests.
ISG_WEBHOOKS_ALLOW_LOCAL_HTTP = envbool("ISG_WEBHOOKS_ALLOW_LOCAL_HTTP", DEBUG)
