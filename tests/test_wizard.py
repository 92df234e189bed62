"""The practitioner's guided decision, through the Django test client."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from decisions import signoff
from decisions.models import AuditEvent, Decision, DecisionRecord, GuidancePack, Status
from tests.conftest import client_for
from tests.factories import ROUTES, answered_decision, as_post

pytestmark = pytest.mark.django_db


def step_url(decision: Decision, step_id: str) -> str:
    return reverse("step", args=[decision.public_id, step_id])


def start_decision(client: Client) -> Decision:
    response = client.post(reverse("start"))
    assert response.status_code == 302
    return Decision.objects.latest("created_at")


def walk_through(client: Client, decision: Decision, outcome: str) -> None:
    """Answer every question of a route through the pages, as a practitioner would."""
    for step_id, values in ROUTES[outcome]:
        response = client.post(step_url(decision, step_id), as_post(values))
        assert response.status_code == 302, (step_id, response.content[:2000])


def test_start_page_shows_the_golden_rules_and_the_minimum_data_promise(as_practitioner):
    response = as_practitioner.get(reverse("start"))
    assert response.status_code == 200
    assert b"Only the minimum personal data" in response.content
    assert b"golden rules" in response.content


def test_starting_creates_a_draft_with_a_reference_and_opens_the_first_question(as_practitioner):
    response = as_practitioner.post(reverse("start"))
    decision = Decision.objects.get()
    assert re.fullmatch(r"ISG-\d{4}-\d{6}", decision.reference)
    assert decision.status == Status.DRAFT
    assert response["Location"] == step_url(decision, "context")
    assert AuditEvent.objects.filter(action="decision.started", reference=decision.reference)


def test_references_increase_one_by_one(practitioner):
    first = answered_decision(practitioner, "can_share")
    second = answered_decision(practitioner, "can_share")
    assert int(second.reference[-6:]) == int(first.reference[-6:]) + 1


def test_a_question_page_has_a_back_link_help_and_the_safety_banner(as_practitioner):
    decision = start_decision(as_practitioner)
    response = as_practitioner.get(step_url(decision, "context"))
    page = response.content.decode()
    assert 'class="govuk-back-link"' in page
    assert "Why we ask this" in page
    assert "immediate risk" in page
    assert "<h1" in page


@pytest.mark.parametrize("outcome", list(ROUTES))
def test_each_outcome_can_be_reached_and_submitted_through_the_pages(as_practitioner, outcome):
    decision = start_decision(as_practitioner)
    walk_through(as_practitioner, decision, outcome)
    check = as_practitioner.get(reverse("check_answers", args=[decision.public_id]))
    assert check.status_code == 200
    response = as_practitioner.post(reverse("check_answers", args=[decision.public_id]))
    assert response["Location"] == reverse("confirmation", args=[decision.public_id])
    decision.refresh_from_db()
    assert decision.outcome == outcome
    record = DecisionRecord.objects.get(decision=decision)
    assert record.outcome == outcome
    assert record.reasons
    confirmation = as_practitioner.get(response["Location"])
    assert decision.reference.encode() in confirmation.content


def test_the_outcome_page_says_which_outcome_and_why(as_practitioner):
    decision = start_decision(as_practitioner)
    outcome_url = reverse("outcome", args=[decision.public_id])
    for step_id, values in ROUTES["do_not_share"]:
        response = as_practitioner.post(step_url(decision, step_id), as_post(values))
        if response["Location"] == outcome_url:
            break
    assert response["Location"] == outcome_url
    page = as_practitioner.get(response["Location"]).content.decode()
    assert "Do not share" in page or "do not share" in page.lower()
    assert "<li>" in page  # the reasons


def test_share_without_consent_goes_for_approval_on_submit(practitioner):
    decision = answered_decision(practitioner, "share_without_consent", submit=True)
    assert decision.status == Status.AWAITING_APPROVAL


def test_share_with_consent_takes_effect_on_submit(practitioner):
    decision = answered_decision(practitioner, "share_with_consent", submit=True)
    assert decision.status == Status.SUBMITTED


def test_a_missing_answer_shows_the_error_summary_and_saves_nothing(as_practitioner):
    decision = start_decision(as_practitioner)
    response = as_practitioner.post(step_url(decision, "context"), {})
    assert response.status_code == 400
    assert b"There is a problem" in response.content
    assert b'href="#id_direction_1"' in response.content
    decision.refresh_from_db()
    assert decision.answers == {}


def test_an_answer_that_is_not_one_of_the_options_is_refused(as_practitioner):
    decision = start_decision(as_practitioner)
    response = as_practitioner.post(step_url(decision, "context"), {"direction": "sideways"})
    assert response.status_code == 400
    assert b"Select one of the options" in response.content


def test_oversized_text_is_refused_with_a_message(as_practitioner):
    decision = start_decision(as_practitioner)
    values = dict(ROUTES["can_share"][0][1], case_reference="X" * 41)
    response = as_practitioner.post(step_url(decision, "context"), values)
    assert response.status_code == 400
    assert b"40 characters or fewer" in response.content
    decision.refresh_from_db()
    assert "context" not in decision.answers


def recipient_with_date(day: str, month: str, year: str) -> dict:
    """The recipient page's answers (where the share date is asked) with another date."""
    data = as_post(dict(ROUTES["can_share"])["recipient"])
    data.update({"share_date_0": day, "share_date_1": month, "share_date_2": year})
    return data


