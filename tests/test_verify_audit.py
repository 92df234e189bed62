"""`manage.py verify_audit`: passes an intact chain, names the first tampered event and why."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pgtrigger
import pytest
from django.core.management import CommandError, call_command, execute_from_command_line
from django.db import connection

from decisions.audit import record_event, verify_chain
from decisions.audit.record import event_hash
from decisions.models import AuditEvent, AuditVerification

pytestmark = pytest.mark.django_db


@pytest.fixture
def five_events(practitioner):
    return [record_event("test.event", actor=practitioner, details={"n": n}) for n in range(5)]


def tamper(sql: str, params: list) -> None:
    """Change the audit table behind the app's back, as someone with database access could.

    On PostgreSQL the append-only trigger is switched off for this statement only (as a
    database owner could); SQLite has no trigger.
    """
    with pgtrigger.ignore("decisions.AuditEvent:append_only"), connection.cursor() as cursor:
        cursor.execute(sql, params)


def verify_fails() -> str:
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit", stdout=StringIO())
    return str(failure.value)


def test_an_intact_chain_verifies(five_events):
    out = StringIO()
    call_command("verify_audit", stdout=out)
    last = five_events[-1].sequence
    assert f"Audit log intact: {last} events, #1 to #{last}" in out.getvalue()


def test_an_altered_event_is_named_with_a_hash_mismatch(five_events):
    third = five_events[2].sequence
    tamper("UPDATE decisions_auditevent SET action = 'forged' WHERE sequence = %s", [third])
    message = verify_fails()
    assert f"BROKEN at event #{third}" in message
    assert "hash mismatch" in message


def test_a_deleted_event_is_named_as_a_gap(five_events):
    third = five_events[2].sequence
    tamper("DELETE FROM decisions_auditevent WHERE sequence = %s", [third])
    message = verify_fails()
    assert f"BROKEN at event #{third}" in message
    assert f"gap: event #{third} is missing" in message


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
    last = five_events[-1].sequence
    tamper("DELETE FROM decisions_auditevent WHERE sequence = %s", [last])
    message = verify_fails()
    assert f"BROKEN at event #{last}" in message
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
    assert (result.ok, result.checked, result.last_sequence) == (True, last, last)


def test_running_the_check_is_itself_an_audit_event(five_events):
    call_command("verify_audit", stdout=StringIO())
    event = AuditEvent.objects.get(action="audit.verified")
    assert event.details["ok"] is True
    assert event.sequence == five_events[-1].sequence + 1


def test_a_check_only_run_stores_nothing(five_events):
    call_command("verify_audit", "--no-record", stdout=StringIO())
    assert not AuditVerification.objects.exists()
    assert AuditEvent.objects.count() == five_events[-1].sequence


def test_the_walk_reads_the_log_in_chunks(five_events):
    check = verify_chain(chunk_size=2)
    assert (check.ok, check.checked) == (True, five_events[-1].sequence)
