"""The standby router's choices (decisions.routing), without a standby: which reads may go to
it, which never do, and which pages ask for it. The real standby: tests/test_standby.py."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.db import transaction
from django.test import RequestFactory
from django_tasks_db.models import DBTaskResult

from decisions import routing
from decisions.models import AuditEvent, Decision, DecisionRecord, Export, User

router = routing.ReplicaRouter()


@pytest.fixture
def standby_reads():
    """Inside replica_reads() with a standby that has caught up."""
    token = routing._reading_replica.set(True)
    yield
    routing._reading_replica.reset(token)


def test_reads_go_to_the_primary_unless_a_page_asks_for_the_standby():
    for model in (Decision, AuditEvent, User, Export):
        assert router.db_for_read(model) == "default"


@pytest.mark.parametrize("model", [Decision, DecisionRecord, AuditEvent])
def test_report_and_audit_data_is_read_from_the_standby_when_asked(standby_reads, model):
    assert router.db_for_read(model) == "replica"


@pytest.mark.parametrize("model", [User, Session, Export, DBTaskResult])
def test_who_someone_is_and_their_exports_and_tasks_are_always_read_from_the_primary(
    standby_reads, model
):
    assert router.db_for_read(model) == "default"


@pytest.mark.django_db
def test_reads_inside_a_write_transaction_stay_on_the_primary(standby_reads):
    with transaction.atomic():
        assert router.db_for_read(AuditEvent) == "default"


@pytest.mark.parametrize("model", [Decision, AuditEvent, Session])
def test_every_write_goes_to_the_primary(standby_reads, model):
    assert router.db_for_write(model) == "default"


def test_nothing_is_migrated_on_the_standby():
    assert router.allow_migrate("replica", "decisions") is False
    assert router.allow_migrate("default", "decisions") is True


def test_without_a_replica_alias_replica_reads_uses_the_primary(monkeypatch):
    from django.conf import settings

    monkeypatch.delitem(settings.DATABASES, "replica", raising=False)
    assert not routing.replica_configured()
    with routing.replica_reads() as using:
        assert using is False
        assert router.db_for_read(Decision) == "default"


def test_the_standby_is_used_only_once_it_has_replayed_the_readers_last_write(monkeypatch):
    monkeypatch.setattr(routing, "replica_configured", lambda: True)
    monkeypatch.setattr(routing, "replica_lsn", lambda: "0/3000060")
    with routing.replica_reads(min_lsn="0/3000000") as using:
        assert using and router.db_for_read(Decision) == "replica"
    with routing.replica_reads(min_lsn="0/3000061") as using:
        assert not using and router.db_for_read(Decision) == "default"
    with routing.replica_reads(min_lsn=routing.UNREACHABLE_LSN) as using:
        assert not using
    monkeypatch.setattr(routing, "replica_lsn", lambda: None)  # unreachable, or not a standby
    with routing.replica_reads() as using:
        assert not using


def test_wal_positions_compare_as_numbers():
    assert routing.lsn_value("1/0") > routing.lsn_value("0/FFFFFFFF")
    assert routing.lsn_value("0/A") == 10


@pytest.mark.parametrize(
    ("path", "standby"),
    [
        ("/reports/", True),
        ("/reports/decisions/", True),
        ("/review/audit/", True),
        ("/review/audit/export.csv", True),
        ("/decisions/", False),
        ("/review/approvals/", False),
        ("/review/records/00000000-0000-4000-8000-000000000000/access/", False),
        ("/reports/exports/", False),
        ("/no-such-page/", False),
    ],
)
def test_the_pages_that_read_from_the_standby(path, standby):
    request = RequestFactory().get(path)
    assert routing.ReplicaReadsMiddleware._replica_page(request) is standby


def test_a_post_to_a_standby_page_reads_the_primary(monkeypatch):
    monkeypatch.setattr(routing, "replica_configured", lambda: True)
    monkeypatch.setattr(routing, "replica_lsn", lambda: "F/0")
    middleware = routing.ReplicaReadsMiddleware(lambda request: None)
    request = RequestFactory().post("/reports/")
    with middleware._reads(request, {}) as using:
        assert not using
    with middleware._reads(RequestFactory().get("/reports/"), {}) as using:
        assert using


def test_a_request_whose_only_write_is_an_audit_append_counts_as_a_write():
    # On PostgreSQL an audit append is one statement opening with a CTE (decisions.audit.record).
    from decisions.routing import _WriteSpy

    def execute(sql, params, many, context):
        return None

    for sql, wrote in (
        ("WITH head AS (SELECT 1) INSERT INTO decisions_auditevent ...", True),
        ("  insert into x values (1)", True),
        ('SELECT "decisions_decision"."id" FROM "decisions_decision"', False),
    ):
        spy = _WriteSpy()
        spy(execute, sql, None, False, None)
        assert spy.wrote is wrote, sql