def test_an_impossible_date_is_refused(as_practitioner, practitioner):
    decision = answered_decision(practitioner, "can_share")
    data = recipient_with_date("31", "2", "2026")
    response = as_practitioner.post(step_url(decision, "recipient"), data)
    assert response.status_code == 400
    assert b"There is a problem" in response.content


def test_a_question_further_ahead_than_the_next_one_is_refused(as_practitioner):
    decision = start_decision(as_practitioner)
    response = as_practitioner.post(step_url(decision, "consent"), {"consent": "given"})
    assert response.status_code == 302
    assert response["Location"] == step_url(decision, "context")
    decision.refresh_from_db()
    assert decision.answers == {}


def test_a_question_off_the_path_cannot_be_opened(as_practitioner):
    decision = start_decision(as_practitioner)
    walk_through_steps = ROUTES["can_share"][:6]  # proactive, so no request_details
    for step_id, values in walk_through_steps:
        as_practitioner.post(step_url(decision, step_id), as_post(values))
    response = as_practitioner.get(step_url(decision, "request_details"))
    assert response.status_code == 302


def test_an_unknown_question_is_404(as_practitioner):
    decision = start_decision(as_practitioner)
    assert as_practitioner.get(step_url(decision, "no-such-step")).status_code == 404


def test_changing_an_answer_drops_the_answers_no_longer_on_the_path(as_practitioner, practitioner):
    decision = answered_decision(practitioner, "share_with_consent")
    response = as_practitioner.post(
        step_url(decision, "consent") + "?return=check", {"consent": "refused"}, follow=True
    )
    decision.refresh_from_db()
    assert "consent_given" not in decision.answers
    assert b"no longer apply" in response.content
    assert decision.outcome == ""  # the new path needs more answers before an outcome


def test_a_change_from_check_answers_returns_there_when_the_path_is_complete(
    as_practitioner, practitioner
):
    decision = answered_decision(practitioner, "can_share")
    values = as_post(dict(dict(ROUTES["can_share"])["record"], advice_from="legal"))
    response = as_practitioner.post(step_url(decision, "record") + "?return=check", values)
    assert response["Location"] == reverse("check_answers", args=[decision.public_id])


def test_check_answers_has_a_change_link_for_every_answer(as_practitioner, practitioner):
    decision = answered_decision(practitioner, "can_share")
    page = as_practitioner.get(reverse("check_answers", args=[decision.public_id])).content
    # Every answer given; a page whose questions were all left blank keeps one row to change.
    answered_fields = sum(
        max(1, sum(1 for v in values.values() if v not in ("", [])))
        for _, values in ROUTES["can_share"]
    )
    assert page.count(b"?return=check") == answered_fields


def test_check_answers_before_the_end_sends_you_to_the_next_question(as_practitioner):
    decision = start_decision(as_practitioner)
    response = as_practitioner.get(reverse("check_answers", args=[decision.public_id]))
    assert response["Location"] == step_url(decision, "context")


def test_a_submitted_decision_cannot_be_posted_to_again(as_practitioner, practitioner):
    decision = answered_decision(practitioner, "can_share", submit=True)
    response = as_practitioner.post(step_url(decision, "record"), {"advice_from": "none"})
    assert response["Location"] == reverse("record", args=[decision.public_id])
    resubmit = as_practitioner.post(reverse("check_answers", args=[decision.public_id]))
    assert resubmit.status_code == 302
    assert DecisionRecord.objects.filter(decision=decision).count() == 1
    decision.refresh_from_db()
    assert decision.answers["record"]["advice_from"] == "dsl"


def test_another_practitioners_draft_is_404(practitioner, colleague):
    decision = answered_decision(practitioner, "can_share")
    response = client_for(colleague).get(step_url(decision, "record"))
    assert response.status_code == 404


def test_another_organisations_draft_is_404(practitioner, outsider):
    decision = answered_decision(practitioner, "can_share")
    client = client_for(outsider)
    assert client.get(step_url(decision, "record")).status_code == 404
    assert client.post(step_url(decision, "record"), {"advice_from": "none"}).status_code == 404
    assert client.get(reverse("check_answers", args=[decision.public_id])).status_code == 404
    assert client.get(reverse("outcome", args=[decision.public_id])).status_code == 404


