"""The guided decision: start, one question per page, outcome, check answers, submit.

Views are thin: the engine (decisions.flowchart) decides what comes next, services write.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from decisions import selectors, services
from decisions.guidance import engine
from decisions.forms import StepForm, initial_for
from decisions.models import Decision, Status
from decisions.snapshot import build_snapshot
from decisions.views.access import DECIDERS, role_required


def node_url(decision: Decision, node: str | None) -> str:
    """Where a flowchart node lives: a step page, the outcome page, or check your answers."""
    if node is None or node == engine.END:
        return reverse("check_answers", args=[decision.public_id])
    if node in decision.pack.pack.outcomes:
        return reverse("outcome", args=[decision.public_id])
    return reverse("step", args=[decision.public_id, node])


def resume_url(decision: Decision) -> str:
    if not decision.is_editable:
        return reverse("record", args=[decision.public_id])
    return node_url(decision, engine.walk(decision.pack.pack, decision.answers).next_step)


def _back_url(decision: Decision, node: str) -> str:
    walk = engine.walk(decision.pack.pack, decision.answers)
    nodes = walk.nodes() + ([walk.next_step] if walk.next_step else [])
    index = nodes.index(node) if node in nodes else len(nodes)
    if index == 0:
        return reverse("start")
    return node_url(decision, nodes[index - 1])


@role_required(*DECIDERS)
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    """'Before you start': the safety message, minimum data, the edition's golden rules."""
    try:
        pack = services.current_pack()
    except services.NoGuidancePack as exc:
        return render(request, "decisions/no_pack.html", {"message": str(exc)}, status=503)
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
    if not engine.is_on_path(pack, decision.answers, step_id):
        messages.warning(request, "Answer the questions in order. This is the next one.")
        return redirect(resume_url(decision))
    this_step = pack.steps[step_id]
    stored = decision.answers.get(step_id, {})
    data = request.POST if request.method == "POST" else None
    form = StepForm(this_step, data, initial=initial_for(this_step, stored))
    if request.method == "POST" and form.is_valid():
        try:
            dropped = services.decision_answer(
                decision=decision, user=request.user, step_id=step_id, values=form.answer_values()
            )
        except services.DecisionRefused as exc:
            messages.error(request, str(exc))
            return redirect(resume_url(decision))
        decision.refresh_from_db()
        if dropped:
            titles = [pack.steps[s].title for s in dropped]
            messages.info(
                request,
                "Your change means these answers no longer apply and were "
                "removed: " + "; ".join(titles),
            )
        if request.GET.get("return") == "check":
            # A change made from check your answers goes back there once the path is whole
            # again, visiting only the questions the change brought in.
            walk = engine.walk(pack, decision.answers)
            if walk.complete:
                return redirect("check_answers", decision.public_id)
            return redirect(node_url(decision, walk.next_step) + "?return=check")
        return redirect(node_url(decision, engine.node_after(pack, decision.answers, step_id)))
    context = {
        "decision": decision,
        "step": this_step,
        "pack": pack,
        "form": form,
        "back_url": _back_url(decision, step_id),
        "sources": pack.sources,
        "single_field": len(this_step.fields) == 1,
    }
    return render(request, "decisions/step.html", context, status=400 if form.errors else 200)


@role_required(*DECIDERS)
def outcome(request: HttpRequest, public_id: str) -> HttpResponse:
    decision = _editable(request, public_id)
    if isinstance(decision, HttpResponse):
        return decision
    pack = decision.pack.pack
    walk = engine.walk(pack, decision.answers)
    if walk.outcome is None:
        return redirect(resume_url(decision))
    context = {
        "decision": decision,
        "walk": walk,
        "outcome": walk.outcome,
        "pack": pack,
        "next_url": node_url(decision, walk.outcome.next),
        "back_url": _back_url(decision, walk.outcome.id),
    }
    return render(request, "decisions/outcome.html", context)


@role_required(*DECIDERS)
@require_http_methods(["GET", "POST"])
def check_answers(request: HttpRequest, public_id: str) -> HttpResponse:
    decision = _editable(request, public_id)
    if isinstance(decision, HttpResponse):
        return decision
    pack = decision.pack.pack
    walk = engine.walk(pack, decision.answers)
    if not walk.complete:
        messages.warning(request, "Answer the remaining questions before checking your answers.")
        return redirect(resume_url(decision))
    if request.method == "POST":
        try:
            services.decision_submit(decision=decision, user=request.user)
        except services.DecisionRefused as exc:
            messages.error(request, str(exc))
            return redirect(resume_url(decision))
        return redirect("confirmation", decision.public_id)
    context = {
        "decision": decision,
        "snapshot": build_snapshot(pack, decision.answers),
        "back_url": node_url(decision, walk.path[-1]),
    }
    return render(request, "decisions/check_answers.html", context)


@role_required(*DECIDERS)
def confirmation(request: HttpRequest, public_id: str) -> HttpResponse:
    decision = selectors.own_editable_decision(request.user, public_id)
    if decision.is_editable:
        return redirect(resume_url(decision))
    return render(
        request,
        "decisions/confirmation.html",
        {
            "decision": decision,
            "awaiting": decision.status == Status.AWAITING_APPROVAL,
        },
    )
