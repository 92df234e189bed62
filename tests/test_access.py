"""decisions.access: every permission rule in one place, and the same for every rule.

One behaviour matters most here: a deactivated account gets nothing from any rule, whatever
its role (before the rules were gathered, some checked this and some did not).
"""

from __future__ import annotations

import pytest

from decisions import access
from decisions.models import Role, Status
from tests.factories import UserFactory, answered_decision

pytestmark = pytest.mark.django_db


def deactivated(user):
    user.is_active = False
    user.save()
    return user


def test_a_deactivated_account_sees_no_decisions_events_people_or_reports(
    practitioner, lead, manager, admin_user
):
    answered_decision(practitioner, "share_with_consent", submit=True)
    for user in (practitioner, lead, manager, admin_user):
        deactivated(user)
        assert not access.visible_decisions(user).exists()
        assert not access.visible_events(user).exists()
        assert not access.audit_people(user).exists()
        assert not access.reportable_organisations(user).exists()
        assert not access.reviewable_decisions(user).exists()
        assert not access.visible_reviews(user).exists()
        assert not access.visible_exports(user).exists()
        assert access.page_refusal(user, access.RECORD_READERS) == "role"


def test_a_deactivated_lead_cannot_review(practitioner, lead):
    decision = answered_decision(practitioner, "share_without_consent", submit=True)
    assert decision.status == Status.AWAITING_APPROVAL
    assert access.may_review(decision, lead)
    deactivated(lead)
    assert not access.may_review(decision, lead)
    assert access.review_refusal(decision, lead).startswith("Only a safeguarding lead")


def test_a_deactivated_decider_cannot_amend_their_own_decision(practitioner):
    decision = answered_decision(practitioner, "share_with_consent", submit=True)
    assert access.may_amend(decision, practitioner)
    deactivated(practitioner)
    assert not access.may_amend(decision, practitioner)


def test_practitioners_see_only_their_own_decisions(practitioner, colleague, lead):
    own = answered_decision(practitioner, "share_with_consent", submit=True)
    theirs = answered_decision(colleague, "share_with_consent", submit=True)
    assert list(access.visible_decisions(practitioner)) == [own]
    assert set(access.visible_decisions(lead)) == {own, theirs}


def test_leads_and_managers_see_nothing_of_another_organisation(practitioner, outside_lead):
    answered_decision(practitioner, "share_with_consent", submit=True)
    assert not access.visible_decisions(outside_lead).exists()
    assert not access.visible_events(outside_lead).filter(organisation=practitioner.organisation)


def test_a_user_without_an_organisation_is_refused_every_page_but_an_administrators(org):
    practitioner = UserFactory(organisation=None, role=Role.PRACTITIONER)
    admin = UserFactory(organisation=None, role=Role.ADMIN)
    assert access.page_refusal(practitioner, access.DECIDERS) == "no_organisation"
    assert access.page_refusal(admin, access.REVIEWERS) == ""


def test_a_wrong_role_is_refused(practitioner, manager):
    assert access.page_refusal(practitioner, access.REPORTERS) == "role"
    assert access.page_refusal(manager, access.DECIDERS) == "role"


def test_partnership_reports_beyond_the_managers_own_organisation_are_aggregate_only(
    org, other_org
):
    partnership = UserFactory(organisation=org, role=Role.MANAGER, partnership_wide=True)
    assert access.is_aggregate_only(partnership, None)
    assert access.is_aggregate_only(partnership, other_org)
    assert not access.is_aggregate_only(partnership, org)
