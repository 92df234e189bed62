"""The decision-record PDF: what it says, who may download it, and what it refuses to fetch."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
from django.contrib.auth.views import redirect_to_login
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader
from weasyprint import HTML

from decisions import pdf, services
from decisions.models import AuditEvent, Decision, Status
from decisions.navigation import resume_url
from tests.conftest import client_for
from tests.factories import answered_decision, route_values

OUTCOMES = ["do_not_share", "can_share", "share_with_consent", "share_without_consent"]
HOSTILE_ANSWER = (
    '<img src="file:///etc/passwd"> '
    '<div style="background-image: url(file:///etc/passwd)">x</div> '
    '<link rel="attachment" href="file:///etc/passwd">'
)
PASSWD_LINE = "root:x:0:0"


def pdf_url(decision: Decision) -> str:
    return reverse("record_pdf", args=[decision.public_id])


def reader_of(response) -> PdfReader:
    return PdfReader(io.BytesIO(response.content))


def page_texts(response) -> list[str]:
    """Each page's text with runs of whitespace (line wraps) folded to one space."""
    return [" ".join(page.extract_text().split()) for page in reader_of(response).pages]


def text_of(response) -> str:
    return " ".join(page_texts(response))


def download(user, decision: Decision):
    return client_for(user).get(pdf_url(decision))


@pytest.fixture
def submitted(practitioner) -> Decision:
    return answered_decision(practitioner, "can_share", submit=True)


@pytest.fixture(params=OUTCOMES)
def submitted_each_outcome(request, practitioner) -> Decision:
    return answered_decision(practitioner, request.param, submit=True)


def decision_with_answer(user, *, purpose_description: str) -> Decision:
    """A submitted 'can share' decision whose purpose is described in the given words."""
    decision = answered_decision(user, "can_share")
    services.decision_answer(
        decision=decision,
        user=user,
        step_id="purpose",
        values={**route_values("can_share", "purpose"), "purpose_description": purpose_description},
    )
    services.decision_submit(decision=decision, user=user)
    decision.refresh_from_db()
    return decision


# What each outcome's PDF says -----------------------------------------------------------


def test_pdf_is_served_as_a_pdf(practitioner, submitted_each_outcome):
    response = download(practitioner, submitted_each_outcome)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")


def test_pdf_is_an_attachment_named_after_the_reference(practitioner, submitted_each_outcome):
    response = download(practitioner, submitted_each_outcome)
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f'filename="{submitted_each_outcome.reference}-v1.pdf"' in disposition


def test_pdf_names_the_reference(practitioner, submitted_each_outcome):
    text = text_of(download(practitioner, submitted_each_outcome))
    assert submitted_each_outcome.reference in text


def test_pdf_names_the_outcome_reached(practitioner, submitted_each_outcome):
    record = submitted_each_outcome.latest_record()
    text = text_of(download(practitioner, submitted_each_outcome))
    assert f"Outcome: {record.outcome_title}" in text


def test_pdf_lists_the_reasons_for_the_outcome(practitioner, submitted_each_outcome):
    record = submitted_each_outcome.latest_record()
    text = text_of(download(practitioner, submitted_each_outcome))
    assert record.reasons
    assert all(reason in text for reason in record.reasons)


def test_pdf_prints_every_answer_given(practitioner, submitted_each_outcome):
    snapshot = submitted_each_outcome.latest_record().snapshot
    text = text_of(download(practitioner, submitted_each_outcome))
    answers = [field["display"] for step in snapshot["steps"] for field in step["fields"]]
    missing = [answer for answer in answers if answer not in text]
    assert missing == []


def test_pdf_prints_the_answers_typed_in_the_practitioners_own_words(practitioner, submitted):
    text = text_of(download(practitioner, submitted))
    assert "CASE-123" in text
    assert "Children's social care" in text
    assert "Bruising seen at school; need to inform the MASH." in text


def test_pdf_prints_every_question_on_the_path_in_order(practitioner, submitted_each_outcome):
    snapshot = submitted_each_outcome.latest_record().snapshot
    text = text_of(download(practitioner, submitted_each_outcome))
    headings = [f"{n}. {step['title']}" for n, step in enumerate(snapshot["steps"], start=1)]
    positions = [text.find(heading) for heading in headings]
    assert -1 not in positions
    assert positions == sorted(positions)


def test_pdf_cites_the_guidance_for_each_question(practitioner, submitted):
    # Citations are gathered in an appendix, by source, naming the questions resting on each.
    text = text_of(download(practitioner, submitted))
    for step in submitted.latest_record().snapshot["steps"]:
        for citation in step["citations"]:
            assert citation["title"] in text
            assert citation["section"] in text
    appendix = text[text.index("Appendix: sources") :]
    first = submitted.latest_record().snapshot["steps"][0]["citations"][0]
    assert re.search(rf"{re.escape(first['section'])} \(questions? 1[,)]", appendix)


