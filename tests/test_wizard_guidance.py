"""The question pages carry out what the guidance packs say (issue 9): exclusive choices,
"other" boxes, contradictions refused, progress, suggested answers, advice shown again, the
urgent route, prompts on the outcome page, and a notice when only a replaced edition is
loaded."""

from __future__ import annotations

import pytest
from django.urls import reverse

from decisions.models import AuditEvent, Decision, GuidancePack, Status
from decisions.selectors import approval_queue
from tests.factories import CONTEXT, ROUTES, answered_decision, as_post

pytestmark = pytest.mark.django_db


def step_url(decision: Decision, step_id: str) -> str:
    return reverse("step", args=[decision.public_id, step_id])


def started(client) -> Decision:
    client.post(reverse("start"))
    return Decision.objects.latest("created_at")


def answer(client, decision: Decision, route: list[tuple[str, dict]]):
    response = None
    for step_id, values in route:
        response = client.post(step_url(decision, step_id), as_post(values))
        assert response.status_code == 302, (step_id, response.content.decode()[:3000])
    return response


def page(client, decision: Decision, step_id: str) -> str:
    return client.get(step_url(decision, step_id)).content.decode()


def route_to(outcome: str, step_id: str) -> list[tuple[str, dict]]:
    """ROUTES[outcome] up to (not including) `step_id`."""
    route = ROUTES[outcome]
    return route[: [s for s, _ in route].index(step_id)]


def test_none_of_these_is_set_apart_by_an_or_divider(as_practitioner):
    decision = started(as_practitioner)
    answer(as_practitioner, decision, CONTEXT[:2])
    text = page(as_practitioner, decision, "purpose")
    assert '<div class="govuk-checkboxes__divider">or</div>' in text


def test_none_of_these_with_a_real_purpose_is_refused_on_the_page(as_practitioner):
    decision = started(as_practitioner)
    answer(as_practitioner, decision, CONTEXT[:2])
    values = dict(CONTEXT[2][1], purpose_categories=["s47_child_protection", "none"])
    response = as_practitioner.post(step_url(decision, "purpose"), as_post(values))
    assert response.status_code == 400
    assert "There is a problem" in response.content.decode()
    decision.refresh_from_db()
    assert "purpose" not in decision.answers


def test_other_needs_its_details(as_practitioner):
    decision = started(as_practitioner)
    answer(as_practitioner, decision, CONTEXT[:2])
    values = dict(CONTEXT[2][1], purpose_categories=["other"], purpose_other="")
    response = as_practitioner.post(step_url(decision, "purpose"), as_post(values))
    assert response.status_code == 400
    assert 'href="#id_purpose_other"' in response.content.decode()


def test_a_parent_cannot_consent_for_an_adult(as_practitioner):
    decision = started(as_practitioner)
    route = route_to("share_with_consent", "consent_given")
    route = [
        (s, dict(v, age_band="adult", subject_type="other_adult") if s == "subject" else v)
        for s, v in route
    ]
    answer(as_practitioner, decision, route)
    given = dict(dict(ROUTES["share_with_consent"])["consent_given"], consent_given_by="parent")
    response = as_practitioner.post(step_url(decision, "consent_given"), as_post(given))
    assert response.status_code == 400
    assert "A parent cannot decide about consent for an adult" in response.content.decode()


def test_a_tampered_post_that_skips_the_form_is_refused_by_the_service_too(practitioner):
    from decisions import services

    decision = services.decision_start(user=practitioner)
    for step_id, values in CONTEXT[:2]:
        services.decision_answer(
            decision=decision, user=practitioner, step_id=step_id, values=values
        )
    bad = dict(CONTEXT[2][1], purpose_categories=["s47_child_protection", "none"])
    with pytest.raises(services.DecisionRefused):
        services.decision_answer(
            decision=decision, user=practitioner, step_id="purpose", values=bad
        )


def test_each_question_says_which_section_it_is_in(as_practitioner):
    decision = started(as_practitioner)
    assert "Section 1 of " in page(as_practitioner, decision, "context")


def test_the_recipient_is_suggested_from_the_organisation_that_asked(as_practitioner):
    decision = started(as_practitioner)
    context = dict(CONTEXT[0][1], direction="request")
    details = {
        "requester_org": "Leicester MASH",
        "requester_role": "Social worker",
        "requester_legal_basis": "ca1989_s47",
        "requester_legal_basis_other": "",
    }
    route = [("context", context), ("request_details", details)] + [
        (s, v) for s, v in route_to("share_with_consent", "recipient") if s != "context"
    ]
    answer(as_practitioner, decision, route)
    assert 'value="Leicester MASH"' in page(as_practitioner, decision, "recipient")


