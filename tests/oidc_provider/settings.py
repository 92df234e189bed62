"""The test identity provider's settings (not ISG's): django-oidc-provider, SQLite in a temp dir."""

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("OIDC_PROVIDER_DIR", "/tmp/isg-oidc-provider"))  # noqa: S108

SECRET_KEY = "test-identity-provider-only"  # noqa: S105 - a throwaway provider for the tests
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "oidc_provider",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "tests.oidc_provider.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [HERE / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ]
        },
    }
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": DATA / "provider.sqlite3"}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
# Its own cookie names: in a browser it shares 127.0.0.1 with ISG's live server.
SESSION_COOKIE_NAME = "provider_sessionid"
CSRF_COOKIE_NAME = "provider_csrftoken"
LOGIN_URL = "/accounts/login/"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, throwaway

SITE_URL = os.environ.get("OIDC_PROVIDER_URL", "http://127.0.0.1:8800")
OIDC_USERINFO = "tests.oidc_provider.hooks.userinfo"
OIDC_IDTOKEN_PROCESSING_HOOK = "tests.oidc_provider.hooks.id_token"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