def test_pdf_marks_the_outcome_where_it_was_reached(practitioner, submitted_each_outcome):
    snapshot = submitted_each_outcome.latest_record().snapshot
    at = snapshot["outcome_at"]
    text = text_of(download(practitioner, submitted_each_outcome))
    marker = text.find(f"Outcome reached here: {snapshot['outcome']['title']}")
    before = text.find(f"{at}. {snapshot['steps'][at - 1]['title']}")
    after = text.find(f"{at + 1}. {snapshot['steps'][at]['title']}")
    assert -1 < before < marker < after


def test_every_page_is_headed_with_the_reference_and_marking(practitioner, submitted_each_outcome):
    pages = page_texts(download(practitioner, submitted_each_outcome))
    assert len(pages) > 1
    assert all(submitted_each_outcome.reference in page for page in pages)
    assert all("OFFICIAL-SENSITIVE" in page for page in pages)


def test_every_page_names_the_organisation(practitioner, submitted):
    pages = page_texts(download(practitioner, submitted))
    assert all("Leicester City Council" in page for page in pages)


def test_every_page_is_numbered_x_of_y(practitioner, submitted_each_outcome):
    pages = page_texts(download(practitioner, submitted_each_outcome))
    total = len(pages)
    assert "Page 1 of" in pages[0]
    assert all(f"Page {n} of {total}" in page for n, page in enumerate(pages, start=1))


def test_pdf_title_metadata_names_the_reference(practitioner, submitted_each_outcome):
    reader = reader_of(download(practitioner, submitted_each_outcome))
    assert reader.metadata.title == f"Decision record {submitted_each_outcome.reference}"


def test_footer_says_when_it_was_rendered_in_uk_time(practitioner, submitted, monkeypatch):
    summer = datetime(2026, 7, 1, 12, 5, tzinfo=UTC)
    monkeypatch.setattr(pdf.timezone, "now", lambda: summer)
    pages = page_texts(download(practitioner, submitted))
    assert all("Rendered 1 July 2026, 13:05 (UK time)" in page for page in pages)
    # Served again as stored, the footer still gives the time it was rendered, not now.
    monkeypatch.setattr(pdf.timezone, "now", lambda: summer.replace(month=8))
    assert all(
        "Rendered 1 July 2026, 13:05" in page
        for page in page_texts(download(practitioner, submitted))
    )


def test_key_facts_give_the_submission_time_in_uk_time(practitioner, submitted):
    submitted_at = timezone.localtime(submitted.latest_record().submitted_at)
    text = text_of(download(practitioner, submitted))
    assert f"Submitted {submitted_at:%-d %B %Y, %H:%M} (UK time)" in text


def test_key_facts_name_who_decided_with_their_email(practitioner, submitted):
    text = text_of(download(practitioner, submitted))
    assert f"Decided by {practitioner.full_name} (pat@example.org)" in text


def test_key_facts_name_the_guidance_pack_edition_and_version(practitioner, submitted):
    pack = submitted.latest_record().snapshot["pack"]
    text = text_of(download(practitioner, submitted))
    assert f"{pack['title']} (edition {pack['edition']}, version {pack['version']})" in text


def test_key_facts_give_version_and_status(practitioner, submitted):
    text = text_of(download(practitioner, submitted))
    assert "Version 1 Status Submitted" in text


def test_amendment_names_what_it_amends_and_why(practitioner, submitted):
    amendment = services.decision_amend(
        decision=submitted, user=practitioner, reason="The share date was wrong."
    )
    services.decision_submit(decision=amendment, user=practitioner)
    amendment.refresh_from_db()
    text = text_of(download(practitioner, amendment))
    assert f"Amends {submitted.reference}" in text
    assert "Reason for amendment The share date was wrong." in text


def test_amendment_pdf_title_names_the_amendment(practitioner, submitted):
    amendment = services.decision_amend(decision=submitted, user=practitioner, reason="Typo.")
    services.decision_submit(decision=amendment, user=practitioner)
    amendment.refresh_from_db()
    reader = reader_of(download(practitioner, amendment))
    assert reader.metadata.title == f"Decision record {submitted.reference} (amendment 1)"


# The status marking ---------------------------------------------------------------------


def test_decision_awaiting_approval_is_marked_awaiting_approval(practitioner):
    decision = answered_decision(practitioner, "share_without_consent", submit=True)
    assert decision.status == Status.AWAITING_APPROVAL
    assert "AWAITING APPROVAL" in text_of(download(practitioner, decision))


def test_returned_decision_is_marked_returned(practitioner):
    decision = answered_decision(practitioner, "share_without_consent", submit=True)
    # Returning is the lead's job in a later issue; set the status the service will set.
    Decision.objects.filter(pk=decision.pk).update(status=Status.RETURNED)
    decision.refresh_from_db()
    assert "RETURNED" in text_of(download(practitioner, decision))


def test_version_replaced_by_an_amendment_is_marked_superseded(practitioner, submitted):
    amendment = services.decision_amend(decision=submitted, user=practitioner, reason="Typo.")
    services.decision_submit(decision=amendment, user=practitioner)
    submitted.refresh_from_db()
    assert "SUPERSEDED" in text_of(download(practitioner, submitted))


