"""Sign-in throttling (django-axes): a cool-off after too many failures, the same for everyone."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.db.models import F
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from decisions.accounts.throttling import attempted_username
from decisions.models import AuditEvent

PASSWORD = "correct horse battery staple"  # tests/factories.py
LOCKED = "There have been too many attempts to sign in"


def sign_in(client: Client, email: str, password: str, **extra):
    return client.post(reverse("login"), {"username": email, "password": password}, **extra)


def fail(client: Client, email: str, times: int, **extra) -> None:
    for _ in range(times):
        sign_in(client, email, "not the password", **extra)


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


@pytest.mark.django_db
def test_four_wrong_passwords_then_the_right_one_signs_in(practitioner):
    client = Client()
    fail(client, practitioner.email, 4)
    response = sign_in(client, practitioner.email, PASSWORD)
    assert response.status_code == 302


@pytest.mark.django_db
def test_five_wrong_passwords_then_the_right_one_is_refused_with_the_message(practitioner):
    client = Client()
    fail(client, practitioner.email, 5)
    response = sign_in(client, practitioner.email, PASSWORD)
    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    assert "Wait 15 minutes" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_the_fifth_failure_already_shows_the_lockout(practitioner):
    client = Client()
    fail(client, practitioner.email, 4)
    response = sign_in(client, practitioner.email, "not the password")
    assert response.status_code == 429
    assert LOCKED in response.content.decode()


@pytest.mark.django_db
def test_an_unknown_email_gets_the_same_response_as_an_account(practitioner):
    known, unknown = Client(), Client()
    fail(known, practitioner.email, 5)
    fail(unknown, "nobody@example.org", 5, REMOTE_ADDR="10.9.9.9")
    for_account = sign_in(known, practitioner.email, PASSWORD)
    for_stranger = sign_in(unknown, "nobody@example.org", PASSWORD, REMOTE_ADDR="10.9.9.9")
    assert for_account.status_code == for_stranger.status_code == 429
    assert same_page(for_account, practitioner.email) == same_page(
        for_stranger, "nobody@example.org"
    )


@pytest.mark.django_db
def test_before_a_lockout_an_unknown_email_gets_the_same_response_too(practitioner):
    for_account = sign_in(Client(), practitioner.email, "wrong")
    for_stranger = sign_in(Client(), "nobody@example.org", "wrong")
    assert for_account.status_code == for_stranger.status_code == 200
    assert same_page(for_account, practitioner.email) == same_page(
        for_stranger, "nobody@example.org"
    )


def same_page(response, email: str) -> str:
    """The page with what legitimately differs (the address typed, CSRF tokens) blanked."""
    page = response.content.decode().replace(email, "EMAIL")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "TOKEN", page)


@pytest.mark.django_db
def test_the_lockout_message_is_in_the_error_summary(practitioner):
    client = Client()
    fail(client, practitioner.email, 5)
    page = sign_in(client, practitioner.email, PASSWORD).content.decode()
    summary = page.split('class="govuk-error-summary"')[1].split("</div>")[0]
    assert LOCKED in page
    assert "There is a problem" in page
    assert page.index("govuk-error-summary") < page.index(LOCKED)
    assert summary


@pytest.mark.django_db
def test_after_the_cool_off_the_account_can_sign_in_again(practitioner):
    client = Client()
    fail(client, practitioner.email, 6)
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=16))
    response = sign_in(client, practitioner.email, PASSWORD)
    assert response.status_code == 302


@pytest.mark.django_db
def test_a_shorter_cool_off_can_be_configured(practitioner, settings):
    settings.AXES_COOLOFF_TIME = timedelta(minutes=1)
    client = Client()
    fail(client, practitioner.email, 5)
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=2))
    assert sign_in(client, practitioner.email, PASSWORD).status_code == 302


@pytest.mark.django_db
def test_the_lockout_is_per_address_so_another_address_can_still_sign_in(practitioner):
    fail(Client(), practitioner.email, 5)
    elsewhere = sign_in(Client(), practitioner.email, PASSWORD, REMOTE_ADDR="192.0.2.7")
    assert elsewhere.status_code == 302


@pytest.mark.django_db
def test_the_email_address_counts_whatever_its_case(practitioner):
    client = Client()
    fail(client, practitioner.email.upper(), 3)
    fail(client, practitioner.email, 2)
    assert sign_in(client, practitioner.email, PASSWORD).status_code == 429


@pytest.mark.django_db
@override_settings(ISG_SIGN_IN_ADDRESS_FAILURE_LIMIT=8)
def test_an_address_trying_many_accounts_is_locked_out_at_its_own_limit(practitioner):
    client = Client()
    for n in range(8):
        fail(client, f"guess{n}@example.org", 1)
    assert sign_in(client, practitioner.email, PASSWORD).status_code == 429


@pytest.mark.django_db
def test_a_few_failures_on_several_accounts_do_not_lock_an_office_out(practitioner):
    client = Client()
    for n in range(10):
        fail(client, f"colleague{n}@example.org", 1)
    assert sign_in(client, practitioner.email, PASSWORD).status_code == 302


@pytest.mark.django_db
@override_settings(ISG_TRUSTED_PROXY_COUNT=1)
def test_behind_a_proxy_the_lockout_follows_the_audited_client_address(practitioner):
    def attempt(forwarded: str, password: str = "wrong"):  # noqa: S107
        return sign_in(
            Client(),
            practitioner.email,
            password,
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR=forwarded,
        )

    for _ in range(5):
        attempt("203.0.113.9")
    assert attempt("203.0.113.9", PASSWORD).status_code == 429
    assert attempt("198.51.100.4", PASSWORD).status_code == 302
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.9"}
    [locked] = events("auth.locked_out")[:1]
    assert locked.ip_address == "203.0.113.9"


@pytest.mark.django_db
def test_a_lockout_is_an_audit_event_naming_the_account(practitioner):
    fail(Client(), practitioner.email, 5)
    [event] = events("auth.locked_out")
    assert (event.actor, event.actor_email) == (None, practitioner.email)
    assert event.organisation == practitioner.organisation
    assert event.details == {"known_account": True, "cool_off_minutes": 15}


@pytest.mark.django_db
def test_a_lockout_of_an_unknown_address_does_not_keep_the_address():
    fail(Client(), "stranger@example.net", 5)
    [event] = events("auth.locked_out")
    assert event.actor_email == "unknown"
    assert "stranger" not in str(event.details)


@pytest.mark.django_db
def test_an_attempt_refused_during_the_lockout_is_logged(practitioner):
    client = Client()
    fail(client, practitioner.email, 5)
    cache.clear()  # past the audit log's per-minute throttle of repeated refusals
    sign_in(client, practitioner.email, PASSWORD)
    assert len(events("auth.locked_out")) == 2


def test_the_attempted_address_is_counted_in_lower_case():
    request = RequestFactory().post("/", {"username": " Pat@Example.org "})
    assert attempted_username(request) == "pat@example.org"
    assert attempted_username(request, {"username": "LEE@example.org"}) == "lee@example.org"


@pytest.mark.django_db
def test_the_sign_in_page_offers_a_password_reset(client):
    page = client.get(reverse("login")).content.decode()
    assert "Forgotten your password?" in page
    assert reverse("password_reset") in page
