"""Exports (decisions.reports: exports, documents, tasks): the CSV parsed with the csv module,
the PDF report opened with pypdf, the zip of record PDFs, and long exports run as background
tasks. (A partnership manager's aggregates: test_export_partnership.py; export files kept
private and deleted: test_export_files.py.)"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import replace
from datetime import date, datetime

import pytest
from django.core.management import call_command
from django_tasks_db.management.commands import db_worker
from pypdf import PdfReader

from decisions.models import AuditEvent, Decision, Export, ExportKind, ExportStatus, Role, Status
from decisions.reports import documents, exports, storage, tasks
from decisions.reports.filters import counted_decisions
from tests.factories import answered_decision
from tests.reports_data import (  # noqa: F401 - fixed_set is a fixture
    PERIOD,
    ReportDecisionFactory,
    fixed_set,
    utc,
)

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture(autouse=True)
def export_files(settings, tmp_path):
    """Finished exports go to a temporary folder; tasks run at once unless a test says not."""
    settings.ISG_EXPORTS_DIR = tmp_path / "exports"
    settings.TASKS = IMMEDIATE
    return settings.ISG_EXPORTS_DIR


@pytest.fixture
def decisions(org, other_org, practitioner, lead):
    return fixed_set(org, other_org, practitioner, lead)


@pytest.fixture
def own(manager):
    return replace(PERIOD, organisation=manager.organisation)


def csv_text(decisions_qs) -> str:
    return b"".join(documents.csv_chunks(decisions_qs)).decode()


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def own_csv(manager, filters) -> list[dict[str, str]]:
    return parse(csv_text(counted_decisions(manager, filters)))


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


# ---- CSV --------------------------------------------------------------------------------


def test_the_csv_starts_with_a_utf8_byte_order_mark_for_excel(decisions, manager, own):
    first = next(iter(documents.csv_chunks(counted_decisions(manager, own), aggregate_only=False)))
    assert first.startswith("\ufeff".encode())


def test_the_csv_has_one_row_per_counted_decision(decisions, manager, own):
    rows = own_csv(manager, own)
    assert sorted((r["Reference"], r["Version"]) for r in rows) == sorted(
        (d.reference, str(d.version)) for d in decisions.values()
    )


def test_the_csv_has_the_recorded_fields_as_columns(decisions, manager, own):
    header = next(csv.reader(io.StringIO(own_csv_text(manager, own))))
    assert header == [
        "Reference", "Version", "Case reference", "Organisation", "Status", "Outcome",
        "Direction", "Concern level", "Purposes", "Lawful reasons", "UK GDPR Article 6 basis",
        "Special category condition", "Consent", "Recipient organisation", "Method",
        "Share date", "Submitted at (UK time)", "Decided by",
        "Needs sign-off by a safeguarding lead", "Signed off at (UK time)",
    ]  # fmt: skip


def own_csv_text(manager, filters) -> str:
    return csv_text(counted_decisions(manager, filters)).removeprefix("\ufeff")


def row_of(rows, decision: Decision) -> dict[str, str]:
    return next(
        r
        for r in rows
        if (r["Reference"], r["Version"]) == (decision.reference, str(decision.version))
    )


def test_a_csv_row_carries_the_decisions_answers_in_words(decisions, manager, own):
    row = row_of(own_csv(manager, own), decisions[6])
    assert {k: row[k] for k in ("Status", "Outcome", "Direction", "Lawful reasons",
                                "UK GDPR Article 6 basis", "Recipient organisation")} == {
        "Status": "Approved",
        "Outcome": "Share without consent",
        "Direction": "Response to a request",
        "Lawful reasons": "Public interest: a child is suffering, or at risk of, significant "
        "harm; The law requires me to share, or a court has ordered it",
        "UK GDPR Article 6 basis": "Legal obligation: Article 6(1)(c)",
        "Recipient organisation": "Leicestershire Police",
    }  # fmt: skip


def test_csv_times_are_iso_8601_in_uk_time_with_the_offset_and_dates_iso(decisions, manager, own):
    # Submitted 09:00 UTC and signed off 13:00 UTC on 12 August: 10:00 and 14:00 BST (+01:00).
    row = row_of(own_csv(manager, own), decisions[3])
    assert (row["Submitted at (UK time)"], row["Signed off at (UK time)"], row["Share date"]) == (
        "2026-08-12T10:00:00+01:00",
        "2026-08-12T14:00:00+01:00",
        "2026-11-20",
    )


def test_a_csv_time_names_the_same_moment_as_the_database(decisions, manager, own):
    rows = own_csv(manager, own)
    for decision in decisions.values():
        written = datetime.fromisoformat(row_of(rows, decision)["Submitted at (UK time)"])
        assert written.utcoffset() is not None
        assert written == decision.submitted_at


def test_a_csv_time_just_after_midnight_uk_time_keeps_its_uk_date(decisions, manager, own):
    # 31 July 23:30 UTC is 00:30 on 1 August in the UK: the day the report counts it on.
    row = row_of(own_csv(manager, own), decisions[14])
    assert row["Submitted at (UK time)"] == "2026-08-01T00:30:00+01:00"


def test_a_winter_csv_time_has_a_zero_offset(org, practitioner, manager):
    ReportDecisionFactory(
        organisation=org, created_by=practitioner, submitted_at=utc(2026, 1, 15, 9, 30)
    )
    winter = replace(PERIOD, date_from=date(2026, 1, 1), date_to=date(2026, 1, 31),
                     organisation=manager.organisation)  # fmt: skip
    [row] = own_csv(manager, winter)
    assert row["Submitted at (UK time)"] == "2026-01-15T09:30:00+00:00"


def test_an_own_organisation_csv_names_the_decider_and_the_case_reference(
    decisions, manager, own, practitioner
):
    row = row_of(own_csv(manager, own), decisions[1])
    assert (row["Decided by"], row["Case reference"]) == (practitioner.email, "CASE-123")


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_that_starts_like_a_formula_is_defused(start):
    assert documents.defuse(f"{start}SUM(A1:A9)") == f"'{start}SUM(A1:A9)"


def test_an_ordinary_cell_is_left_alone():
    assert documents.defuse("Children's social care") == "Children's social care"


def test_a_formula_typed_as_a_recipient_reaches_the_csv_defused(org, practitioner, manager, own):
    ReportDecisionFactory(
        organisation=org,
        created_by=practitioner,
        outcome="can_share",
        recipient='=HYPERLINK("http://evil.example","x")',
        submitted_at=utc(2026, 9, 1, 9),
    )
    [row] = own_csv(manager, own)
    assert row["Recipient organisation"] == '\'=HYPERLINK("http://evil.example","x")'


def test_the_csv_streams_in_chunks_rather_than_one_string(org, practitioner, manager, own):
    template = ReportDecisionFactory.build(
        organisation=org, created_by=practitioner, submitted_at=utc(2026, 9, 1, 9)
    )
    Decision.objects.bulk_create(
        Decision(
            reference=f"ISG-2026-{n:06d}",
            organisation=org,
            created_by=practitioner,
            pack=template.pack,
            status=Status.SUBMITTED,
            outcome=template.outcome,
            answers=template.answers,
            submitted_at=template.submitted_at,
        )
        for n in range(1, 451)
    )
    chunks = list(documents.csv_chunks(counted_decisions(manager, own), aggregate_only=False))
    assert len(chunks) == 3  # 451 lines (with the header), 200 lines a chunk
    assert len(parse(b"".join(chunks).decode())) == 450


# ---- PDF management report --------------------------------------------------------------


@pytest.fixture
def report_text(decisions, manager, own) -> str:
    return pdf_text(documents.report_pdf(manager, own))


def test_the_pdf_report_cover_gives_the_period_and_the_filters(report_text):
    assert "1 August 2026 to 31 October 2026" in report_text
    assert "Organisation Leicester City Council" in report_text


def test_the_pdf_report_has_the_totals(report_text):
    for line in (
        "Decisions 14",
        "Share without consent 5",
        "Requests refused 2",
        "Sign-off time, median 4 hours",
        "Sign-off time, 90th percentile 2 days",
        "Decisions returned at sign-off 2",
        "Amendments 1",
    ):
        assert line in report_text


def test_every_pdf_page_is_marked_official_sensitive_and_numbered(decisions, manager, own):
    pages = PdfReader(io.BytesIO(documents.report_pdf(manager, own))).pages
    for number, page in enumerate(pages, start=1):
        text = page.extract_text()
        assert "OFFICIAL-SENSITIVE" in text
        assert f"Page {number} of {len(pages)}" in text


def test_the_pdf_report_has_the_monthly_rates(report_text):
    # With consent, without consent, you can share, not shared: each month adds up to 100%.
    assert "Aug 2026 6 33.3% 16.7% 33.3% 16.7%" in report_text
    assert "Sep 2026 5 40.0% 40.0% 0.0% 20.0%" in report_text


def test_the_pdf_summary_outcomes_add_up_to_the_decisions(report_text):
    for line in (
        "Decisions 14",
        "Share with consent 4",
        "Share without consent 5",
        "You can share 2",
        "Do not share 3",
    ):
        assert line in report_text


def test_the_pdf_report_says_sign_off_is_by_a_safeguarding_lead(report_text):
    assert "Decisions signed off by a safeguarding lead 5" in report_text
    assert "supervisor" not in report_text and "approved by a manager" not in report_text


def test_a_partnership_pdf_shows_small_counts_as_fewer_than_5(decisions, partnership_manager):
    text = pdf_text(documents.report_pdf(partnership_manager, PERIOD))
    assert "Decisions 15" in text
    assert "Do not share fewer than 5" in text


# ---- Zip of record PDFs -----------------------------------------------------------------


def test_the_records_zip_holds_each_decisions_record_pdf(practitioner, manager):
    made = [answered_decision(practitioner, kind, submit=True)
            for kind in ("can_share", "do_not_share")]  # fmt: skip
    today = made[0].submitted_at.date()
    filters = replace(PERIOD, date_from=today, date_to=today, organisation=manager.organisation)
    target = io.BytesIO()
    documents.write_records_zip(counted_decisions(manager, filters), target)
    archive = zipfile.ZipFile(target)
    assert sorted(archive.namelist()) == sorted(f"{d.reference}-v1.pdf" for d in made)
    first = archive.read(f"{made[0].reference}-v1.pdf")
    assert made[0].reference in pdf_text(first)


def test_a_partnership_manager_cannot_export_the_records_of_all_organisations(
    decisions, partnership_manager
):
    with pytest.raises(documents.ExportRefused):
        exports.export_start(user=partnership_manager, filters=PERIOD, kind=ExportKind.RECORDS)


# ---- Starting exports, the threshold and background tasks -------------------------------


def test_a_small_export_is_built_at_once(decisions, manager, own):
    result = exports.export_start(user=manager, filters=own, kind=ExportKind.CSV)
    assert isinstance(result, exports.Download)
    assert result.filename == "isg-decisions-2026-08-01-to-2026-10-31.csv"


def test_an_export_is_an_audit_event_with_its_filters(decisions, manager, own):
    exports.export_start(user=manager, filters=own, kind=ExportKind.CSV)
    event = AuditEvent.objects.get(action="report.exported")
    assert event.details["filters"] == own.to_json()
    assert event.details["decisions"] == 14


def test_the_records_export_event_lists_the_records_exported(practitioner, manager):
    made = answered_decision(practitioner, "can_share", submit=True)
    today = made.submitted_at.date()
    filters = replace(PERIOD, date_from=today, date_to=today, organisation=manager.organisation)
    download = exports.export_start(user=manager, filters=filters, kind=ExportKind.RECORDS)
    b"".join(download.chunks)
    event = AuditEvent.objects.get(action="report.exported")
    assert event.details["records"] == [f"{made.reference} v1"]


@pytest.mark.parametrize(
    ("kind", "count", "background"),
    [
        (ExportKind.CSV, 100_000, False),
        (ExportKind.CSV, 200_000, True),
        (ExportKind.PDF, 100_000, False),
        (ExportKind.PDF, 200_000, True),
        (ExportKind.RECORDS, 19, False),
        (ExportKind.RECORDS, 20, True),
    ],
)
def test_the_threshold_sends_long_exports_to_the_background(kind, count, background):
    assert exports.runs_in_background(kind, count) is background


@pytest.fixture
def long_exports(monkeypatch):
    """Every export counts as long, so small test data goes through the background path."""
    monkeypatch.setattr(exports, "BACKGROUND_SECONDS", -1)


def test_a_long_export_is_queued_and_built_by_its_task(decisions, manager, own, long_exports):
    export = exports.export_start(user=manager, filters=own, kind=ExportKind.CSV)
    export.refresh_from_db()
    assert export.status == ExportStatus.READY
    assert len(parse(storage.export_path(export).read_text(encoding="utf-8"))) == 14


def test_a_background_csv_is_the_same_as_a_direct_one(decisions, manager, own, long_exports):
    export = exports.export_start(user=manager, filters=own, kind=ExportKind.CSV)
    export.refresh_from_db()
    direct = documents.csv_chunks(counted_decisions(manager, own), aggregate_only=False)
    assert storage.export_path(export).read_bytes() == b"".join(direct)


def test_a_background_export_records_its_request_and_its_completion(
    decisions, manager, own, long_exports
):
    export = exports.export_start(user=manager, filters=own, kind=ExportKind.PDF)
    actions = list(
        AuditEvent.objects.filter(object_id=str(export.public_id))
        .order_by("sequence")
        .values_list("action", flat=True)
    )
    assert actions == ["report.export_requested", "report.export_finished"]


def test_a_background_export_file_is_named_by_its_id_only(decisions, manager, own, long_exports):
    export = exports.export_start(user=manager, filters=own, kind=ExportKind.PDF)
    export.refresh_from_db()
    assert export.file_name == f"{export.public_id}.pdf"


def test_a_queued_export_fails_if_its_owner_can_no_longer_run_reports(
    decisions, manager, own, settings, long_exports
):
    settings.TASKS = DATABASE
    export = exports.export_start(user=manager, filters=own, kind=ExportKind.CSV)
    type(manager).objects.filter(pk=manager.pk).update(role=Role.PRACTITIONER)
    tasks.build_export.call(export.pk)
    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED


def test_with_the_database_backend_an_export_waits_for_the_worker(
    decisions, manager, own, settings, long_exports
):
    settings.TASKS = DATABASE
    export = exports.export_start(user=manager, filters=own, kind=ExportKind.CSV)
    assert Export.objects.get(pk=export.pk).status == ExportStatus.QUEUED


def test_the_database_worker_builds_a_queued_export(
    decisions, manager, own, settings, long_exports, monkeypatch
):
    settings.TASKS = DATABASE
    # The worker closes connections it thinks stale; here that would be the test's transaction.
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    export = exports.export_start(user=manager, filters=own, kind=ExportKind.CSV)
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    assert Export.objects.get(pk=export.pk).status == ExportStatus.READY


def test_a_task_for_an_export_already_started_does_nothing(
    decisions, manager, own, settings, long_exports
):
    settings.TASKS = DATABASE
    export = exports.export_start(user=manager, filters=own, kind=ExportKind.CSV)
    Export.objects.filter(pk=export.pk).update(status=ExportStatus.RUNNING)
    assert tasks.build_export.call(export.pk) == "skipped"


def test_a_period_with_no_decisions_still_exports_a_header(manager):
    filters = replace(PERIOD, date_from=date(2026, 1, 1), date_to=date(2026, 1, 31),
                      organisation=manager.organisation)  # fmt: skip
    assert own_csv(manager, filters) == []
