"""Reads from a real PostgreSQL streaming standby (decisions.routing), started by the harness
(tests/pgcluster.py): a throwaway primary and a `pg_basebackup -R` standby of it, on their own
ports, for this session only.

For these tests Django's "default" connection points at the harness's primary (migrated once
here) and a "replica" alias at its standby, as DATABASE_URL and DATABASE_REPLICA_URL would in
production; both are put back afterwards. Rows are committed for real (the standby sees only
what the primary committed), in organisations made for each test.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from decisions import routing
from decisions.audit import AuditAction
from decisions.guidance.store import pack_load_files
from decisions.models import AuditEvent, Decision, Export, ExportKind, ExportStatus, Role, Status
from decisions.reports import exports, storage, tasks
from decisions.reports.filters import ReportFilters
from tests.conftest import client_for
from tests.factories import OrganisationFactory, UserFactory, answered_decision
from tests.pgcluster import PgCluster, pg_bin

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="streaming replication is PostgreSQL's: the standby tests run when DATABASE_URL "
        "is PostgreSQL (make test on PostgreSQL); SQLite has no standby",
    ),
    pytest.mark.skipif(
        pg_bin() is None,
        reason="PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) not found: "
        "set ISG_PG_BIN",
    ),
]


@pytest.fixture(scope="session")
def standby_cluster():
    cluster = PgCluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def on_cluster(standby_cluster, django_db_blocker):
    """Point "default" at the harness's primary and add "replica" for its standby."""
    from django.conf import settings

    primary = connections["default"]
    saved = dict(primary.settings_dict)
    with django_db_blocker.unblock():
        primary.close()
        primary.settings_dict.update(
            NAME=standby_cluster.database,
            HOST="127.0.0.1",
            PORT=str(standby_cluster.primary_port),
            USER="postgres",
            PASSWORD="",
            CONN_MAX_AGE=0,
        )
        settings.DATABASES["replica"] = {
            **primary.settings_dict,
            "PORT": str(standby_cluster.standby_port),
            "OPTIONS": {"connect_timeout": 2},
            "TEST": {"MIRROR": "default"},
        }
        ContentType.objects.clear_cache()
        call_command("migrate", verbosity=0, interactive=False)
        pack_load_files(sorted(settings.GUIDANCE_DIR.glob("*.json")))
        standby_cluster.wait_replayed()
        try:
            yield standby_cluster
        finally:
            if standby_cluster.root:
                standby_cluster.resume_replay()
            for alias in ("replica", "default"):
                connections[alias].close()
            del connections["replica"]
            del settings.DATABASES["replica"]
            primary.settings_dict.clear()
            primary.settings_dict.update(saved)
            ContentType.objects.clear_cache()
            routing.reset_replica_state()


@pytest.fixture
def cluster(on_cluster, django_db_blocker):
    """Each test: database access allowed, replay running, the standby reachable again."""
    with django_db_blocker.unblock():
        routing.reset_replica_state()
        on_cluster.resume_replay()
        yield on_cluster
        on_cluster.resume_replay()
        routing.reset_replica_state()


@pytest.fixture
def people(cluster):
    """An organisation of its own for each test, with one person in each role."""
    org = OrganisationFactory(name=f"Standby Agency {uuid.uuid4().hex[:8]}")

    def person(role: str):
        email = f"{uuid.uuid4().hex[:12]}@example.org"
        return UserFactory(organisation=org, role=role, email=email)

    return {
        "org": org,
        "practitioner": person(Role.PRACTITIONER),
        "lead": person(Role.LEAD),
        "manager": person(Role.MANAGER),
    }


def on(alias: str, client, url: str):
    """GET url; returns the response and the SQL the alias ran for it (less the router's
    question to the standby: how far has it replayed?)."""
    with CaptureQueriesContext(connections[alias]) as queries:
        response = client.get(url)
    sql = [q["sql"] for q in queries.captured_queries]
    return response, [q for q in sql if "pg_last_wal_replay_lsn" not in q]


def touching(sql: list[str], table: str) -> list[str]:
    return [q for q in sql if f'"{table}"' in q]


def standby_count(table: str, pk: int, cluster) -> str:
    query = f"SELECT count(*) FROM {table} WHERE id = {int(pk)}"  # noqa: S608 - ours, ints
    return cluster.sql(query, standby=True)


