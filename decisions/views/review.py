"""Sign-off pages: the lead's approvals queue, approve or return; the decider's "Reconsider
with new information".

Views are thin: sign-off writes are in decisions.signoff, and every record lookup goes
through decisions.selectors, so another organisation's record answers 404 (and the refusal
is logged).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from decisions import access, selectors, services, signoff
from decisions.access import DECIDERS, REVIEWERS
from decisions.audit import record_refusal
from decisions.forms.review import ReviewForm
from decisions.models import Decision, ReviewAction, Role, User
from decisions.navigation import resume_url
from decisions.snapshot import key_facts
from decisions.views.guards import role_required

QUEUE_PAGE = 25


@role_required(*REVIEWERS)
@require_GET
def approvals(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "")[:40]
    queue = Paginator(selectors.approval_queue(request.user, search=search), QUEUE_PAGE)
    context = {
        "page": queue.get_page(request.GET.get("page")),
        "search": search,
        "page_query": urlencode({"q": search}) if search else "",
        "recent": list(selectors.recent_reviews(request.user)[:20]),
    }
    return render(request, "review/approvals.html", context)


def _review_context(decision: Decision, user: User, form: ReviewForm) -> dict[str, Any]:
    records = list(decision.records.select_related("submitted_by").order_by("-round"))
    latest = records[0] if records else None
    return {
        "decision": decision,
        "latest": latest,
        "facts": key_facts(latest.snapshot) if latest else [],
        "form": form,
        "can_review": access.may_review(decision, user),
        "own": decision.created_by_id == user.pk,
    }


@role_required(*REVIEWERS)
@require_http_methods(["GET", "POST"])
def approval(request: HttpRequest, public_id: str) -> HttpResponse:
    decision = selectors.decision_for(request.user, public_id)
    if request.method == "GET":
        services.decision_viewed(decision=decision, user=request.user)
        return render(
            request, "review/approval.html", _review_context(decision, request.user, ReviewForm())
        )
    if request.user.role != Role.LEAD and not access.may_review(decision, request.user):
        record_refusal(
            user=request.user,
            reason="role",
            object_kind="decision",
            object_id=str(decision.public_id),
            details={"view": "review_approval"},
        )
        raise PermissionDenied("Only a safeguarding lead can approve or return a decision.")
    form = ReviewForm(request.POST)
    if form.is_valid():
        approve = form.cleaned_data["outcome"] == ReviewAction.APPROVED
        review = signoff.decision_approve if approve else signoff.decision_return
        try:
            review(decision=decision, user=request.user, comments=form.cleaned_data["comments"])
        except services.DecisionRefused as exc:
            form.add_error(None, str(exc))
        else:
            done = "approved. It now takes effect" if approve else "returned to its decider"
            messages.success(request, f"{decision.display_reference} {done}.")
            return redirect("review_approvals")
    decision.refresh_from_db()
    return render(
        request, "review/approval.html", _review_context(decision, request.user, form), status=400
    )


@role_required(*DECIDERS)
@require_http_methods(["GET", "POST"])
def reconsider(request: HttpRequest, public_id: str) -> HttpResponse:
    decision = selectors.own_editable_decision(request.user, public_id)
    errors: list[str] = []
    if request.method == "POST":
        try:
            new = signoff.decision_reconsider(decision=decision, user=request.user)
        except services.DecisionRefused as exc:
            errors.append(str(exc))
        else:
            messages.success(
                request,
                f"{new.reference} started from the answers of "
                f"{decision.display_reference}. Change what the new information "
                "affects, then submit it.",
            )
            return redirect(resume_url(new))
    context = {
        "decision": decision,
        "errors": errors,
        "allowed": decision.status in signoff.RECONSIDERABLE,
    }
    return render(request, "review/reconsider.html", context, status=400 if errors else 200)
