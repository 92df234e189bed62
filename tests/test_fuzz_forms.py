"""Every form fuzzed with generated input (hypothesis): no response is a server error (500) and
nothing is half-saved.

The forms: every wizard step of every stored guidance pack (each reached by answers the engine
walks, built from the pack itself: no step or field name is written here), sign-off (approve
and return), reconsider, amend, the audit-log filters and its CSV, and the report filters and
export form. Generated values are text with control characters (NUL, vertical tab, form
feed...), very long text, unknown choice values and dates with huge, negative or empty parts.

Each test counts its requests and the responses >= 500; the totals are printed at the end of
the module (`pytest -s` or the terminal summary). Bounded: the whole file takes about a minute."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from decisions import services
from decisions.guidance import engine
from decisions.models import (
    Approval,
    AuditEvent,
    Decision,
    GuidancePack,
    Status,
)
from tests.conftest import client_for
from tests.fuzzing import (
    FUZZ,
    STATS,
    audit_params,
    nasty_text,
    no_record_without_its_event,
    paths_of,
    report_params,
    run,
    saved_problem,
    send,
    step_data,
    stored_packs,
    submitted,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def forms_only(settings):
    """These tests post to forms; signing in with a second factor is tested on its own."""
    settings.ISG_MFA_REQUIRED = False


@pytest.fixture(scope="module", autouse=True)
def report_counts(request):
    """Print how many requests the fuzzing made and how many ended in a server error."""
    yield
    statuses = ", ".join(f"{code}: {n}" for code, n in sorted(STATS["statuses"].items()))
    line = (
        f"fuzzing: {STATS['requests']} requests, {STATS['errors']} responses >= 500 "
        f"(statuses {statuses})"
    )
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\n{line}")


def fuzz_step(client: Client, decision: Decision, base: dict, step: engine.Step) -> None:
    url = reverse("step", args=[decision.public_id, step.id])
    saved_events = AuditEvent.objects.filter(
        action="decision.step_saved", object_id=str(decision.public_id)
    )

    @FUZZ
    @given(data=step_data(step))
    def post(data: dict[str, Any]) -> None:
        Decision.objects.filter(pk=decision.pk).update(answers=base, status=Status.DRAFT)
        events = saved_events.count()
        assert send(client, "post", url, data) < 500
        after = Decision.objects.get(pk=decision.pk)
        saved = saved_events.count() - events
        assert saved in (0, 1)
        if after.answers.get(step.id) != base.get(step.id):
            assert saved == 1, "answers changed without their audit event"
        if saved:
            assert saved_problem(step, after.answers.get(step.id, {})) == ""
        assert after.status == Status.DRAFT and not after.records.exists()

    post()


def test_every_step_of_every_stored_pack_survives_generated_answers(practitioner):
    client = client_for(practitioner)
    failures, fuzzed = [], 0
    for stored in stored_packs():
        paths = paths_of(stored)
        unreached = set(stored.pack.steps) - set(paths.reaching)
        assert not unreached, f"{stored}: no answers found that reach {sorted(unreached)}"
        decision = services.decision_start(user=practitioner, pack=stored)
        for step_id, base in paths.reaching.items():
            try:
                fuzz_step(client, decision, base, stored.pack.steps[step_id])
            except Exception as exc:  # go on to the other steps; report them all
                failures.append(f"{stored} step {step_id}: {exc!r}"[:2000])
            fuzzed += 1
    assert fuzzed
    assert failures == []
    no_record_without_its_event()


def test_a_control_character_in_a_wizard_answer_is_explained_not_a_500(practitioner):
    """Known crash, fixed: NUL or a vertical tab typed into a text answer."""
    stored = GuidancePack.objects.get(is_current=True)
    paths = paths_of(stored)
    step_id, field = next(
        (s, f)
        for s in paths.reaching
        for f in stored.pack.steps[s].fields
        if f.kind in ("text", "textarea")
    )
    decision = services.decision_start(user=practitioner, pack=stored)
    Decision.objects.filter(pk=decision.pk).update(answers=paths.reaching[step_id])
    client = client_for(practitioner)
    url = reverse("step", args=[decision.public_id, step_id])
    for bad in ("a\x00b", "a\x0bb", "a\x0cb"):
        step = stored.pack.steps[step_id]
        data = {f.name: "" for f in step.fields} | {field.name: bad}
        assert send(client, "post", url, data) == 400
    assert step_id not in Decision.objects.get(pk=decision.pk).answers


def test_sign_off_survives_generated_input(practitioner, lead):
    client = client_for(lead)
    waiting = [submitted(practitioner, needs_approval=True)]
    outcome = st.one_of(st.sampled_from(["approved", "returned", ""]), nasty_text)

    def post(data: dict[str, Any]) -> None:
        decision, reviews = waiting[0], Approval.objects.count()
        url = reverse("review_approval", args=[decision.public_id])
        assert send(client, "post", url, data) < 500
        status = Decision.objects.get(pk=decision.pk).status
        reviewed = status != Status.AWAITING_APPROVAL
        assert Approval.objects.count() - reviews == reviewed
        if reviewed:  # approved or returned: the next example reviews a new decision
            waiting[0] = submitted(practitioner, needs_approval=True)

    run(30, st.fixed_dictionaries({"outcome": outcome, "comments": nasty_text}), post)
    no_record_without_its_event()


def test_amend_and_reconsider_survive_generated_input(practitioner):
    decision = submitted(practitioner, needs_approval=False)
    client = client_for(practitioner)
    amend = reverse("amend", args=[decision.public_id])
    reconsider = reverse("reconsider", args=[decision.public_id])

    def post(data: dict[str, Any]) -> None:
        decisions, started = (
            Decision.objects.count(),
            AuditEvent.objects.filter(
                action__in=["decision.amendment_started", "decision.reconsidered"]
            ),
        )
        before = started.count()
        assert send(client, "post", amend, data) < 500
        assert send(client, "post", reconsider, data) < 500
        assert Decision.objects.count() - decisions == started.count() - before

    run(25, st.fixed_dictionaries({"reason": nasty_text}), post)
    no_record_without_its_event()


@pytest.mark.parametrize("role", ["lead", "admin_user"])
def test_the_audit_log_filters_survive_generated_input(request, role):
    client = client_for(request.getfixturevalue(role))

    def get(params: dict[str, Any]) -> None:
        assert send(client, "get", reverse("review_audit"), params) < 500
        assert send(client, "get", reverse("review_audit_export"), params) < 500

    run(25, audit_params(), get)


def test_a_20_digit_year_in_the_audit_filter_is_explained_not_a_500(lead):
    """Known crash, fixed: a year too big for a date."""
    params = {"date_from_0": "1", "date_from_1": "1", "date_from_2": "9" * 20}
    response = client_for(lead).get(reverse("review_audit"), params)
    assert response.status_code == 400
    assert "Enter a real date" in response.content.decode()


@pytest.mark.parametrize("cursor", ["before", "after"])
def test_found_by_fuzzing_a_superscript_digit_as_the_audit_cursor_is_not_a_500(lead, cursor):
    client = client_for(lead)
    client.raise_request_exception = False
    assert client.get(reverse("review_audit"), {cursor: "³"}).status_code < 500


@pytest.mark.parametrize("role", ["manager", "partnership_manager"])
def test_the_report_filters_and_exports_survive_generated_input(
    request, role, practitioner, settings, tmp_path
):
    settings.ISG_EXPORTS_DIR = tmp_path
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    submitted(practitioner, needs_approval=False)
    client = client_for(request.getfixturevalue(role))
    kind = st.one_of(st.sampled_from(["csv", "records", "", "xlsx"]), nasty_text)

    def exported(params: dict[str, Any]) -> None:
        assert send(client, "get", reverse("reports"), params) < 500
        assert send(client, "post", reverse("report_export_start"), params) < 500

    run(20, st.tuples(report_params(), kind).map(lambda p: {**p[0], "kind": p[1]}), exported)
    # The PDF is slow to draw, so it gets fewer examples.
    run(4, report_params().map(lambda p: {**p, "kind": "pdf"}), exported)


def test_the_paths_found_reach_outcomes_with_and_without_sign_off():
    stored = GuidancePack.objects.get(is_current=True)
    assert set(paths_of(stored).complete) == {True, False}