# The reports page counts from the summary table (decisions.report_summaries); an export
# build reads the decisions themselves.
REPORT_PAGE = "decisions_reportsummary"
REPORT = "decisions_decision"
AUDIT = "decisions_auditevent"


# ---- the harness -------------------------------------------------------------------------


def test_the_harness_starts_a_streaming_standby_in_seconds(standby_cluster):
    assert standby_cluster.started_in < 20
    assert standby_cluster.sql("SELECT pg_is_in_recovery()", standby=True) == "t"
    assert standby_cluster.sql("SELECT pg_is_in_recovery()") == "f"


# ---- what goes to the standby ------------------------------------------------------------


def test_a_report_reads_from_the_standby(people, cluster):
    answered_decision(people["practitioner"], "share_without_consent", submit=True)
    cluster.wait_replayed()
    response, sql = on("replica", client_for(people["manager"]), reverse("reports"))
    assert response.status_code == 200
    assert touching(sql, REPORT_PAGE), "the report's figures came from the standby"


def test_the_audit_log_reads_from_the_standby_when_it_has_caught_up(people, cluster):
    client = client_for(people["lead"])
    cluster.wait_replayed()
    response, sql = on("replica", client, reverse("review_audit"))
    assert response.status_code == 200 and touching(sql, AUDIT)


def test_a_paused_standby_serves_others_what_it_has(people, cluster):
    """Someone who wrote nothing may see the standby's slightly older figures: that is the
    point of a standby. Shown by what the paused standby lacks."""
    manager = client_for(people["manager"])
    cluster.wait_replayed()
    cluster.pause_replay()
    answered_decision(people["practitioner"], "share_without_consent", submit=True)
    response, sql = on("replica", manager, reverse("reports"))
    assert response.status_code == 200 and touching(sql, REPORT_PAGE)
    org = int(people["org"].pk)
    query = f"SELECT count(*) FROM decisions_decision WHERE organisation_id = {org}"  # noqa: S608
    assert cluster.sql(query, standby=True) == "0"


def test_other_pages_and_every_write_use_the_primary(people, cluster):
    client = client_for(people["practitioner"])
    cluster.wait_replayed()
    response, sql = on("replica", client, reverse("my_decisions"))
    assert response.status_code == 200 and sql == []
    with CaptureQueriesContext(connections["replica"]) as queries:
        response = client.post(reverse("start"))
    assert response.status_code == 302 and queries.captured_queries == []


# ---- read your own writes, under replication lag -----------------------------------------


def test_a_just_written_decision_is_read_from_the_primary_while_the_standby_is_paused(
    people, cluster
):
    decider = client_for(people["practitioner"])
    cluster.wait_replayed()
    cluster.pause_replay()
    response = decider.post(reverse("start"))
    assert response.status_code == 302
    decision = Decision.objects.get(created_by=people["practitioner"])
    assert standby_count("decisions_decision", decision.pk, cluster) == "0"
    # Never stale: the new draft's first question, not a 404 from a standby without it.
    page = decider.get(response["Location"])
    assert page.status_code == 200
    mine = decider.get(reverse("my_decisions"))
    assert mine.status_code == 200 and str(decision.public_id) in mine.content.decode()


def test_a_leads_approval_shows_in_their_audit_log_while_the_standby_is_paused(people, cluster):
    decision = answered_decision(people["practitioner"], "share_without_consent", submit=True)
    assert decision.status == Status.AWAITING_APPROVAL
    lead = client_for(people["lead"])
    cluster.wait_replayed()
    cluster.pause_replay()
    approved = lead.post(
        reverse("review_approval", args=[decision.public_id]),
        {"outcome": "approved", "comments": ""},
    )
    assert approved.status_code == 302
    decision.refresh_from_db()
    assert decision.status == Status.APPROVED
    event = AuditEvent.objects.filter(action=AuditAction.DECISION_APPROVED).latest("sequence")
    # The standby has not seen the approval ...
    assert standby_count("decisions_auditevent", event.pk, cluster) == "0"
    # ... so the lead's audit log, a standby page, reads the primary and shows it.
    response, sql = on("replica", lead, reverse("review_audit"))
    assert response.status_code == 200 and sql == []
    assert "Decision approved" in response.content.decode()
    # Once the standby has replayed the write, the same page reads from it again.
    cluster.resume_replay()
    cluster.wait_replayed()
    response, sql = on("replica", lead, reverse("review_audit"))
    assert response.status_code == 200 and touching(sql, AUDIT)