def test_not_sure_leads_to_advice_and_the_question_again_with_the_advice_shown(
    as_practitioner,
):
    decision = started(as_practitioner)
    answer(as_practitioner, decision, CONTEXT[:2])
    unsure = dict(CONTEXT[2][1], purpose_legitimate="not_sure")
    response = as_practitioner.post(step_url(decision, "purpose"), as_post(unsure))
    assert response["Location"] == step_url(decision, "advice_purpose")
    advice = {"purpose_advice_from": "dsl", "purpose_advice": "It is s47: share with the MASH."}
    response = as_practitioner.post(step_url(decision, "advice_purpose"), advice)
    assert response["Location"] == step_url(decision, "purpose_recheck")
    text = page(as_practitioner, decision, "purpose_recheck")
    assert "The advice you recorded" in text and "It is s47: share with the MASH." in text


def test_save_and_come_back_later_keeps_the_answer_and_goes_to_my_decisions(as_practitioner):
    decision = started(as_practitioner)
    data = {**as_post(CONTEXT[0][1]), "later": "1"}
    response = as_practitioner.post(step_url(decision, "context"), data)
    assert response["Location"] == reverse("my_decisions")
    decision.refresh_from_db()
    assert decision.answers["context"] == CONTEXT[0][1]


def test_after_change_the_back_link_goes_to_check_answers(as_practitioner, practitioner):
    decision = answered_decision(practitioner, "can_share")
    text = as_practitioner.get(step_url(decision, "record") + "?return=check").content.decode()
    check = reverse("check_answers", args=[decision.public_id])
    assert f'<a href="{check}" class="govuk-back-link">' in text
    assert "Save and go back to check your answers" in text


URGENT = [
    CONTEXT[0],
    ("subject", dict(CONTEXT[1][1], immediate_risk="yes")),
    (
        "urgent",
        {
            "urgent_reason": "child_significant_harm",
            "urgent_justification": "Disclosure of abuse tonight; police attending.",
            "already_shared": "shared",
        },
    ),
]


def test_the_urgent_route_says_share_now_within_a_few_pages(as_practitioner):
    decision = started(as_practitioner)
    response = answer(as_practitioner, decision, URGENT)
    assert response["Location"] == reverse("outcome", args=[decision.public_id])
    text = as_practitioner.get(response["Location"]).content.decode()
    assert "Share now: do not wait for sign-off" in text


def test_an_urgent_share_takes_effect_and_a_lead_reviews_it_afterwards(
    as_practitioner, practitioner, lead
):
    decision = started(as_practitioner)
    answer(as_practitioner, decision, URGENT)
    decision.refresh_from_db()
    pack = decision.pack.pack
    from decisions.guidance import engine

    walk = engine.walk(pack, decision.answers)
    rest = [(s, v) for s, v in ROUTES["share_without_consent"] if s in pack.steps]
    for step_id, values in rest:
        walk = engine.walk(pack, decision.answers)
        if walk.next_step is None:
            break
        if step_id != walk.next_step:
            continue
        as_practitioner.post(step_url(decision, step_id), as_post(values))
        decision.refresh_from_db()
    as_practitioner.post(reverse("check_answers", args=[decision.public_id]))
    decision.refresh_from_db()
    assert decision.status == Status.REVIEW_AFTER
    assert decision.pk in [item.decision.pk for item in approval_queue(lead)]
    assert AuditEvent.objects.filter(action="decision.submitted", reference=decision.reference)


def test_not_sharing_at_significant_harm_prompts_a_referral(as_practitioner):
    decision = started(as_practitioner)
    route = [CONTEXT[0], CONTEXT[1], ("purpose", dict(CONTEXT[2][1], purpose_legitimate="no"))]
    response = answer(as_practitioner, decision, route)
    text = as_practitioner.get(response["Location"]).content.decode()
    assert "govuk-notification-banner" in text
    assert "needs sign-off by a safeguarding lead" in text


def test_with_only_a_replaced_edition_loaded_the_start_page_says_so(as_practitioner):
    GuidancePack.objects.exclude(pack_id="key-questions-2015").update(is_current=False)
    GuidancePack.objects.exclude(pack_id="key-questions-2015").delete()
    response = as_practitioner.get(reverse("start"))
    assert response.status_code == 503
    assert "states law that has since been repealed" in response.content.decode()
