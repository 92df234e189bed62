"""Session limits (idle, absolute) enforced by the server, the timeout notice, and confirming
the password before sensitive pages (recent_authentication_required)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse

from decisions.accounts import sessions
from decisions.accounts.decorators import recent_authentication_required
from decisions.models import AuditEvent
from tests.conftest import client_for

PASSWORD = "correct horse battery staple"  # tests/factories.py


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("sequence"))


@pytest.fixture(autouse=True)
def without_second_factor(settings):
    # The second factor has its own tests (test_accounts_mfa.py); these sign in with a password.
    settings.ISG_MFA_REQUIRED = False


@pytest.fixture(autouse=True)
def no_cached_counts():
    # Audit events for failed sign-ins are throttled in the cache, which outlives a test.
    cache.clear()


def set_clock(client: Client, **seconds_ago: float) -> None:
    """Move the session's clocks back: set_clock(client, isg_session_last_seen=31 * 60)."""
    session = client.session
    for key, ago in seconds_ago.items():
        session[key] = time.time() - ago
    session.save()


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


# ---- the notice on every signed-in page -----------------------------------------------------


@pytest.mark.django_db
def test_a_signed_in_page_says_when_the_session_ends(as_practitioner):
    page = as_practitioner.get(reverse("my_decisions")).content.decode()
    assert "For your security, we will sign you out if you do nothing for 30 minutes" in page
    assert "js/timeout-warning.js" in page
    assert 'data-seconds-left="' in page
    assert "Stay signed in" in page


@pytest.mark.django_db
def test_a_page_for_someone_signed_out_has_no_notice(client):
    page = client.get(reverse("login")).content.decode()
    assert "we will sign you out" not in page
    assert "timeout-warning.js" not in page


# ---- the idle limit -------------------------------------------------------------------------


@pytest.mark.django_db
def test_after_30_idle_minutes_the_next_request_signs_out(practitioner):
    client = client_for(practitioner)
    set_clock(client, isg_session_last_seen=31 * 60)
    response = client.get(reverse("my_decisions"))
    assert response.status_code == 302
    assert response["Location"] == (reverse("login") + "?signed_out=idle&next=%2Fdecisions%2F")
    assert not signed_in(client)


@pytest.mark.django_db
def test_the_sign_in_page_says_why(practitioner):
    client = client_for(practitioner)
    set_clock(client, isg_session_last_seen=31 * 60)
    page = client.get(reverse("my_decisions"), follow=True).content.decode()
    assert "You were signed out because you did nothing for 30 minutes" in page


@pytest.mark.django_db
def test_an_idle_sign_out_is_one_audit_event_saying_why(practitioner):
    client = client_for(practitioner)
    set_clock(client, isg_session_last_seen=31 * 60)
    client.get(reverse("my_decisions"))
    [event] = events("auth.session_expired")
    assert event.actor == practitioner
    assert event.details == {"reason": "idle"}
    assert not events("auth.signed_out")


@pytest.mark.django_db
def test_activity_within_the_limit_keeps_the_session(practitioner):
    client = client_for(practitioner)
    set_clock(client, isg_session_last_seen=29 * 60)
    assert client.get(reverse("my_decisions")).status_code == 200
    assert time.time() - client.session[sessions.LAST_SEEN] < 5


@pytest.mark.django_db
def test_the_idle_limit_comes_from_the_settings(practitioner, settings):
    settings.ISG_SESSION_IDLE_MINUTES = 5
    client = client_for(practitioner)
    set_clock(client, isg_session_last_seen=6 * 60)
    assert client.get(reverse("my_decisions")).status_code == 302


@pytest.mark.django_db
def test_a_post_after_the_limit_signs_out_without_coming_back_to_the_post(practitioner):
    client = client_for(practitioner)
    set_clock(client, isg_session_last_seen=31 * 60)
    response = client.post(reverse("start"))
    assert response["Location"] == reverse("login") + "?signed_out=idle"


# ---- the absolute limit ---------------------------------------------------------------------


@pytest.mark.django_db
def test_after_12_hours_the_session_ends_however_active(practitioner):
    client = client_for(practitioner)
    set_clock(client, isg_session_started=12 * 3600 + 60, isg_session_last_seen=10)
    response = client.get(reverse("my_decisions"), follow=True)
    assert "You were signed out because you had been signed in for 12 hours" in (
        response.content.decode()
    )
    [event] = events("auth.session_expired")
    assert event.details == {"reason": "absolute"}


@pytest.mark.django_db
def test_near_the_absolute_limit_the_page_says_so(practitioner):
    client = client_for(practitioner)
    set_clock(client, isg_session_started=12 * 3600 - 600)
    page = client.get(reverse("my_decisions")).content.decode()
    assert "we sign everyone out 12 hours after they sign in" in page


# ---- the timeout warning's endpoint ---------------------------------------------------------


@pytest.mark.django_db
def test_looking_at_the_time_left_is_not_activity(practitioner):
    client = client_for(practitioner)
    set_clock(client, isg_session_last_seen=20 * 60)
    response = client.get(reverse("session_status"), HTTP_ACCEPT="application/json")
    assert response.json()["signed_in"] is True
    assert 9 * 60 <= response.json()["seconds_left"] <= 10 * 60
    assert time.time() - client.session[sessions.LAST_SEEN] >= 20 * 60 - 5


