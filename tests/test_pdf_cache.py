"""Record PDFs rendered once and served as stored (issue 12)."""

from __future__ import annotations

import shutil

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from decisions import pdf, signoff
from decisions.models import AuditEvent, Decision, RenderedPdf, Status
from tests.conftest import client_for
from tests.factories import answered_decision
from tests.test_pdf import text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def renders(monkeypatch) -> list[int]:
    """Counts the WeasyPrint runs (each call of pdf._write_pdf)."""
    calls: list[int] = []
    write = pdf._write_pdf

    def counted(html: str) -> bytes:
        calls.append(1)
        return write(html)

    monkeypatch.setattr(pdf, "_write_pdf", counted)
    return calls


def download(user, decision: Decision):
    response = client_for(user).get(reverse("record_pdf", args=[decision.public_id]))
    assert response.status_code == 200
    return response


@pytest.fixture
def submitted(practitioner) -> Decision:
    return answered_decision(practitioner, "can_share", submit=True)


def test_a_second_download_serves_the_stored_bytes_without_rendering(
    practitioner, submitted, renders
):
    first = download(practitioner, submitted)
    second = download(practitioner, submitted)
    assert len(renders) == 1
    assert second.content == first.content
    stored = RenderedPdf.objects.get()
    assert bytes(stored.content) == first.content
    assert stored.record == submitted.latest_record()


def test_every_download_is_still_an_audit_event(practitioner, submitted, renders):
    download(practitioner, submitted)
    download(practitioner, submitted)
    events = AuditEvent.objects.filter(
        action="decision.pdf_downloaded", reference=submitted.reference
    )
    assert events.count() == 2


def test_a_changed_template_renders_anew_and_keeps_the_old_row(
    practitioner, submitted, renders, settings, tmp_path
):
    before = download(practitioner, submitted)
    (tmp_path / "pdf").mkdir()
    template = django_settings.BASE_DIR / "templates" / "pdf" / "record.html"
    changed = tmp_path / "pdf" / "record.html"
    shutil.copy(template, changed)
    changed.write_text(
        changed.read_text().replace("Information-sharing decision record", "A changed heading")
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    after = download(practitioner, submitted)
    assert len(renders) == 2
    assert "A changed heading" in text_of(after)
    assert "A changed heading" not in text_of(before)
    rows = list(RenderedPdf.objects.order_by("created_at", "pk"))
    assert len(rows) == 2
    assert rows[0].source_digest != rows[1].source_digest
    assert bytes(rows[0].content) == before.content  # the old row is kept as it was
    assert download(practitioner, submitted).content == after.content
    assert len(renders) == 2


def test_a_changed_stylesheet_gives_a_new_digest(practitioner, submitted, monkeypatch):
    record = submitted.latest_record()
    html = pdf._record_html(submitted, record, rendered_at=pdf.RENDERED_AT)
    digest = pdf.source_digest(html)
    fetch = pdf.StaticOnlyFetcher.fetch

    def restyled(self, url, headers=None):
        response = fetch(self, url, headers)
        if url.endswith("pdf.css"):
            return pdf.URLFetcherResponse(url, response.read() + b"\nh1 { color: red }")
        return response

    monkeypatch.setattr(pdf.StaticOnlyFetcher, "fetch", restyled)
    assert pdf.source_digest(html) != digest


def test_approval_after_submission_renders_a_pdf_that_says_so(practitioner, lead, renders):
    decision = answered_decision(practitioner, "share_without_consent", submit=True)
    assert decision.status == Status.AWAITING_APPROVAL
    waiting = text_of(download(practitioner, decision))
    assert "AWAITING APPROVAL" in waiting
    signoff.decision_approve(decision=decision, user=lead)
    decision.refresh_from_db()
    approved = text_of(download(practitioner, decision))
    assert "AWAITING APPROVAL" not in approved
    assert len(renders) == 2
    assert RenderedPdf.objects.count() == 2


def test_the_footer_gives_the_time_the_stored_pdf_was_rendered(practitioner, submitted):
    download(practitioner, submitted)
    stored = RenderedPdf.objects.get()
    text = text_of(download(practitioner, submitted))
    assert f"Rendered {pdf._when(stored.created_at)} (UK time)" in text


def test_a_render_stored_meanwhile_by_another_request_is_served(
    practitioner, submitted, monkeypatch
):
    """Two first downloads at once: the second to store finds the first's row and serves it."""
    record = submitted.latest_record()
    html = pdf._record_html(submitted, record, rendered_at=pdf.RENDERED_AT)
    RenderedPdf.objects.create(
        record=record, source_digest=pdf.source_digest(html), content=b"%PDF-stored first"
    )
    first = RenderedPdf.objects.filter

    class Missing:
        def first(self):
            return None

    calls = []

    def miss_once(**kwargs):
        calls.append(kwargs)
        return Missing() if len(calls) == 1 else first(**kwargs)

    monkeypatch.setattr(RenderedPdf.objects, "filter", miss_once)
    assert pdf.record_pdf_bytes(submitted, record) == b"%PDF-stored first"
    monkeypatch.undo()
    assert RenderedPdf.objects.count() == 1


IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def test_submission_renders_the_pdf_in_the_background_so_the_first_download_is_stored(
    practitioner, renders, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = IMMEDIATE  # the worker, run at once
    with django_capture_on_commit_callbacks(execute=True):
        decision = answered_decision(practitioner, "can_share", submit=True)
    assert len(renders) == 1
    assert RenderedPdf.objects.filter(record=decision.latest_record()).count() == 1
    download(practitioner, decision)
    assert len(renders) == 1, "the first download was served as stored"


def test_a_submission_only_queues_the_render_until_it_commits(practitioner, renders):
    # Without the commit (the test's transaction never commits) nothing is queued or rendered.
    answered_decision(practitioner, "can_share", submit=True)
    assert renders == []
    assert not RenderedPdf.objects.exists()


def test_an_approval_renders_the_pdf_that_shows_it_in_the_background(
    practitioner, lead, renders, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = IMMEDIATE
    decision = answered_decision(practitioner, "share_without_consent", submit=True)
    with django_capture_on_commit_callbacks(execute=True):
        signoff.decision_approve(decision=decision, user=lead)
    assert len(renders) == 1
    approved = text_of(download(practitioner, decision))
    assert len(renders) == 1, "the download was served as stored"
    assert "AWAITING APPROVAL" not in approved


def test_a_render_task_for_a_missing_record_does_nothing(renders):
    assert pdf.render_record_pdf.call(10**9) == "no such record"
    assert renders == []


def test_the_records_zip_uses_stored_pdfs(practitioner, manager, submitted, renders):
    import io
    import zipfile

    from decisions.reports.documents import write_records_zip

    first = download(practitioner, submitted)
    target = io.BytesIO()
    write_records_zip(Decision.objects.filter(pk=submitted.pk), target)
    assert len(renders) == 1, "the zip took the stored PDF"
    with zipfile.ZipFile(target) as archive:
        (name,) = archive.namelist()
        assert archive.read(name) == first.content