def test_decision_that_took_effect_carries_no_approval_marking(practitioner, submitted):
    text = text_of(download(practitioner, submitted))
    assert "AWAITING APPROVAL" not in text
    assert "RETURNED" not in text


# Who may download it --------------------------------------------------------------------


def test_downloading_the_pdf_writes_an_audit_event(practitioner, submitted):
    download(practitioner, submitted)
    event = AuditEvent.objects.get(action="decision.pdf_downloaded")
    assert event.actor == practitioner
    assert event.object_id == str(submitted.public_id)
    assert event.reference == submitted.reference


def test_practitioner_of_another_organisation_gets_404(outsider, submitted):
    assert download(outsider, submitted).status_code == 404


def test_colleague_in_the_same_organisation_gets_404(colleague, submitted):
    assert download(colleague, submitted).status_code == 404


def test_lead_of_another_organisation_gets_404(outside_lead, submitted):
    assert download(outside_lead, submitted).status_code == 404


def test_refused_download_writes_no_audit_event(outsider, submitted):
    download(outsider, submitted)
    assert not AuditEvent.objects.filter(action="decision.pdf_downloaded").exists()


def test_lead_of_the_same_organisation_may_download(lead, submitted):
    response = download(lead, submitted)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"


def test_manager_of_the_same_organisation_may_download(manager, submitted):
    response = download(manager, submitted)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"


def test_anonymous_visitor_is_sent_to_sign_in(client, submitted):
    response = client.get(pdf_url(submitted))
    assert response.status_code == 302
    assert response["Location"] == redirect_to_login(pdf_url(submitted))["Location"]


def test_draft_pdf_url_sends_the_practitioner_back_to_the_wizard(practitioner):
    draft = answered_decision(practitioner, "can_share")
    response = download(practitioner, draft)
    assert response.status_code == 302
    assert response["Location"] == resume_url(draft)
    assert not response.content.startswith(b"%PDF")


# What the renderer refuses to fetch -----------------------------------------------------


def test_markup_typed_by_a_practitioner_is_printed_as_text(practitioner):
    decision = decision_with_answer(practitioner, purpose_description=HOSTILE_ANSWER)
    # Compared without spaces: a narrow column may wrap the typed text anywhere.
    text = text_of(download(practitioner, decision)).replace(" ", "")
    assert '<imgsrc="file:///etc/passwd">' in text
    assert "url(file:///etc/passwd)" in text


def test_markup_typed_by_a_practitioner_reads_no_local_file(practitioner):
    decision = decision_with_answer(practitioner, purpose_description=HOSTILE_ANSWER)
    response = download(practitioner, decision)
    assert reader_of(response).attachments == {}
    assert PASSWD_LINE not in text_of(response)
    assert PASSWD_LINE.encode() not in response.content


class RecordingFetcher(pdf.StaticOnlyFetcher):
    """The static-only fetcher, noting which URLs it refused."""

    def __init__(self) -> None:
        super().__init__()
        self.refused: list[str] = []

    def fetch(self, url, headers=None):
        try:
            return super().fetch(url, headers)
        except pdf.RefusedFetch:
            self.refused.append(url)
            raise


def test_fetcher_refuses_local_files_even_in_unescaped_html():
    # What an injection would look like had it got past the template's escaping.
    html = (
        '<html><head><link rel="attachment" href="file:///etc/passwd">'
        '<style>@import url("file:///etc/passwd");</style></head><body>'
        '<img src="file:///etc/passwd">'
        '<div style="background-image: url(file:///etc/passwd); height: 1cm">x</div>'
        "</body></html>"
    )
    fetcher = RecordingFetcher()
    content = HTML(string=html, base_url=pdf.PDF_BASE_URL, url_fetcher=fetcher).write_pdf()
    assert len(fetcher.refused) >= 3
    assert set(fetcher.refused) == {"file:///etc/passwd"}
    assert PdfReader(io.BytesIO(content)).attachments == {}


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://127.0.0.1/",
        "https://example.org/static/css/pdf.css",
        "data:text/css,body{}",
        "isg-static:///etc/passwd",
    ],
)
def test_fetcher_refuses_any_url_but_the_apps_static_files(url):
    with pytest.raises(pdf.RefusedFetch, match="refused to fetch"):
        pdf.StaticOnlyFetcher().fetch(url)


@pytest.mark.parametrize(
    "url",
    [
        "isg-static:///static/../../etc/passwd",
        "isg-static:///static/css/../../../../etc/passwd",
        "isg-static:///static/%2e%2e/%2e%2e/etc/passwd",
        "isg-static:///static//etc/passwd",
    ],
)
def test_fetcher_refuses_a_path_out_of_the_static_files(url):
    with pytest.raises(pdf.RefusedFetch, match="outside the static files"):
        pdf.StaticOnlyFetcher().fetch(url)


def test_fetcher_serves_the_print_stylesheet():
    response = pdf.StaticOnlyFetcher().fetch("isg-static:///static/css/pdf.css")
    assert response.content_type == "text/css"
    assert b"@page" in response.read()
