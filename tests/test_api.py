"""The API's calls and who may make them: tokens (401), scopes (403), organisations (404),
every call an audit event with the token's name, throttled per token."""

from __future__ import annotations

import pytest
from django.urls import reverse

from decisions import signoff
from decisions.api import tokens
from decisions.api.authentication import TokenRateThrottle
from decisions.audit import AuditAction
from decisions.models import (
    ApiScope,
    ApiToken,
    AuditEvent,
    Decision,
    DecisionLaunch,
    Organisation,
    Role,
    Status,
)
from tests.api_helpers import api_client, token_secret
from tests.conftest import client_for
from tests.factories import UserFactory, answered_decision

pytestmark = pytest.mark.django_db

RECORDS = "/api/v1/records/"
START = "/api/v1/decisions/"


def record_url(decision: Decision, pdf: bool = False) -> str:
    return f"{RECORDS}{decision.public_id}/" + ("pdf/" if pdf else "")


@pytest.fixture
def secret(org):
    return token_secret(org)


@pytest.fixture
def api(secret):
    return api_client(secret)


@pytest.fixture
def submitted(practitioner):
    return answered_decision(practitioner, "share_with_consent", submit=True)


def start_body(**changes) -> dict:
    body = {
        "practitioner_email": "pat@example.org",
        "case_reference": "MOS-4411",
        "initials": "JS",
        "age_band": "12_15",
    }
    return {**body, **changes}


def events(action: AuditAction) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("sequence"))


# ------------------------------------------------------------------ tokens (401) ----


def test_a_call_without_a_token_is_401_with_the_scheme_named(submitted):
    response = api_client("").get(RECORDS)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="isg"'


def test_an_unknown_token_is_401(submitted):
    assert api_client("isg_not-a-real-token").get(RECORDS).status_code == 401


def test_a_revoked_token_is_401(org, admin_user, secret, submitted):
    tokens.token_revoke(actor=admin_user, token=ApiToken.objects.get())
    assert api_client(secret).get(RECORDS).status_code == 401


def test_a_token_of_a_deactivated_organisation_is_401(org, secret, submitted):
    Organisation.objects.filter(pk=org.pk).update(is_active=False)
    assert api_client(secret).get(RECORDS).status_code == 401


def test_a_signed_in_session_does_not_reach_the_api(admin_user, lead, submitted):
    for person in (admin_user, lead):
        assert client_for(person).get(RECORDS).status_code == 401
        assert client_for(person).post(START, start_body(), "application/json").status_code == 401


def test_the_token_is_stored_as_its_sha256_only(secret):
    token = ApiToken.objects.get()
    assert token.token_hash == tokens.digest(secret)
    assert secret not in str(ApiToken.objects.values().get())
    assert secret.startswith(token.prefix)


def test_a_call_marks_the_token_used(api, submitted):
    api.get(RECORDS)
    assert ApiToken.objects.get().last_used_at is not None


# ------------------------------------------------------------------ scopes (403) ----


def test_a_read_only_token_cannot_start_decisions(org, practitioner):
    read_only = api_client(token_secret(org, [ApiScope.READ_RECORDS]))
    response = read_only.post(START, start_body(), "application/json")
    assert response.status_code == 403
    assert not Decision.objects.exists()


def test_a_start_only_token_cannot_read_records(org, submitted):
    start_only = api_client(token_secret(org, [ApiScope.START_DECISIONS]))
    assert start_only.get(RECORDS).status_code == 403
    assert start_only.get(record_url(submitted)).status_code == 403
    assert start_only.get(record_url(submitted, pdf=True)).status_code == 403


def test_a_refused_call_is_an_audit_event_naming_the_token(org, submitted):
    start_only = api_client(token_secret(org, [ApiScope.START_DECISIONS], name="Liquidlogic"))
    start_only.get(RECORDS)
    (event,) = events(AuditAction.API_CALL_REFUSED)
    assert event.details["token"] == "Liquidlogic"
    assert event.details["status"] == 403
    assert event.organisation_id == org.pk


# --------------------------------------------------------- organisations (404) ----