@pytest.mark.django_db
def test_stay_signed_in_restarts_the_idle_limit(practitioner):
    client = client_for(practitioner)
    set_clock(client, isg_session_last_seen=28 * 60)
    response = client.post(reverse("session_status"), HTTP_ACCEPT="application/json")
    assert response.json()["seconds_left"] >= 29 * 60


@pytest.mark.django_db
def test_stay_signed_in_without_javascript_comes_back_to_the_page(practitioner):
    client = client_for(practitioner)
    response = client.post(reverse("session_status"), {"next": "/decisions/"})
    assert response["Location"] == "/decisions/"


@pytest.mark.django_db
def test_stay_signed_in_never_goes_to_another_site(practitioner):
    client = client_for(practitioner)
    response = client.post(reverse("session_status"), {"next": "https://evil.example/"})
    assert response["Location"] == "/"


@pytest.mark.django_db
def test_the_warning_learns_when_the_session_has_ended(practitioner):
    client = client_for(practitioner)
    set_clock(client, isg_session_last_seen=31 * 60)
    response = client.get(reverse("session_status"), HTTP_ACCEPT="application/json")
    assert response.status_code == 401
    assert response.json() == {"signed_in": False, "reason": "idle"}


@pytest.mark.django_db
def test_the_session_endpoint_for_someone_signed_out(client):
    assert client.get(reverse("session_status")).status_code == 401


# ---- confirming the password ----------------------------------------------------------------


@pytest.mark.django_db
def test_signing_in_counts_as_entering_the_password(practitioner):
    client = Client()
    client.post(reverse("login"), {"username": practitioner.email, "password": PASSWORD})
    assert sessions.authenticated_within(client.session, 60)


def guarded(max_age: timedelta | None = None):
    @recent_authentication_required(max_age=max_age)
    def view(request):
        return HttpResponse("ok")

    return view


def request_for(client: Client, method: str = "get", **extra):
    from importlib import import_module

    from django.conf import settings

    request = getattr(RequestFactory(), method)("/reports/?x=1", **extra)
    engine = import_module(settings.SESSION_ENGINE)
    request.session = engine.SessionStore(client.cookies[settings.SESSION_COOKIE_NAME].value)
    request.user = type("U", (), {"is_authenticated": True})()
    return request


@pytest.mark.django_db
def test_an_old_password_entry_sends_a_get_to_confirm_and_back(practitioner):
    client = client_for(practitioner)
    set_clock(client, isg_authenticated_at=16 * 60)
    response = guarded()(request_for(client))
    assert response.status_code == 302
    assert response["Location"] == reverse("confirm_password") + "?next=%2Freports%2F%3Fx%3D1"


@pytest.mark.django_db
def test_a_recent_password_entry_passes(practitioner):
    client = client_for(practitioner)
    set_clock(client, isg_authenticated_at=14 * 60)
    assert guarded()(request_for(client)).content == b"ok"


@pytest.mark.django_db
def test_the_age_can_be_chosen_per_view(practitioner):
    client = client_for(practitioner)
    set_clock(client, isg_authenticated_at=6 * 60)
    assert guarded(timedelta(minutes=5))(request_for(client)).status_code == 302


@pytest.mark.django_db
def test_a_post_comes_back_to_the_page_it_was_sent_from(practitioner):
    client = client_for(practitioner)
    set_clock(client, isg_authenticated_at=16 * 60)
    request = request_for(client, "post", HTTP_REFERER="http://testserver/reports/?year=2026")
    response = guarded()(request)
    assert response["Location"] == reverse("confirm_password") + "?next=%2Freports%2F%3Fyear%3D2026"


@pytest.mark.django_db
def test_confirming_the_password_goes_back_and_is_audited(practitioner):
    client = client_for(practitioner)
    set_clock(client, isg_authenticated_at=16 * 60)
    response = client.post(
        reverse("confirm_password"), {"password": PASSWORD, "next": "/decisions/"}
    )
    assert response["Location"] == "/decisions/"
    assert sessions.authenticated_within(client.session, 60)
    [event] = events("auth.reauthenticated")
    assert event.actor == practitioner


@pytest.mark.django_db
def test_a_wrong_password_gets_the_error_summary(practitioner):
    client = client_for(practitioner)
    response = client.post(reverse("confirm_password"), {"password": "wrong", "next": "/"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "govuk-error-summary" in page
    assert "The password is not correct" in page


@pytest.mark.django_db
def test_an_empty_password_gets_the_error_summary(practitioner):
    response = client_for(practitioner).post(reverse("confirm_password"), {"next": "/"})
    assert response.status_code == 400
    assert "Enter your password" in response.content.decode()


@pytest.mark.django_db
def test_confirming_never_goes_to_another_site(practitioner):
    client = client_for(practitioner)
    response = client.post(
        reverse("confirm_password"), {"password": PASSWORD, "next": "//evil.example/"}
    )
    assert response["Location"] == "/"


@pytest.mark.django_db
def test_too_many_wrong_passwords_sign_out(practitioner):
    client = client_for(practitioner)
    for _ in range(4):
        client.post(reverse("confirm_password"), {"password": "wrong"})
    response = client.post(reverse("confirm_password"), {"password": "wrong"})
    assert response["Location"] == reverse("login") + "?signed_out=locked"
    assert not signed_in(client)
    assert events("auth.locked_out")


@pytest.mark.django_db
def test_the_confirm_page_needs_sign_in(client):
    response = client.get(reverse("confirm_password"))
    assert response["Location"].startswith(reverse("login"))
