"""`manage.py verify_audit`: passes an intact chain, names the first tampered event and why;
rows past the chain head stop every write; decision records are evidence, checked against the
digest in their submission events."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pgtrigger
import pytest
from django.core.management import CommandError, call_command, execute_from_command_line
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from decisions.audit import AuditAction, record_event, verify_chain
from decisions.audit.canonical import event_hash
from decisions.models import AuditChain, AuditEvent, AuditVerification, DecisionRecord
from tests.conftest import client_for
from tests.factories import answered_decision

pytestmark = pytest.mark.django_db
POSTGRES = connection.vendor == "postgresql"


@pytest.fixture
def five_events(practitioner):
    return [record_event("test.event", actor=practitioner, details={"n": n}) for n in range(5)]


def tamper(sql: str, params: list, table: str = "AuditEvent") -> None:
    """Change an evidence table behind the app's back, as someone with database access could.

    On PostgreSQL the append-only trigger is switched off for this statement only (as a
    database owner could); SQLite has no trigger.
    """
    with pgtrigger.ignore(f"decisions.{table}:append_only"), connection.cursor() as cursor:
        cursor.execute(sql, params)


def verify_fails() -> str:
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit", stdout=StringIO())
    return str(failure.value)


def test_an_intact_chain_verifies(five_events):
    out = StringIO()
    events, chains = AuditEvent.objects.count(), AuditChain.objects.count()
    call_command("verify_audit", stdout=out)
    last = five_events[-1].sequence
    assert f"Audit log intact: {events} events in {chains} chain(s), up to #{last}." in (
        out.getvalue()
    )


def test_an_altered_event_is_named_with_a_hash_mismatch(five_events):
    third = five_events[2].sequence
    tamper("UPDATE decisions_auditevent SET action = 'forged' WHERE sequence = %s", [third])
    message = verify_fails()
    assert f"BROKEN at event #{third}" in message
    assert "hash mismatch" in message


def test_a_deleted_event_is_named_as_a_gap(five_events):
    third, fourth = five_events[2], five_events[3]
    tamper("DELETE FROM decisions_auditevent WHERE sequence = %s", [third.sequence])
    message = verify_fails()
    assert f"BROKEN at event #{fourth.sequence}" in message
    assert f"gap: event 3 of chain {third.chain} is missing" in message


def test_an_event_chained_to_the_wrong_predecessor_is_named(five_events):
    third = AuditEvent.objects.get(pk=five_events[2].pk)
    third.previous_hash = "f" * 64
    tamper(
        "UPDATE decisions_auditevent SET previous_hash = %s, hash = %s WHERE sequence = %s",
        [third.previous_hash, event_hash(third), third.sequence],
    )
    message = verify_fails()
    assert f"BROKEN at event #{third.sequence}" in message
    assert "wrong predecessor" in message


def test_an_altered_event_given_a_fresh_hash_breaks_the_link_to_the_next_one(five_events):
    third = AuditEvent.objects.get(pk=five_events[2].pk)
    third.action = "forged"
    tamper(
        "UPDATE decisions_auditevent SET action = %s, hash = %s WHERE sequence = %s",
        [third.action, event_hash(third), third.sequence],
    )
    message = verify_fails()
    assert f"BROKEN at event #{third.sequence + 1}" in message
    assert f"does not match the hash of event #{third.sequence}" in message


def test_an_event_moved_back_in_time_is_named_as_out_of_order(five_events):
    third = AuditEvent.objects.get(pk=five_events[2].pk)
    third.created_at = five_events[0].created_at - timedelta(days=1)
    tamper(
        "UPDATE decisions_auditevent SET created_at = %s, hash = %s WHERE sequence = %s",
        [third.created_at, event_hash(third), third.sequence],
    )
    message = verify_fails()
    assert f"BROKEN at event #{third.sequence}" in message
    assert "out of order" in message


def test_removing_the_newest_events_is_noticed(five_events):
    last = five_events[-1]
    tamper("DELETE FROM decisions_auditevent WHERE sequence = %s", [last.sequence])
    message = verify_fails()
    assert f"events 5 of chain {last.chain} to 5 of chain {last.chain} are missing" in message
    assert "cut short" in message


def test_the_command_exits_non_zero_when_the_chain_is_broken(five_events, capsys):
    second = five_events[1].sequence
    tamper("UPDATE decisions_auditevent SET role = 'admin' WHERE sequence = %s", [second])
    with pytest.raises(SystemExit) as exit_:
        execute_from_command_line(["manage.py", "verify_audit"])
    assert exit_.value.code == 1
    assert f"event #{second}" in capsys.readouterr().err


def test_the_result_is_kept_for_the_leads_audit_page(five_events):
    call_command("verify_audit", stdout=StringIO())
    result = AuditVerification.objects.get()
    last = five_events[-1].sequence
    checked = AuditEvent.objects.count() - 1  # not its own event
    assert (result.ok, result.checked, result.last_sequence) == (True, checked, last)


def test_running_the_check_is_itself_an_audit_event(five_events):
    call_command("verify_audit", stdout=StringIO())
    event = AuditEvent.objects.get(action="audit.verified")
    assert event.details["ok"] is True
    assert event.sequence == five_events[-1].sequence + 1


def test_a_check_only_run_stores_nothing(five_events):
    before = AuditEvent.objects.count()
    call_command("verify_audit", "--no-record", stdout=StringIO())
    assert not AuditVerification.objects.exists()
    assert AuditEvent.objects.count() == before


def test_the_walk_reads_the_log_in_chunks(five_events):
    check = verify_chain(chunk_size=2)
    assert (check.ok, check.checked) == (True, AuditEvent.objects.count())


# ---- rows past the chain head --------------------------------------------------------------


def forge_event(sequence: int, after: AuditEvent) -> None:
    """A row inserted straight into the table, without moving the chain head."""
    AuditEvent(
        sequence=sequence,
        created_at=after.created_at,
        action="test.forged",
        previous_hash=after.hash,
        hash=f"{sequence:064x}",
        chain=after.chain,
        position=after.position + sequence - after.sequence,
    ).save()


def test_a_row_forged_past_the_head_is_reported(five_events):
    last = five_events[-1]
    forge_event(last.sequence + 1, last)
    message = verify_fails()
    assert f"BROKEN at event #{last.sequence + 1}" in message
    assert "forged or unexplained rows past the chain head" in message


def test_a_check_that_finds_forged_rows_still_keeps_its_result(five_events):
    last = five_events[-1]
    forge_event(last.sequence + 1, last)
    verify_fails()
    result = AuditVerification.objects.get()
    assert (result.ok, result.broken_sequence) == (False, last.sequence + 1)


def test_a_row_forged_far_past_the_head_is_reported_too(five_events):
    last = five_events[-1]
    forge_event(last.sequence + 50, last)
    assert f"BROKEN at event #{last.sequence + 50}" in verify_fails()


def test_moving_the_head_back_leaves_the_newest_events_past_it(five_events):
    # All the application's role could do: it may update the head but delete no event.
    third = five_events[2]
    AuditChain.objects.filter(key=third.chain).update(position=third.position, hash=third.hash)
    message = verify_fails()
    assert f"BROKEN at event #{third.sequence + 1}" in message
    assert "2 event(s) from" in message and "rows past the chain head" in message


def test_a_request_that_meets_a_forged_row_fails_with_the_error_page(practitioner):
    client = client_for(practitioner)  # signing in is an event too: before the forgery
    client.raise_request_exception = False
    head = record_event("test.before", actor=practitioner)
    AuditEvent(
        sequence=head.sequence + 5,
        created_at=head.created_at,
        action="test.forged",
        previous_hash=head.hash,
        hash="f" * 64,
        chain=head.chain,
        position=head.position + 5,
    ).save()
    response = client.post(reverse("start"))
    assert response.status_code == 500
    assert not AuditEvent.objects.filter(action="decision.started").exists()


def test_removing_the_newest_events_and_moving_the_head_back_needs_a_checkpoint_to_be_seen(
    five_events,
):
    # The chain alone cannot tell (tests/test_checkpoints.py shows a checkpoint can).
    fourth = five_events[3]
    tamper("DELETE FROM decisions_auditevent WHERE sequence > %s", [fourth.sequence])
    AuditChain.objects.filter(key=fourth.chain).update(position=fourth.position, hash=fourth.hash)
    assert verify_chain().ok


# ---- decision records against their submission events --------------------------------------


def test_a_decision_record_cannot_be_changed_or_deleted_in_bulk_through_the_orm(practitioner):
    answered_decision(practitioner, "can_share", submit=True)
    records = DecisionRecord.objects.all()
    with pytest.raises(PermissionError):
        records.update(outcome="do_not_share")
    with pytest.raises(PermissionError):
        records.delete()
    assert records.get().outcome == "can_share"


def _raw_sql_refused(sql: str, match: str) -> None:
    with (
        pytest.raises(DatabaseError, match=match),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET LOCAL pgtrigger.ignore = '{}'")  # the test database's flush setting
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(sql)


@pytest.mark.skipif(not POSTGRES, reason="database triggers are PostgreSQL's; SQLite has none")
@pytest.mark.parametrize(
    ("sql", "match"),
    [
        ("UPDATE decisions_decisionrecord SET outcome = 'do_not_share'", "Cannot update"),
        ("DELETE FROM decisions_decisionrecord", "Cannot update or delete"),
        ("TRUNCATE decisions_decisionrecord CASCADE", "Cannot truncate"),
    ],
)
def test_the_database_refuses_raw_sql_that_changes_a_decision_record(practitioner, sql, match):
    answered_decision(practitioner, "can_share", submit=True)
    _raw_sql_refused(sql, match)
    assert DecisionRecord.objects.get().outcome == "can_share"


@pytest.fixture
def submitted(practitioner):
    return answered_decision(practitioner, "can_share", submit=True)


def test_the_submission_event_carries_the_digest_of_the_record(submitted):
    record = submitted.records.get()
    event = AuditEvent.objects.get(action=AuditAction.DECISION_SUBMITTED)
    assert event.details["record_digest"] == record.content_digest()
    assert len(event.details["record_digest"]) == 64


def test_intact_records_are_counted(submitted):
    out = StringIO()
    call_command("verify_audit", "--no-record", stdout=out)
    assert "Decision records matching their submission events: 1." in out.getvalue()


def test_a_changed_decision_record_is_named_by_id_and_reference(submitted):
    record = submitted.records.get()
    tamper(
        "UPDATE decisions_decisionrecord SET outcome = %s WHERE id = %s",
        ["do_not_share", record.pk],
        table="DecisionRecord",
    )
    message = verify_fails()
    assert f"decision record {record.pk} ({submitted.reference} round 1)" in message
    assert "does not match the digest in its submission event" in message
    assert submitted.case_reference not in message  # named without the subject's details


def test_a_changed_answer_in_a_record_is_caught(submitted):
    record = submitted.records.get()
    answers = {**record.answers, "context": {**record.answers["context"], "initials": "ZZ"}}
    tamper(
        "UPDATE decisions_decisionrecord SET answers = %s WHERE id = %s",
        [json.dumps(answers), record.pk],
        table="DecisionRecord",
    )
    assert "does not match the digest" in verify_fails()


def test_renumbering_the_decision_a_record_belongs_to_is_caught(submitted):
    # The working copy is not evidence (the app updates it), but its reference is in the digest.
    submitted.reference = "ISG-1999-000001"
    submitted.save(update_fields=["reference"])
    assert "does not match the digest" in verify_fails()


def second_round(decision) -> DecisionRecord:
    """A copy of the decision's record as round 2, written straight to the table."""
    record = decision.records.get(round=1)
    fields = DecisionRecord._meta.concrete_fields
    copied = {f.attname: getattr(record, f.attname) for f in fields if f.attname != "id"}
    return DecisionRecord.objects.create(**{**copied, "round": 2})


