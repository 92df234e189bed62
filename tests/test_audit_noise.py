"""Anonymous refusals cannot grow the audit log for free: one event per address, kind and
minute, the rest counted into the next event; a signed-in user's refusals stay one each."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from decisions.audit import RequestMeta, current_request, noise
from decisions.models import AuditEvent
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_throttle_state():
    cache.clear()


@pytest.fixture
def minute(monkeypatch):
    """The throttle's clock, moved on by hand."""
    now = [1000]
    monkeypatch.setattr(noise, "current_minute", lambda: now[0])
    return now


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("sequence"))


def fail_sign_in(email: str, times: int, address: str = "192.0.2.10") -> None:
    client = Client(REMOTE_ADDR=address)
    for _ in range(times):
        client.post(reverse("login"), {"username": email, "password": "wrong"})


def post_without_token(times: int, address: str = "192.0.2.10") -> None:
    client = Client(enforce_csrf_checks=True, REMOTE_ADDR=address)
    for _ in range(times):
        assert client.post(reverse("login"), {"username": "x"}).status_code == 403


def anonymous_refusals() -> list[AuditEvent]:
    return [
        e
        for e in AuditEvent.objects.order_by("sequence")
        if e.actor_id is None and e.action.startswith(("auth.", "access."))
    ]


# ---- failed sign-ins ---------------------------------------------------------------------


def test_fifty_failed_sign_ins_from_one_address_in_a_minute_write_at_most_two_events(
    practitioner, minute
):
    fail_sign_in(practitioner.email, 50)
    # One failed sign-in, and (django-axes) one lockout once the limit is reached.
    assert [e.action for e in anonymous_refusals()] == ["auth.sign_in_failed", "auth.locked_out"]


def test_the_count_of_suppressed_failures_goes_into_the_next_event(minute):
    fail_sign_in("stranger@example.net", 3)
    minute[0] += 1
    fail_sign_in("stranger@example.net", 1)
    first, second = events("auth.sign_in_failed")
    assert "suppressed_since_last" not in first.details
    assert second.details["suppressed_since_last"] == 2


def test_no_failure_is_lost_however_many_minutes_pass(minute):
    for _ in range(3):
        fail_sign_in("stranger@example.net", 10)
        minute[0] += 1
    fail_sign_in("stranger@example.net", 1)
    logged = events("auth.sign_in_failed")
    total = len(logged) + sum(e.details.get("suppressed_since_last", 0) for e in logged)
    assert (len(logged), total) == (4, 31)


def test_another_address_gets_its_own_event(minute):
    fail_sign_in("stranger@example.net", 5, address="192.0.2.10")
    fail_sign_in("stranger@example.net", 1, address="198.51.100.20")
    assert [e.ip_address for e in events("auth.sign_in_failed")] == [
        "192.0.2.10",
        "198.51.100.20",
    ]


def test_addresses_in_one_ipv6_64_share_a_throttle(minute):
    fail_sign_in("stranger@example.net", 1, address="2001:db8:1:2::1")
    fail_sign_in("stranger@example.net", 1, address="2001:db8:1:2::ffff")
    fail_sign_in("stranger@example.net", 1, address="2001:db8:1:3::1")
    assert len(events("auth.sign_in_failed")) == 2


# ---- forms posted without their CSRF token --------------------------------------------------


def test_fifty_anonymous_posts_without_a_csrf_token_write_one_event(minute):
    post_without_token(50)
    [event] = events("access.refused")
    assert event.details == {"reason": "csrf", "view": "login"}


def test_the_count_of_suppressed_csrf_refusals_goes_into_the_next_event(minute):
    post_without_token(4)
    minute[0] += 1
    post_without_token(1)
    assert events("access.refused")[-1].details["suppressed_since_last"] == 3


def test_a_signed_in_users_csrf_refusals_are_each_logged(practitioner, minute):
    client = client_for(practitioner)
    client.handler.enforce_csrf_checks = True
    for _ in range(3):
        assert client.post(reverse("start")).status_code == 403
    logged = events("access.refused")
    assert [e.actor for e in logged] == [practitioner] * 3
    assert all("suppressed_since_last" not in e.details for e in logged)


def test_a_signed_in_users_refusals_are_not_throttled(practitioner, minute):
    client = client_for(practitioner)
    for _ in range(3):
        assert client.get(reverse("reports")).status_code == 403
    assert len(events("access.refused")) == 3


# ---- the throttle itself -------------------------------------------------------------------


def test_a_count_is_kept_when_the_event_could_not_be_written(minute):
    token = current_request.set(RequestMeta(ip_address="192.0.2.99"))
    try:
        noise.throttled("test.kind", lambda extra: extra)
        noise.throttled("test.kind", lambda extra: extra)
        minute[0] += 1

        def fails(extra):
            raise RuntimeError("database down")

        with pytest.raises(RuntimeError):
            noise.throttled("test.kind", fails)
        minute[0] += 1
        assert noise.throttled("test.kind", lambda extra: extra) == {"suppressed_since_last": 1}
    finally:
        current_request.reset(token)
