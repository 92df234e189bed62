"""SQL statements per wizard step (issue 12): a regression that adds queries fails here.

Counted with CaptureQueriesContext around one GET and one POST of a question page, leaving
out what every signed-in request costs whatever the page (the session and the user) and the
SAVEPOINT/RELEASE pairs that only exist because a test runs inside a transaction (in
production the same atomic blocks are BEGIN ... COMMIT, which Django does not log as SQL).

Before issue 12 the counts were the same (GET 2, POST 9) but every request also fetched and
decoded the guidance pack's 60 kB JSON body; now GuidancePack.pack parses a pack once per
process by digest and no wizard read selects `data` (checked below).

Goals: GET <= 3 (met: 2). POST <= 8 (met: 4 on PostgreSQL, 6 on SQLite): the decision read,
the row lock, the update and the audit event: one statement on PostgreSQL (the chain head
locked, the event hashed and inserted, the head moved on: decisions.audit.record), three on
SQLite (the head with the newest sequence number and a check for rows past it, the insert,
the head update). services._lock_editable reuses the pack already read rather than reading it
again.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from decisions import services
from decisions.models import Decision
from decisions.models import guidance as guidance_models
from tests.conftest import client_for
from tests.factories import ROUTES, as_post

pytestmark = pytest.mark.django_db

GET_STATEMENTS = 2  # the decision (with organisation, decider and pack head), the organisation
POST_STATEMENTS = 4 if connection.vendor == "postgresql" else 6  # the audit chains' area
GET_GOAL, POST_GOAL = 3, 8

SESSION_AND_AUTH_TABLES = ("django_session", "decisions_user")
MAIN_TABLE = re.compile(r'^(?:SELECT .*? FROM|UPDATE|INSERT INTO|DELETE FROM) "(\w+)"', re.S)


def main_table(sql: str) -> str:
    found = MAIN_TABLE.match(sql)
    return found.group(1) if found else ""


def app_statements(context: CaptureQueriesContext) -> list[str]:
    """The statements of the page itself (not session/auth, not test-only savepoints)."""
    statements = [q["sql"] for q in context.captured_queries]
    return [
        sql
        for sql in statements
        if not sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT"))
        and main_table(sql) not in SESSION_AND_AUTH_TABLES
        and not main_table(sql).startswith(("axes_", "otp_"))
    ]


@pytest.fixture
def second_step(practitioner):
    """A draft with its first question answered, and the page of the second question."""
    decision = services.decision_start(user=practitioner)
    (first, values), (second, second_values) = ROUTES["share_with_consent"][:2]
    services.decision_answer(decision=decision, user=practitioner, step_id=first, values=values)
    return decision, reverse("step", args=[decision.public_id, second]), second_values


def measured(client, method: str, url: str, data: dict | None = None) -> list[str]:
    with CaptureQueriesContext(connection) as context:
        response = getattr(client, method)(url, data) if data else getattr(client, method)(url)
    assert response.status_code in (200, 302), response.content[:500]
    return app_statements(context)


def test_a_step_get_makes_few_statements(practitioner, second_step):
    decision, url, _ = second_step
    client = client_for(practitioner)
    client.get(url)  # the first request of a session may differ (e.g. last-activity stamps)
    statements = measured(client, "get", url)
    assert len(statements) <= GET_GOAL
    assert len(statements) == GET_STATEMENTS, "\n".join(statements)


def test_a_step_post_makes_few_statements(practitioner, second_step):
    decision, url, values = second_step
    client = client_for(practitioner)
    client.get(url)
    statements = measured(client, "post", url, as_post(values))
    assert len(statements) <= POST_GOAL
    assert len(statements) == POST_STATEMENTS, "\n".join(statements)
    assert Decision.objects.get(pk=decision.pk).answers.keys() >= {url.rstrip("/").split("/")[-1]}


def test_wizard_reads_never_select_the_pack_body_once_it_is_parsed(practitioner, second_step):
    decision, url, values = second_step
    client = client_for(practitioner)
    client.get(url)
    get = measured(client, "get", url)
    assert not [sql for sql in get if '"decisions_guidancepack"."data"' in sql]


def test_a_cold_cache_reads_the_pack_body_in_one_query(practitioner, second_step, monkeypatch):
    decision, url, _ = second_step
    client = client_for(practitioner)
    client.get(url)
    monkeypatch.setattr(guidance_models, "_parsed", {})  # a fresh process
    get = measured(client, "get", url)
    assert len([sql for sql in get if '"decisions_guidancepack"."data"' in sql]) == 1
    assert len(get) == GET_STATEMENTS + 1
