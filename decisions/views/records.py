"""Decisions once made: 'My decisions', the record, its PDF, and amendments."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from decisions import access, pdf, selectors, services
from decisions.access import DECIDERS, RECORD_READERS
from decisions.forms.wizard import AmendmentForm
from decisions.models import Role, Status
from decisions.navigation import resume_url
from decisions.views.guards import role_required


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each role to where its work starts."""
    role = request.user.role
    if role in DECIDERS:
        return redirect("my_decisions")
    if role == Role.MANAGER:
        return redirect("reports")
    return render(request, "decisions/home.html")


@role_required(*DECIDERS)
def my_decisions(request: HttpRequest) -> HttpResponse:
    decisions = list(selectors.own_decisions(request.user)[:200])
    drafts = [d for d in decisions if d.is_editable]
    for draft in drafts:
        draft.resume_url = resume_url(draft)
    context = {
        "drafts": drafts,
        "awaiting": [d for d in decisions if d.status == Status.AWAITING_APPROVAL],
        "made": [
            d for d in decisions if not d.is_editable and d.status != Status.AWAITING_APPROVAL
        ],
    }
    return render(request, "decisions/my_decisions.html", context)


@role_required(*RECORD_READERS)
def record(request: HttpRequest, public_id: str) -> HttpResponse:
    decision = selectors.decision_for(request.user, public_id)
    if (
        decision.is_editable
        and decision.created_by_id == request.user.pk
        and not decision.records.exists()
    ):
        return redirect(resume_url(decision))
    services.decision_viewed(decision=decision, user=request.user)
    records = list(decision.records.select_related("submitted_by").order_by("-round"))
    context = {
        "decision": decision,
        "latest": records[0] if records else None,
        "earlier_rounds": records[1:],
        "versions": selectors.decision_versions(request.user, decision),
        "can_amend": access.may_amend(decision, request.user),
    }
    return render(request, "decisions/record.html", context)


@role_required(*RECORD_READERS)
def record_pdf(request: HttpRequest, public_id: str) -> HttpResponse:
    decision = selectors.decision_for(request.user, public_id)
    latest = decision.latest_record()
    if latest is None:
        messages.warning(request, "A PDF is available once the decision has been submitted.")
        return redirect(resume_url(decision))
    content = pdf.render_record(decision, latest)
    services.decision_pdf_downloaded(decision=decision, user=request.user)
    response = HttpResponse(content, content_type="application/pdf")
    filename = f"{decision.reference}-v{decision.version}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@role_required(*DECIDERS)
@require_http_methods(["GET", "POST"])
def amend(request: HttpRequest, public_id: str) -> HttpResponse:
    decision = selectors.own_editable_decision(request.user, public_id)
    form = AmendmentForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            amendment = services.decision_amend(
                decision=decision, user=request.user, reason=form.cleaned_data["reason"]
            )
        except services.DecisionRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, "Amendment started. Change the answers that were wrong, then submit it."
            )
            return redirect("check_answers", amendment.public_id)
    status = 400 if form.errors else 200
    return render(
        request, "decisions/amend.html", {"decision": decision, "form": form}, status=status
    )
