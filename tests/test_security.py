"""Production settings and response headers: the security defaults are on.

(Cache-Control, Permissions-Policy and request-body limits: tests/test_headers.py.)"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from decisions import selectors, services
from decisions.models import AuditEvent
from tests.conftest import client_for

ROOT = Path(__file__).resolve().parents[1]

# What a deployment sets (README, "Deploying"); every SECURE_* protection is on.
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "isg.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://isg.example.org",
    "ISG_BASE_URL": "https://isg.example.org",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_COOKIES": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_PRELOAD": "true",
}


def test_deploy_check_is_clean_with_production_settings():
    env = {"PATH": os.environ.get("PATH", ""), **PRODUCTION}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_turn_every_transport_protection_on():
    env = {"PATH": os.environ.get("PATH", ""), "DJANGO_SETTINGS_MODULE": "isg.settings"}
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SESSION_COOKIE_HTTPONLY, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
        "s.SECURE_CONTENT_TYPE_NOSNIFF, s.X_FRAME_OPTIONS, s.SESSION_COOKIE_SAMESITE, "
        "s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME, s.SECURE_REFERRER_POLICY)"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**env, "DEBUG": "false", "SECRET_KEY": PRODUCTION["SECRET_KEY"]},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.split() == [
        "True", "True", "True", "True", "31536000", "True", "True", "DENY", "Lax",
        "__Host-isg_session", "__Host-isg_csrftoken", "same-origin",
    ], result.stderr  # fmt: skip


@pytest.mark.django_db
def test_https_responses_carry_hsts(client):
    response = client.get(reverse("login"), secure=True)
    assert response["Strict-Transport-Security"] == ("max-age=31536000; includeSubDomains; preload")


@pytest.mark.django_db
def test_a_form_posted_without_its_csrf_token_is_refused():
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": "a@example.org", "password": "x"})
    assert response.status_code == 403


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {"PATH": os.environ.get("PATH", ""), "DEBUG": "false"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_pages_carry_a_strict_content_security_policy(client):
    response = client.get(reverse("login"))
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"


def test_templates_have_no_inline_scripts_or_styles():
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text):
            offenders.append(f"{path.name}: inline <script>")
        if re.search(r"\sstyle=\"", text) or ("<style" in text and "pdf/" not in str(path)):
            offenders.append(f"{path.name}: inline style")
        if re.search(r"\son[a-z]+=\"", text):
            offenders.append(f"{path.name}: inline event handler")
    assert offenders == []


@pytest.mark.django_db
def test_signing_in_starts_a_new_session(client, practitioner):
    """ASVS 3.2.1: a session id known before sign-in (fixation) is not the one after it."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store["visited"] = True
    store.create()
    client.cookies[settings.SESSION_COOKIE_NAME] = store.session_key
    client.post(
        reverse("login"),
        {"username": practitioner.email, "password": "correct horse battery staple"},
    )
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after and after != store.session_key
    assert int(client.session["_auth_user_id"]) == practitioner.pk


@pytest.mark.django_db
def test_session_ids_are_long_random_and_not_in_addresses(as_practitioner):
    """ASVS 3.2.2, 3.2.4, 3.1.1: 32 characters from a CSPRNG (about 165 bits), in a cookie."""
    key = as_practitioner.session.session_key
    assert len(key) == 32 and re.fullmatch(r"[a-z0-9]{32}", key)
    page = as_practitioner.get(reverse("my_decisions")).content.decode()
    assert key not in page


def test_isg_keeps_nothing_in_browser_storage():
    """ASVS 8.2.2: ISG's own scripts store nothing in the browser (GOV.UK Frontend's accordion
    remembers only which sections are open, and ISG uses no accordion)."""
    stored = re.compile(r"localStorage|sessionStorage|indexedDB|document\.cookie")
    scripts = [p for p in (ROOT / "static" / "js").rglob("*.js")]
    assert scripts
    assert [p.name for p in scripts if stored.search(p.read_text(encoding="utf-8"))] == []


# ---- Passwords (ASVS 2.1, 2.4) -------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        "twelve chars",  # 12, with a space
        "correct horse battery staple " * 3,  # over 64, spaces kept
        "😀🐱🚲🌧️🍎🎲🧩🎻🚀🌋🦉🧭",  # 12 emoji
        "lowercase only and no digits",
    ],
)
def test_long_passwords_with_spaces_and_unicode_are_accepted(password):
    validate_password(password)


@pytest.mark.parametrize("password", ["short pass", "password1234", "12345678901234"])
def test_short_common_or_all_digit_passwords_are_refused(password):
    with pytest.raises(ValidationError):
        validate_password(password)


def test_production_passwords_are_stored_with_a_salted_slow_hash():
    env = {"PATH": os.environ.get("PATH", ""), "DJANGO_SETTINGS_MODULE": "isg.settings"}
    script = (
        "import django; django.setup(); from django.contrib.auth.hashers import get_hasher; "
        "h = get_hasher(); print(h.algorithm, h.iterations, len(h.salt()) * 5)"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**env, "DEBUG": "false", "SECRET_KEY": PRODUCTION["SECRET_KEY"]},
        capture_output=True,
        text=True,
        timeout=120,
    )
    algorithm, iterations, salt_bits = result.stdout.split()
    assert algorithm in ("pbkdf2_sha256", "argon2", "scrypt"), result.stderr
    assert int(iterations) >= 600_000 and int(salt_bits) >= 32


# ---- Sessions, errors and what is served ---------------------------------------------------


@pytest.mark.django_db
def test_signing_out_ends_the_session_on_the_server(practitioner):
    client = client_for(practitioner)
    stolen = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.post(reverse("logout"))
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = stolen
    response = replay.get(reverse("my_decisions"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_an_unexpected_error_shows_a_plain_page_without_details(as_practitioner, monkeypatch):
    def broken(user):
        raise RuntimeError("secret detail: /srv/isg/settings.py")

    monkeypatch.setattr(selectors, "own_decisions", broken)
    as_practitioner.raise_request_exception = False
    response = as_practitioner.get(reverse("my_decisions"))
    page = response.content.decode()
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in page
    assert "secret detail" not in page and "Traceback" not in page
    assert len(response["X-Request-Id"]) == 32  # for the service desk to find the logs


@pytest.mark.django_db
def test_public_ids_are_random_version_4_uuids(practitioner):
    decision = services.decision_start(user=practitioner)
    assert decision.public_id.version == 4


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/admin/", "/static/", "/static/css/", "/.git/config", "/.env"])
def test_there_is_no_admin_site_directory_listing_or_hidden_file(as_practitioner, path):
    assert as_practitioner.get(path).status_code == 404


@pytest.mark.django_db
def test_a_failed_sign_in_never_records_the_password_typed(client, practitioner):
    typed = "Wrong-but-memorable-9431"
    client.post(reverse("login"), {"username": practitioner.email, "password": typed})
    stored = [str(v) for v in AuditEvent.objects.values()]
    assert stored and not any(typed in value for value in stored)