def test_another_organisations_record_is_404(other_org, outsider, api):
    theirs = answered_decision(outsider, "share_with_consent", submit=True)
    assert api.get(record_url(theirs)).status_code == 404
    assert api.get(record_url(theirs, pdf=True)).status_code == 404
    assert api.get(RECORDS, {"reference": theirs.reference}).json()["count"] == 0


def test_a_draft_is_not_a_record(practitioner, api):
    draft = answered_decision(practitioner, "share_with_consent")
    assert api.get(record_url(draft)).status_code == 404
    assert api.get(RECORDS).json()["count"] == 0


def test_an_unknown_record_is_404(api):
    assert api.get(f"{RECORDS}8c0e3f3a-6d7e-4d4e-9a55-3b8f1f0d2c11/").status_code == 404


# -------------------------------------------------------------------- records ----


def test_list_gives_the_organisations_submitted_records(practitioner, outsider, api, submitted):
    answered_decision(outsider, "share_with_consent", submit=True)
    body = api.get(RECORDS).json()
    assert body["count"] == 1
    (record,) = body["results"]
    assert record["reference"] == submitted.reference
    assert record["outcome"] == "share_with_consent"
    assert record["status"] == Status.SUBMITTED


def test_list_filters_by_reference_and_updated_since(practitioner, api, submitted):
    other = answered_decision(practitioner, "can_share", submit=True)
    by_reference = api.get(RECORDS, {"reference": other.reference}).json()
    assert [r["reference"] for r in by_reference["results"]] == [other.reference]
    later = api.get(RECORDS, {"updated_since": other.updated_at.isoformat()}).json()
    assert [r["reference"] for r in later["results"]] == [other.reference]
    assert api.get(RECORDS, {"updated_since": "2000-01-01T00:00:00Z"}).json()["count"] == 2


def test_list_refuses_bad_filters_with_400(api):
    assert api.get(RECORDS, {"updated_since": "yesterday"}).status_code == 400
    assert api.get(RECORDS, {"reference": "Jane Smith"}).status_code == 400


def test_list_is_paginated(practitioner, api, monkeypatch):
    from decisions.api.views import RecordPages

    monkeypatch.setattr(RecordPages, "page_size", 1)
    first = answered_decision(practitioner, "can_share", submit=True)
    second = answered_decision(practitioner, "can_share", submit=True)
    page1 = api.get(RECORDS).json()
    assert page1["count"] == 2 and page1["next"]
    assert [r["reference"] for r in page1["results"]] == [first.reference]
    page2 = api.get(RECORDS, {"page": 2}).json()
    assert [r["reference"] for r in page2["results"]] == [second.reference]


def test_a_record_says_outcome_reasons_lawful_basis_recipient_and_sign_off(practitioner, lead, api):
    decision = answered_decision(practitioner, "share_without_consent", submit=True)
    assert decision.status == Status.AWAITING_APPROVAL
    signoff.decision_approve(decision=decision, user=lead, comments="Agreed.")
    body = api.get(record_url(decision)).json()
    assert body["outcome"] == "share_without_consent"
    assert body["status"] == Status.APPROVED
    assert body["reasons"]
    assert body["case_reference"] == "CASE-123"
    assert body["lawful_basis"]["lawful_reason"]
    assert body["lawful_basis"]["gdpr_article6"]
    assert body["recipient"]["organisation"] == "Children's social care"
    assert body["recipient"]["role"] == "MASH social worker"
    assert body["sign_off"]["needs_approval"] is True
    (review,) = body["sign_off"]["reviews"]
    assert review["action"] == "approved" and review["by"] == lead.full_name
    labels = [fact["label"] for fact in body["key_facts"]]
    assert labels[:2] == ["Case reference", "Initials"]


def test_no_cache_may_keep_a_record(api, submitted):
    for url in (RECORDS, record_url(submitted), record_url(submitted, pdf=True)):
        assert api.get(url)["Cache-Control"] == "no-store"


def test_a_read_is_an_audit_event_naming_the_token(api, submitted):
    api.get(record_url(submitted))
    (event,) = events(AuditAction.API_RECORD_READ)
    assert event.details["token"] == "Mosaic"
    assert event.actor is None and event.actor_email == "API token: Mosaic"
    assert event.reference == submitted.reference
    api.get(RECORDS)
    assert events(AuditAction.API_RECORDS_LISTED)[0].details["references"] == [
        submitted.display_reference
    ]