def test_a_manager_who_just_wrote_gets_their_report_from_the_primary(people, cluster):
    manager = client_for(people["manager"])
    cluster.wait_replayed()
    cluster.pause_replay()
    exported = manager.post(reverse("report_export_start"), {"kind": "csv"})
    assert exported.status_code == 200
    b"".join(exported.streaming_content)
    event = AuditEvent.objects.filter(action=AuditAction.REPORT_EXPORTED).latest("sequence")
    assert standby_count("decisions_auditevent", event.pk, cluster) == "0"
    assert manager.session[routing.SESSION_KEY]
    response, sql = on("replica", manager, reverse("reports"))
    assert response.status_code == 200 and sql == []


# ---- a standby that is down --------------------------------------------------------------


def test_a_standby_that_is_down_means_the_primary(people, cluster):
    answered_decision(people["practitioner"], "share_without_consent", submit=True)
    manager = client_for(people["manager"])
    connections["replica"].close()
    cluster.stop_standby()
    try:
        response, sql = on("default", manager, reverse("reports"))
        assert response.status_code == 200 and touching(sql, REPORT_PAGE)
        # Not asked again for a while: the next page does not wait for a connect timeout.
        assert routing.replica_lsn() is None
    finally:
        cluster.start_standby()
        routing.reset_replica_state()
    cluster.wait_replayed()
    response, sql = on("replica", manager, reverse("reports"))
    assert response.status_code == 200 and touching(sql, REPORT_PAGE)


# ---- background export builds ------------------------------------------------------------


@pytest.fixture
def queued_export(people, cluster, settings, tmp_path):
    """A manager's export, queued for the worker (which these tests then run by hand)."""
    settings.ISG_EXPORTS_DIR = tmp_path / "exports"
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    answered_decision(people["practitioner"], "share_with_consent", submit=True)

    def queue():
        filters = ReportFilters(
            date_from=timezone.localdate() - timedelta(days=30),
            date_to=timezone.localdate(),
            organisation=people["org"],
        )
        return exports.export_queue(
            user=people["manager"], filters=filters, kind=ExportKind.CSV, count=1
        )

    return queue


def test_a_background_export_is_built_from_the_standby(queued_export, cluster):
    export = queued_export()
    with CaptureQueriesContext(connections["replica"]) as queries:
        assert tasks.build_export.call(export.pk) == "ready"
    assert touching([q["sql"] for q in queries.captured_queries], REPORT)
    export.refresh_from_db()
    assert export.status == ExportStatus.READY and export.size > 0


def test_a_background_export_waits_for_a_lagging_standby_then_reads_the_primary(
    queued_export, cluster, monkeypatch
):
    monkeypatch.setattr(tasks, "REPLICA_WAIT_SECONDS", 0.3)
    cluster.wait_replayed()
    cluster.pause_replay()
    export = queued_export()  # its row and the decisions' latest state: not on the standby
    with CaptureQueriesContext(connections["replica"]) as queries:
        assert tasks.build_export.call(export.pk) == "ready"
    assert not touching([q["sql"] for q in queries.captured_queries], REPORT)
    body = storage.export_path(Export.objects.get(pk=export.pk)).read_text(encoding="utf-8-sig")
    assert len(body.strip().splitlines()) == 2  # the header and the one decision, from the primary


def test_a_standby_that_fails_during_a_page_means_that_page_from_the_primary(
    people, cluster, monkeypatch
):
    """Fault injected: the standby answers the router's question, then is gone."""
    answered_decision(people["practitioner"], "share_without_consent", submit=True)
    manager = client_for(people["manager"])
    cluster.wait_replayed()
    monkeypatch.setattr(routing, "replica_lsn", lambda: "FFFFFFF/0")  # "caught up"
    connections["replica"].close()
    cluster.stop_standby()
    try:
        response, sql = on("default", manager, reverse("reports"))
        assert response.status_code == 200 and touching(sql, REPORT_PAGE)
        assert b"Decisions" in response.content
    finally:
        cluster.start_standby()
        routing.reset_replica_state()