def test_a_record_added_without_a_submission_event_is_named(submitted):
    record = second_round(submitted)
    message = verify_fails()
    assert f"decision record {record.pk} ({submitted.reference} round 2)" in message
    assert "has no submission event" in message


def test_a_removed_record_is_named_by_its_submission_event(submitted):
    event = AuditEvent.objects.get(action=AuditAction.DECISION_SUBMITTED)
    tamper(
        "DELETE FROM decisions_decisionrecord WHERE decision_id = %s",
        [submitted.pk],
        table="DecisionRecord",
    )
    message = verify_fails()
    assert f"BROKEN at event #{event.sequence}" in message
    assert "has no decision record (round 1): the record was removed" in message


def test_records_submitted_before_digests_were_kept_are_reported_as_not_covered(
    submitted, practitioner
):
    second_round(submitted)
    # The event as decision_submit wrote it before digests were kept: the round, no digest.
    record_event(
        AuditAction.DECISION_SUBMITTED,
        actor=practitioner,
        obj=submitted,
        details={"round": 2, "outcome": "can_share", "status": "submitted"},
    )
    out = StringIO()
    call_command("verify_audit", "--no-record", stdout=out)
    assert "submitted before record digests were kept (not covered): 1." in out.getvalue()
    assert "matching their submission events: 1." in out.getvalue()
