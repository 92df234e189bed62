"""A partnership manager's exports beyond their own organisation are aggregates only, in every
format: the CSV is the report's figures, suppressed exactly as the page shows them, never one
row per decision; the PDF hides what the page hides."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace

import pytest
from pypdf import PdfReader

from decisions.models import AuditEvent, Decision, ExportKind
from decisions.reports import charts, documents, exports, storage
from decisions.reports.figures import build_report
from decisions.reports.suppression import Figure
from tests.reports_data import PERIOD, fixed_set

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def export_files(settings, tmp_path):
    settings.ISG_EXPORTS_DIR = tmp_path / "exports"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def decisions(org, other_org, practitioner, lead):
    return fixed_set(org, other_org, practitioner, lead)


@pytest.fixture
def long_exports(monkeypatch):
    monkeypatch.setattr(exports, "BACKGROUND_SECONDS", -1)


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


# ---- The CSV: the report's figures, never rows ---------------------------------------------


def partnership_csv(user, filters=PERIOD) -> tuple[str, str]:
    download = exports.export_start(user=user, filters=filters, kind=ExportKind.CSV)
    return download.filename, b"".join(download.chunks).decode("utf-8")


def figures_of(text: str) -> dict[tuple[str, str], str]:
    return {(r["Section"], r["Figure"]): r["Value"] for r in parse(text)}


def test_a_partnership_csv_is_the_reports_figures_not_one_row_per_decision(
    decisions, partnership_manager
):
    filename, text = partnership_csv(partnership_manager)
    assert filename == "isg-report-figures-2026-08-01-to-2026-10-31.csv"
    assert next(csv.reader(io.StringIO(text.removeprefix("\ufeff")))) == [
        "Section", "Figure", "Value"
    ]  # fmt: skip
    assert not re.search(r"ISG-\d{4}-\d{6}", text)  # no decision references
    assert "@example.org" not in text and "CASE-123" not in text


def test_a_partnership_csv_hides_the_small_numbers_the_page_hides(decisions, partnership_manager):
    figures = figures_of(partnership_csv(partnership_manager)[1])
    assert figures[("Summary", "Decisions")] == "15"
    assert figures[("Decisions by outcome", "Do not share")] == "fewer than 5"


def test_every_partnership_csv_figure_is_shown_as_the_page_shows_it(decisions, partnership_manager):
    report = build_report(partnership_manager, PERIOD)
    figures = figures_of(partnership_csv(partnership_manager)[1])
    sections = {
        "Decisions by outcome": report.by_outcome,
        "Lawful reasons to share without consent": report.lawful_reasons,
        "UK GDPR Article 6 basis": report.gdpr_bases,
        "Purposes": report.purposes,
        "Recipient organisations": report.recipients,
        "Decisions by month": [m.total for m in report.months],
    }
    hidden = 0
    for section, rows in sections.items():
        for row in rows:
            shown = row.shown if row.hidden else str(row.count)
            assert figures[(section, row.label)] == shown, (section, row.label)
            hidden += bool(row.hidden)
    for month in report.months:
        cell = figures[("Share of each month's decisions", f"{month.label}: Not shared")]
        assert cell == month.do_not_share.shown
    assert hidden  # the fixed set has small numbers to hide


def test_an_own_organisation_csv_of_a_partnership_manager_has_the_rows(
    decisions, partnership_manager, org
):
    filename, text = partnership_csv(partnership_manager, replace(PERIOD, organisation=org))
    assert filename.startswith("isg-decisions-")
    assert len(parse(text)) == 14


def test_rows_of_decisions_are_refused_for_an_aggregate_only_report(decisions):
    with pytest.raises(documents.ExportRefused):
        documents.csv_chunks(Decision.objects.all(), aggregate_only=True)


def test_a_partnership_csv_export_event_says_it_was_aggregate_only(decisions, partnership_manager):
    partnership_csv(partnership_manager)
    assert AuditEvent.objects.get(action="report.exported").details["aggregate_only"] is True


# ---- The PDF and its charts -------------------------------------------------------------------


def test_a_partnership_pdf_hides_every_count_the_page_hides(decisions, partnership_manager):
    report = build_report(partnership_manager, PERIOD)
    text = " ".join(pdf_text(documents.report_pdf(partnership_manager, PERIOD)).split())
    rows = report.by_outcome + report.lawful_reasons + report.gdpr_bases + report.purposes
    hidden = [row for row in rows if row.hidden]
    assert hidden
    for row in hidden:
        assert f"{row.label} {row.shown}" in text
        assert f"{row.label} {row.count}" not in text
    assert "CASE-123" not in text and "@example.org" not in text


def test_a_chart_labels_a_hidden_bar_as_its_table_does():
    rows = [
        Figure("Small", 2, hidden="small"),
        Figure("Hidden too", 7, hidden="secondary"),
        Figure("Shown", 40),
    ]
    svg = charts.bar_chart("Test", rows).svg
    assert "fewer than 5" in svg and "not shown" in svg
    assert ">7<" not in svg


# ---- Built in the background ----------------------------------------------------------------


def test_a_background_partnership_csv_is_the_figures_too(
    decisions, partnership_manager, long_exports
):
    export = exports.export_start(user=partnership_manager, filters=PERIOD, kind=ExportKind.CSV)
    export.refresh_from_db()
    assert export.file_name == f"{export.public_id}-aggregate.csv"
    assert exports.stored_download_name(export).startswith("isg-report-figures-")
    figures = figures_of(storage.export_path(export).read_text(encoding="utf-8"))
    assert figures[("Decisions by outcome", "Do not share")] == "fewer than 5"
