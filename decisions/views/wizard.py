"""The guided decision: start, one question per page, outcome, check answers, submit.

Views are thin: the engine decides the route, decisions.navigation maps it to pages (one walk
per request), services write.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from decisions import access, selectors, services
from decisions.access import DECIDERS
from decisions.api import launch
from decisions.forms.wizard import StepForm, initial_for
from decisions.guidance import engine
from decisions.guidance.store import NoGuidancePack, current_pack, superseded_only_pack
from decisions.models import Decision, Status
from decisions.navigation import Place, resume_url
from decisions.snapshot import (
    answered_only,
    build_snapshot,
    display_value,
    sources_by_document,
)
from decisions.views.guards import role_required


@role_required(*DECIDERS)
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    """'Before you start': the safety message, minimum data, the edition's golden rules."""
    try:
        pack = current_pack()
    except NoGuidancePack as exc:
        context = {"message": str(exc), "superseded": superseded_only_pack()}
        return render(request, "decisions/no_pack.html", context, status=503)
    if request.method == "POST":
        decision = services.decision_start(user=request.user, pack=pack)
        return redirect(resume_url(decision))
    return render(request, "decisions/start.html", {"pack": pack.pack})


def _editable(request: HttpRequest, public_id: str) -> Decision | HttpResponse:
    decision = selectors.own_editable_decision(request.user, public_id)
    if not decision.is_editable:
        messages.info(request, "This decision has been submitted, so it can no longer be changed.")
        return redirect("record", decision.public_id)
    return decision


@role_required(*DECIDERS)
@require_http_methods(["GET", "POST"])
def step(request: HttpRequest, public_id: str, step_id: str) -> HttpResponse:
    decision = _editable(request, public_id)
    if isinstance(decision, HttpResponse):
        return decision
    pack = decision.pack.pack
    if step_id not in pack.steps:
        raise Http404("No such question")
    place = Place.of(decision)
    if not place.walk.is_open(step_id):
        messages.warning(request, "Answer the questions in order. This is the next one.")
        return redirect(place.resume_url())
    this_step = pack.steps[step_id]
    data = request.POST if request.method == "POST" else None
    initial = initial_for(pack, this_step, decision.answers)
    initial = launch.with_prefill(request.session, decision, initial)  # area api: case system
    form = StepForm(pack, this_step, decision.answers, data, initial=initial)
    later = request.method == "POST" and "later" in request.POST
    if later and not form.is_valid():
        messages.info(
            request,
            f"{decision.display_reference} is saved up to the question before this one. This "
            "page was not saved because it was not complete.",
        )
        return redirect("my_decisions")
    if request.method == "POST" and form.is_valid():
        try:
            answered = services.decision_answer(
                decision=decision, user=request.user, step_id=step_id, values=form.answer_values()
            )
        except services.DecisionRefused as exc:
            messages.error(request, str(exc))
            return redirect(place.resume_url())
        if answered.dropped:
            titles = [pack.steps[s].title for s in answered.dropped]
            messages.info(
                request,
                "Your change means these answers no longer apply and were "
                "removed: " + "; ".join(titles),
            )
        if any(f.name == "case_reference" for f in this_step.fields):
            _warn_of_other_drafts(request, decision)
        if later:
            messages.success(
                request, f"{decision.display_reference} is saved. Continue it from this list."
            )
            return redirect("my_decisions")
        after = Place(decision, answered.walk).after_answer_url(
            step_id, returning_to_check=request.GET.get("return") == "check"
        )
        return redirect(after)
    returning = request.GET.get("return") == "check"
    number, total, section = engine.progress(pack, place.walk, step_id)
    context = {
        "decision": decision,
        "step": this_step,
        "pack": pack,
        "form": form,
        "back_url": place.url(engine.END) if returning else place.back_url(step_id),
        "returning": returning,
        "sources": pack.sources,
        "single_field": form.single_field,
        "progress": f"Section {number} of {total}: {section}",
        "recalled": recalled_answers(pack, this_step, place.walk),
    }
    return render(request, "decisions/step.html", context, status=400 if form.errors else 200)


def recalled_answers(
    pack: engine.Pack, step: engine.Step, walk: engine.Walk
) -> list[tuple[str, str]]:
    """(question, answer in words) of the earlier answers this page shows (the advice taken)."""
    recalled = []
    for name in step.recall:
        value = walk.values.get(name)
        if value not in (None, "", []):
            field = pack.field(name)
            recalled.append((field.label, display_value(field, value)))
    return recalled


def _warn_of_other_drafts(request: HttpRequest, decision: Decision) -> None:
    decision.refresh_from_db(fields=["case_reference"])
    others = selectors.drafts_with_same_case(decision)
    if others:
        references = ", ".join(d.display_reference for d in others)
        messages.warning(
            request,
            f"You already have a draft for case reference {decision.case_reference}: "
            f"{references}. Carry on here only if this is a different decision; you can "
            "discard a draft from 'My decisions'.",
        )


@role_required(*DECIDERS)
def outcome(request: HttpRequest, public_id: str) -> HttpResponse:
    decision = _editable(request, public_id)
    if isinstance(decision, HttpResponse):
        return decision
    place = Place.of(decision)
    walk = place.walk
    if walk.outcome is None:
        return redirect(place.resume_url())
    context = {
        "decision": decision,
        "walk": walk,
        "outcome": walk.outcome,
        "pack": decision.pack.pack,
        "next_url": place.url(walk.after(walk.outcome.id)),
        "back_url": place.back_url(walk.outcome.id),
    }
    return render(request, "decisions/outcome.html", context)


@role_required(*DECIDERS)
@require_http_methods(["GET", "POST"])
def check_answers(request: HttpRequest, public_id: str) -> HttpResponse:
    decision = _editable(request, public_id)
    if isinstance(decision, HttpResponse):
        return decision
    place = Place.of(decision)
    if not place.walk.complete:
        messages.warning(request, "Answer the remaining questions before checking your answers.")
        return redirect(place.resume_url())
    if request.method == "POST":
        try:
            services.decision_submit(decision=decision, user=request.user)
        except services.DecisionRefused as exc:
            messages.error(request, str(exc))
            return redirect(place.resume_url())
        return redirect("confirmation", decision.public_id)
    snapshot = build_snapshot(decision.pack.pack, decision.answers)
    context = {
        "decision": decision,
        "snapshot": answered_only(snapshot),
        "sources": sources_by_document(snapshot),
        "back_url": place.url(place.walk.path[-1]),
    }
    return render(request, "decisions/check_answers.html", context)


@role_required(*DECIDERS)
def confirmation(request: HttpRequest, public_id: str) -> HttpResponse:
    decision = selectors.own_editable_decision(request.user, public_id)
    if decision.is_editable:
        return redirect(resume_url(decision))
    awaiting = decision.status == Status.AWAITING_APPROVAL
    review_after = decision.status == Status.REVIEW_AFTER
    return render(
        request,
        "decisions/confirmation.html",
        {
            "decision": decision,
            "awaiting": awaiting,
            "review_after": review_after,
            "approver_level": access.approver_level(decision) if awaiting or review_after else "",
        },
    )