def test_the_pdf_is_the_records_pdf(api, submitted):
    response = api.get(record_url(submitted, pdf=True))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert f"{submitted.reference}-v1.pdf" in response["Content-Disposition"]
    assert len(events(AuditAction.API_PDF_DOWNLOADED)) == 1


# -------------------------------------------------------- starting a decision ----


def test_start_makes_a_draft_for_the_practitioner_and_a_one_time_link(practitioner, api):
    response = api.post(START, start_body(), "application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    decision = Decision.objects.get(public_id=body["decision_id"])
    assert decision.created_by == practitioner and decision.status == Status.DRAFT
    assert body["reference"] == decision.reference
    assert body["continue_url"].startswith("http://testserver/decisions/continue/isgl_")
    launch = DecisionLaunch.objects.get(decision=decision)
    secret = body["continue_url"].rstrip("/").rsplit("/", 1)[1]
    assert launch.link_hash == tokens.digest(secret)  # the link itself is not kept
    assert (launch.case_reference, launch.initials, launch.age_band) == ("MOS-4411", "JS", "12_15")
    (event,) = events(AuditAction.API_DECISION_STARTED)
    assert event.details["token"] == "Mosaic" and event.reference == decision.reference


@pytest.mark.parametrize(
    "changes",
    [
        {"practitioner_email": "nobody@example.org"},
        {"practitioner_email": "out@example.org"},  # another organisation's practitioner
        {"practitioner_email": "manager@example.org"},  # not someone who decides
        {"age_band": "toddler"},
        {"initials": "ABCDEFG"},
        {"case_reference": "MOS\x0b1"},
        {"case_reference": ""},
    ],
)
def test_start_refuses_bad_values_with_400_and_starts_nothing(
    practitioner, outsider, manager, api, changes
):
    response = api.post(START, start_body(**changes), "application/json")
    assert response.status_code == 400
    assert not Decision.objects.exists()


def test_the_refusal_is_the_same_for_an_unknown_and_another_organisations_person(
    practitioner, outsider, api
):
    unknown = api.post(START, start_body(practitioner_email="x@example.org"), "application/json")
    theirs = api.post(START, start_body(practitioner_email="out@example.org"), "application/json")
    assert unknown.json() == theirs.json()


def test_start_takes_json_only(practitioner, api):
    response = api.post(START, "practitioner_email=pat@example.org", "text/plain")
    assert response.status_code == 415, response.content
    assert not Decision.objects.exists()


def test_calls_are_throttled_per_token(org, submitted, monkeypatch):
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"api_token": "2/minute"})
    busy = api_client(token_secret(org, name="Busy"))
    calm = api_client(token_secret(org, name="Calm"))
    assert [busy.get(RECORDS).status_code for _ in range(3)] == [200, 200, 429]
    assert calm.get(RECORDS).status_code == 200


def test_the_schema_is_served_to_a_token_holder_only(api):
    response = api.get("/api/v1/schema/")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.0")
    assert "/api/v1/records/{decision_id}/pdf/" in schema["paths"]
    assert schema["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"
    assert api_client("").get("/api/v1/schema/").status_code == 401


def test_a_practitioners_organisation_is_the_tokens(org, other_org, api):
    UserFactory(organisation=other_org, role=Role.PRACTITIONER, email="pat2@example.org")
    response = api.post(
        START, start_body(practitioner_email="pat2@example.org"), "application/json"
    )
    assert response.status_code == 400
    assert reverse("api_records") == RECORDS


def test_api_events_keep_the_audit_chain_intact(api, submitted, practitioner):
    from decisions.audit import verify_chain

    api.get(RECORDS)
    api.get(record_url(submitted))
    api.get(record_url(submitted, pdf=True))
    api.post(START, start_body(), "application/json")
    api_client("isg_unknown").get(RECORDS)
    check = verify_chain()
    assert check.ok, check.problem
    assert AuditEvent.objects.filter(action__startswith="api.").count() >= 5
