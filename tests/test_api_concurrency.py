"""The one-time link under concurrent use (PostgreSQL): two tabs, or a link scanner and the
practitioner, following it at the same moment get one success between them."""

from __future__ import annotations

import threading

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection

from decisions.api import launch
from decisions.models import DecisionLaunch
from tests.api_helpers import api_client, load_packs, token_secret

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite serialises writers, so there is no race to test",
)


@pytest.mark.django_db(transaction=True)
def test_a_link_followed_twice_at_once_works_once(org, practitioner):
    load_packs()
    response = api_client(token_secret(org)).post(
        "/api/v1/decisions/",
        {"practitioner_email": practitioner.email, "case_reference": "C-1", "initials": "AB"},
        "application/json",
    )
    secret = response.json()["continue_url"].rstrip("/").rsplit("/", 1)[1]
    results: list[str] = []
    start = threading.Barrier(2)

    def follow() -> None:
        start.wait()
        try:
            launch.link_follow(user=practitioner, secret=secret, session=SessionStore())
            results.append("followed")
        except launch.LinkRefused as exc:
            results.append(exc.reason)
        finally:
            connection.close()

    threads = [threading.Thread(target=follow) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["followed", "used"]
    assert DecisionLaunch.objects.get().used_at is not None