@pytest.mark.parametrize("name", ["start", "my_decisions"])
def test_managers_cannot_use_the_wizard(manager, name):
    assert client_for(manager).get(reverse(name)).status_code == 403


def test_a_manager_cannot_post_answers_even_in_their_own_organisation(practitioner, manager):
    decision = answered_decision(practitioner, "can_share")
    response = client_for(manager).post(step_url(decision, "record"), {"advice_from": "none"})
    assert response.status_code == 403


def test_signing_in_is_required(practitioner):
    decision = answered_decision(practitioner, "can_share")
    for url in (reverse("start"), step_url(decision, "context"), reverse("my_decisions")):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_a_post_without_a_csrf_token_is_refused(practitioner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(practitioner)
    assert client.post(reverse("start")).status_code == 403
    assert not Decision.objects.exists()


def test_with_no_guidance_pack_loaded_the_start_page_says_so(as_practitioner):
    GuidancePack.objects.update(is_current=False)
    response = as_practitioner.get(reverse("start"))
    assert response.status_code == 503
    assert b"load_guidance" in response.content


def test_each_step_saved_is_an_audit_event(practitioner):
    decision = answered_decision(practitioner, "can_share")
    saved = AuditEvent.objects.filter(action="decision.step_saved", reference=decision.reference)
    assert saved.count() == len(ROUTES["can_share"])


def test_the_record_keeps_the_questions_as_they_were_shown(practitioner):
    decision = answered_decision(practitioner, "share_with_consent", submit=True)
    record = decision.latest_record()
    titles = [step["title"] for step in record.snapshot["steps"]]
    pack = decision.pack.pack
    assert titles == [pack.steps[step_id].title for step_id, _ in ROUTES["share_with_consent"]]
    assert record.pack_digest == decision.pack.digest
    assert record.snapshot["pack"]["golden_rules"]


def test_a_change_that_adds_a_question_asks_only_that_and_keeps_the_rest(
    as_practitioner, practitioner
):
    decision = answered_decision(practitioner, "can_share")
    context = dict(dict(ROUTES["can_share"])["context"], direction="request")
    response = as_practitioner.post(step_url(decision, "context") + "?return=check", context)
    assert response["Location"] == step_url(decision, "request_details") + "?return=check"
    details = {
        "requester_org": "Children's social care",
        "requester_role": "Social worker",
        "requester_legal_basis": "ca1989_s47",
        "requester_legal_basis_other": "",
    }
    response = as_practitioner.post(response["Location"], details)
    assert response["Location"] == reverse("check_answers", args=[decision.public_id])
    decision.refresh_from_db()
    assert decision.answers["record"] == dict(ROUTES["can_share"])["record"]


def test_a_day_too_long_to_be_a_number_is_refused_not_a_crash(as_practitioner, practitioner):
    decision = answered_decision(practitioner, "can_share")
    data = recipient_with_date("9" * 20, "2", "2026")
    response = as_practitioner.post(step_url(decision, "recipient"), data)
    assert response.status_code == 400
    assert b"There is a problem" in response.content


def test_a_date_question_uses_the_gov_uk_legend_size(as_practitioner, practitioner):
    # The share date is one of several questions on the recipient page: a medium legend.
    decision = answered_decision(practitioner, "can_share")
    page = as_practitioner.get(step_url(decision, "recipient")).content.decode()
    assert "govuk-fieldset__legend--m" in page


def test_the_amendment_page_has_one_csrf_token(practitioner, as_practitioner):
    original = answered_decision(practitioner, "can_share", submit=True)
    page = as_practitioner.get(reverse("amend", args=[original.public_id])).content.decode()
    main = page[page.index("<main") : page.index("</main>")]
    assert main.count('name="csrfmiddlewaretoken"') == 1


def test_check_answers_of_a_returned_decision_shows_the_leads_comments(
    practitioner, as_practitioner, lead
):
    decision = answered_decision(practitioner, "share_without_consent", submit=True)
    signoff.decision_return(
        decision=decision, user=lead, comments="Say why consent was not sought."
    )
    page = as_practitioner.get(reverse("check_answers", args=[decision.public_id])).content
    assert b"Say why consent was not sought." in page


def test_a_question_names_its_sources_by_title(as_practitioner):
    decision = start_decision(as_practitioner)
    page = as_practitioner.get(step_url(decision, "context")).content.decode()
    pack = decision.pack.pack
    cited = pack.steps["context"].citations[0]
    assert f"<cite>{pack.sources[cited.source]['title']}</cite>" in page.replace("&amp;", "&")
