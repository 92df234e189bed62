"""The partitioned audit table and archiving old months (issue 13), on PostgreSQL.

Months are made by running the app's own services with the clock set back: the events land
in their month's partition, chained as any other. Archiving moves a month to the
`audit_archive` schema with a signed manifest and a file; verification then starts each chain
where its archived part ends, and records sealed by archived events still verify.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import UTC, date, datetime
from io import StringIO

import pgtrigger
import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.utils import timezone

from decisions.audit import AuditAction, record_event, verify_chain
from decisions.audit.archive import ArchiveRefused, archive_month
from decisions.audit.archived import check_manifests
from decisions.audit.holds import place_hold, release_hold
from decisions.audit.partitions import (
    ARCHIVE_SCHEMA,
    DEFAULT,
    PartitionRefused,
    close_sql,
    ensure_partitions,
    is_partitioned,
    partition_name,
    partitions,
)
from decisions.models import AuditArchive, AuditEvent
from decisions.verification import verification_code, verify_code
from tests.conftest import clock
from tests.factories import answered_decision

pytestmark = pytest.mark.django_db
KEY = "k" * 40
TODAY = date(2026, 11, 30)
JANUARY, FEBRUARY = date(2024, 1, 1), date(2024, 2, 1)


@pytest.fixture(autouse=True)
def postgres_only(settings):
    if connection.vendor != "postgresql":
        pytest.skip("the audit table is partitioned on PostgreSQL only; SQLite keeps one table")
    settings.ISG_CHECKPOINT_KEY = KEY
    settings.ISG_AUDIT_ARCHIVE_AFTER_MONTHS = 24


def where(event: AuditEvent) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM decisions_auditevent WHERE id = %s", [event.pk]
        )
        return cursor.fetchone()[0]


@pytest.fixture
def history(org, practitioner):
    """Events in January and February 2024 for an organisation and the platform, one record
    submitted in January, and events this month."""
    for month in (JANUARY, FEBRUARY):
        ensure_partitions(0, today=month)
    with clock(datetime(2024, 1, 15, 10, tzinfo=UTC)):
        decision = answered_decision(practitioner, "can_share", submit=True)
        record_event(AuditAction.AUDIT_VIEWED, actor=practitioner)
        record_event(AuditAction.SIGN_IN_FAILED, actor=None, actor_email="x@example.org")
    with clock(datetime(2024, 2, 10, 9, tzinfo=UTC)):
        record_event(AuditAction.AUDIT_VIEWED, actor=practitioner)
        record_event(AuditAction.SIGN_IN_FAILED, actor=None, actor_email="y@example.org")
    record_event(AuditAction.AUDIT_VIEWED, actor=practitioner)
    return decision


def test_the_audit_table_is_partitioned_by_month_and_events_land_in_theirs(history):
    assert is_partitioned()
    names = [p.name for p in partitions()]
    assert names[-1] == DEFAULT
    assert partition_name(JANUARY) in names and partition_name(FEBRUARY) in names
    assert partition_name(timezone.now().date().replace(day=1)) in names
    january = AuditEvent.objects.filter(created_at__lt=datetime(2024, 2, 1, tzinfo=UTC))
    assert january.count() >= 3
    assert {where(e) for e in january} == {partition_name(JANUARY)}
    newest = AuditEvent.objects.order_by("-sequence").first()
    assert where(newest) == partition_name(timezone.now().date().replace(day=1))
    # One chain across three months: it verifies as a whole.
    assert verify_chain().ok


def test_a_chain_position_is_unique_within_a_month(history):
    event = AuditEvent.objects.filter(chain__startswith="org-").order_by("position").first()
    with pytest.raises(DatabaseError), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO decisions_auditevent (sequence, created_at, chain, position, actor_email,"
            " role, action, object_kind, object_id, reference, user_agent, request_id, details,"
            " previous_hash, hash) SELECT sequence + 100000, created_at, chain, position, '', '',"
            " action, '', '', '', '', '', '{}', previous_hash, md5(hash) FROM decisions_auditevent"
            " WHERE id = %s",
            [event.pk],
        )


def test_months_ahead_are_made_and_the_check_passes(history):
    created = ensure_partitions(3)
    assert all(name.startswith("decisions_auditevent_y") for name in created)
    out = StringIO()
    call_command("audit_partitions", "--check", stdout=out)
    assert "Partitions are in order." in out.getvalue()


def test_an_event_with_no_month_partition_goes_to_default_and_the_check_says_so(history):
    with clock(datetime(2031, 5, 1, tzinfo=UTC)):
        event = record_event(AuditAction.AUDIT_VIEWED, actor=None)
    assert where(event) == DEFAULT
    with pytest.raises(CommandError, match="1 event\\(s\\) in the default partition"):
        call_command("audit_partitions", "--check", stdout=StringIO())


def test_a_partition_is_reached_through_its_parent_only():
    name = partition_name(timezone.now().date().replace(day=1))
    with connection.cursor() as cursor:
        cursor.execute(f"GRANT SELECT, UPDATE ON {name} TO PUBLIC")
        cursor.execute(close_sql(name))
        cursor.execute("SELECT relacl::text FROM pg_class WHERE oid = to_regclass(%s)", [name])
        acl = cursor.fetchone()[0] or ""
    assert "=r" not in acl and "=w" not in acl  # PUBLIC's entry ("=rw/owner") is gone


def _archive(month=JANUARY, **kwargs):
    return archive_month(month, today=TODAY, **kwargs)


def test_archiving_a_month_detaches_it_with_a_signed_manifest_and_a_file(history, org, tmp_path):
    before = AuditEvent.objects.count()
    january = list(
        AuditEvent.objects.filter(created_at__lt=datetime(2024, 2, 1, tzinfo=UTC)).order_by(
            "sequence"
        )
    )
    archive = _archive(directory=tmp_path / "archive")

    assert archive.table == f"{ARCHIVE_SCHEMA}.{partition_name(JANUARY)}"
    assert archive.events == len(january)
    # The live table no longer has them (plus the archive's own event).
    assert AuditEvent.objects.count() == before - len(january) + 1
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {archive.table}")  # noqa: S608
        assert cursor.fetchone()[0] == len(january)
    # The manifest names each chain's first and last event, and is signed.
    chains = archive.manifest["chains"]
    assert f"org-{org.pk}" in chains
    assert chains[f"org-{org.pk}"]["first"]["position"] == 1
    assert check_manifests() == (1, "")
    # The file: every row, in sequence order, readable by its owner only, digest as signed.
    path = tmp_path / "archive" / "audit-2024-01.jsonl.gz"
    assert archive.file == str(path) and oct(path.stat().st_mode & 0o777) == "0o600"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == archive.file_sha256
    assert archive.manifest["file_sha256"] == archive.file_sha256
    rows = [json.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines()]
    assert [r["hash"] for r in rows] == [e.hash for e in january]
    # Recorded in the log itself.
    event = AuditEvent.objects.get(action=AuditAction.AUDIT_ARCHIVED)
    assert event.details["month"] == "2024-01" and event.details["events"] == len(january)
    # And the log still verifies: each chain continues from its archived part; the record
    # submitted in January is checked against its archived submission event.
    check = verify_chain()
    assert check.ok, check.problem
    assert check.records_checked == 1


def test_a_printed_record_sealed_in_an_archived_month_still_verifies(history, practitioner):
    _archive()
    record = history.records.get()
    result = verify_code(practitioner, verification_code(record.content_digest()))
    assert result.matches and result.record == record


def test_archived_rows_cannot_be_changed_even_past_the_app_triggers(history):
    archive = _archive()
    with pgtrigger.ignore("decisions.AuditEvent:append_only"):
        for statement in (
            f"UPDATE {archive.table} SET actor_email = 'someone@else.org'",  # noqa: S608
            f"DELETE FROM {archive.table}",  # noqa: S608
        ):
            with (
                pytest.raises(DatabaseError, match="archived audit events cannot be changed"),
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                cursor.execute(statement)
    with connection.cursor() as cursor:  # TRUNCATE is refused by a statement trigger
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass(%s) AND NOT tgisinternal "
            "ORDER BY tgname",
            [archive.table],
        )
        assert [name for (name,) in cursor.fetchall()] == [
            "archived_no_truncate",
            "archived_read_only",
        ]


def test_a_changed_manifest_breaks_verification(history):
    archive = _archive()
    with pgtrigger.ignore("decisions.AuditArchive:append_only"), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE decisions_auditarchive SET manifest = jsonb_set(manifest, '{events}', '1') "
            "WHERE id = %s",
            [archive.pk],
        )
    check = verify_chain()
    assert not check.ok
    assert "archived month 2024-01 does not match its signature" in check.problem


def test_months_are_archived_oldest_first(history):
    with pytest.raises(ArchiveRefused, match="archive January 2024 first"):
        _archive(FEBRUARY)
    _archive(JANUARY)
    _archive(FEBRUARY)
    assert list(AuditArchive.objects.values_list("month", flat=True)) == [JANUARY, FEBRUARY]
    # The second manifest names the first; the chains run on through both, then live.
    first, second = AuditArchive.objects.order_by("month")
    assert second.manifest["previous_manifest"]
    assert verify_chain().ok


def test_recent_months_are_not_archived(history):
    with pytest.raises(ArchiveRefused, match="too recent"):
        archive_month(JANUARY, today=date(2025, 6, 1))
    month = timezone.now().date().replace(day=1)
    with pytest.raises(ArchiveRefused):
        archive_month(month, today=TODAY)


def test_a_legal_hold_stops_archiving_until_released(history, org, admin_user):
    hold = place_hold(actor=admin_user, organisation=org, reason="Case review 2024/3")
    with pytest.raises(ArchiveRefused, match=f"legal hold.*{org.name}"):
        _archive()
    assert partition_name(JANUARY) in [p.name for p in partitions()]
    assert not AuditArchive.objects.exists()
    release_hold(actor=admin_user, hold=hold, reason="Review concluded")
    assert _archive().events >= 3


def test_a_hold_on_another_organisation_does_not_stop_it(history, other_org, admin_user):
    place_hold(actor=admin_user, organisation=other_org, reason="Inquiry")
    assert _archive().month == JANUARY


def test_no_key_no_archive(history, settings):
    settings.ISG_CHECKPOINT_KEY = ""
    with pytest.raises(CommandError, match="ISG_CHECKPOINT_KEY"):
        call_command("archive_audit", "--month", "2024-01", stdout=StringIO())
    assert partition_name(JANUARY) in [p.name for p in partitions()]


def test_the_command_archives_and_lists(history, tmp_path):
    out = StringIO()
    with clock(datetime(2026, 11, 30, 12, tzinfo=UTC)):
        call_command("archive_audit", "--month", "2024-01", "--to", str(tmp_path), stdout=out)
    assert "Archived January 2024" in out.getvalue()
    out = StringIO()
    call_command("archive_audit", "--list", stdout=out)
    assert "2024-01:" in out.getvalue() and "Oldest live month: 2024-02" in out.getvalue()
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("archive_audit", "--month", "January", stdout=StringIO())
    with pytest.raises(CommandError, match="already archived"):
        call_command("archive_audit", "--month", "2024-01", stdout=StringIO())


def test_events_of_the_month_left_in_the_default_partition_stop_it(history, other_org):
    # An event from a month that never had a partition (December 2023: the first event of an
    # organisation's chain) sits in the default partition; archiving January would leave it
    # behind, so it is refused.
    with clock(datetime(2023, 12, 31, 23, tzinfo=UTC)):
        event = record_event(AuditAction.AUDIT_VIEWED, actor=None, organisation=other_org)
    assert where(event) == DEFAULT
    with pytest.raises(ArchiveRefused, match="default partition"):
        _archive()


def test_the_audit_pages_say_which_months_are_archived(history, lead):
    from django.urls import reverse

    from tests.conftest import client_for

    client = client_for(lead)
    assert "have been archived" not in client.get(reverse("review_audit")).content.decode()
    _archive()
    page = client.get(reverse("review_audit")).content.decode()
    assert "Events before February 2024 have been archived" in page


def test_checkpoints_naming_archived_events_still_verify(history, tmp_path, settings):
    from decisions.audit.checkpoints import checkpoint_file
    from decisions.audit.verify import audit_checkpoint

    settings.ISG_CHECKPOINT_DIR = str(tmp_path / "checkpoints")
    audit_checkpoint()  # names January's events as heads of some chains
    _archive()
    check = verify_chain(checkpoints=checkpoint_file())
    assert check.ok, check.problem
    assert check.checkpoints_checked == 1
    audit_checkpoint()  # and a new one can be taken
    assert verify_chain(checkpoints=checkpoint_file()).checkpoints_checked == 2


def test_a_decision_with_rounds_either_side_of_the_archive_verifies(org, practitioner, lead):
    from decisions import services, signoff

    ensure_partitions(0, today=JANUARY)
    with clock(datetime(2024, 1, 15, 10, tzinfo=UTC)):
        decision = answered_decision(practitioner, "share_without_consent", submit=True)
        signoff.decision_return(decision=decision, user=lead, comments="Say why it is urgent.")
    decision.refresh_from_db()
    services.decision_submit(decision=decision, user=practitioner)  # round 2, this month
    assert decision.records.count() == 2
    _archive()
    check = verify_chain()
    assert check.ok, check.problem
    assert check.records_checked == 2


def test_a_record_removed_after_its_month_was_archived_is_noticed(history):
    record = history.records.get()
    _archive()
    with pgtrigger.ignore("decisions.DecisionRecord:append_only"), connection.cursor() as cursor:
        cursor.execute("DELETE FROM decisions_decisionrecord WHERE id = %s", [record.pk])
    check = verify_chain()
    assert not check.ok
    assert "archived submission event" in check.problem and "was removed" in check.problem


def test_a_reader_of_the_live_log_can_read_the_archived_months(history):
    with connection.cursor() as cursor:
        cursor.execute("DROP ROLE IF EXISTS isg_test_reader")
        cursor.execute("CREATE ROLE isg_test_reader")
        cursor.execute("GRANT SELECT ON decisions_auditevent TO isg_test_reader")
    archive = _archive()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL ROLE isg_test_reader")
        cursor.execute(f"SELECT count(*) FROM {archive.table}")  # noqa: S608
        assert cursor.fetchone()[0] == archive.events
        cursor.execute("RESET ROLE")


def test_without_the_key_verification_says_so_instead_of_failing(history, settings):
    _archive()
    settings.ISG_CHECKPOINT_KEY = ""
    check = verify_chain()
    assert not check.ok and "without ISG_CHECKPOINT_KEY" in check.problem


def test_a_missing_archived_month_is_noticed(history):
    _archive(JANUARY)
    _archive(FEBRUARY)
    with pgtrigger.ignore("decisions.AuditArchive:append_only"), connection.cursor() as cursor:
        cursor.execute("DELETE FROM decisions_auditarchive WHERE month = %s", [JANUARY])
    check = verify_chain()
    assert not check.ok and "does not follow the month archived before it" in check.problem


def test_a_month_stuck_in_default_does_not_stop_the_months_after_it(other_org):
    # Events of a month with no partition went to the default partition...
    with clock(datetime(2031, 5, 10, tzinfo=UTC)):
        record_event(AuditAction.AUDIT_VIEWED, actor=None, organisation=other_org)
    # ...so that month cannot be made, but the ones after it are, and the refusal names it.
    with pytest.raises(PartitionRefused, match="May 2031") as refused:
        ensure_partitions(2, today=date(2031, 5, 1))
    assert "made 2 partition(s)" in str(refused.value)
    names = [p.name for p in partitions()]
    assert "decisions_auditevent_y2031m06" in names and "decisions_auditevent_y2031m07" in names
