"""Schemathesis against the served OpenAPI schema (/api/v1/schema/), through the WSGI app
with a valid token: no call gives a 5xx, and every response matches the schema (status code,
content type, body). Bounded examples per operation, so it runs in well under a minute."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from decisions import signoff
from tests.api_helpers import token_secret
from tests.factories import answered_decision

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 25


@pytest.fixture
def bearer(org, practitioner, lead):
    """A token of an organisation with records: one approved (with sign-off), one submitted."""
    approved = answered_decision(practitioner, "share_without_consent", submit=True)
    signoff.decision_approve(decision=approved, user=lead)
    answered_decision(practitioner, "share_with_consent", submit=True)
    return {"Authorization": f"Bearer {token_secret(org)}"}


@pytest.fixture
def api_schema(bearer):
    # As Django's test client does: a request must not close the test's database connection
    # (PostgreSQL would lose the test transaction and everything in it).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi(
            "/api/v1/schema/", get_wsgi_application(), headers=bearer
        )
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def run_operation(operation, bearer: dict, seen: dict[str, set[int]], calls: list[str]) -> None:
    """One Hypothesis run of generated cases against one operation."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def call(case):
        calls.append(operation.label)
        if operation.label.startswith("POST") and len(calls) % 2:
            # Every other start names the organisation's real practitioner, so the
            # generated case reference, initials and age band reach a 201 too.
            case.body = {**case.body, "practitioner_email": "pat@example.org"}
        response = case.call_and_validate(headers=bearer, checks=CHECKS)
        seen.setdefault(operation.label, set()).add(response.status_code)

    call()


@pytest.mark.django_db
def test_every_response_matches_the_schema(api_schema, bearer):
    # Schemathesis's Python API, one Hypothesis run per operation (its pytest fixture loader
    # does not work with this pytest version, and the schema needs the test database's token).
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.label for op in operations} == {
        "POST /api/v1/decisions/",
        "GET /api/v1/records/",
        "GET /api/v1/records/{decision_id}/",
        "GET /api/v1/records/{decision_id}/pdf/",
    }
    seen: dict[str, set[int]] = {}
    calls: list[str] = []
    for operation in operations:
        run_operation(operation, bearer, seen, calls)
    # Both sides of every call were reached: refusals and answers.
    assert {201, 400} <= seen["POST /api/v1/decisions/"]
    assert 200 in seen["GET /api/v1/records/"]
    assert 404 in seen["GET /api/v1/records/{decision_id}/"]
    print(len(calls), "calls:", seen)


@pytest.mark.django_db
def test_real_records_match_the_schema(api_schema, bearer):
    """The generated cases mostly miss (random ids); these read real records and their PDF."""
    listing = api_schema["/api/v1/records/"]["GET"].Case()
    response = listing.call(headers=bearer)
    assert response.status_code == 200 and response.json()["count"] == 2
    listing.validate_response(response, checks=CHECKS)
    for record in response.json()["results"]:
        for path in ("/api/v1/records/{decision_id}/", "/api/v1/records/{decision_id}/pdf/"):
            case = api_schema[path]["GET"].Case(
                path_parameters={"decision_id": record["decision_id"]}
            )
            read = case.call(headers=bearer)
            assert read.status_code == 200
            case.validate_response(read, checks=CHECKS)
