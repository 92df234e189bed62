"""Decisions once made: 'My decisions', the record, its PDF, and amendments."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from decisions import access, pdf, selectors, services, verification
from decisions.access import DECIDERS, RECORD_READERS
from decisions.forms.wizard import AmendmentForm, DiscardForm
from decisions.models import Role, Status
from decisions.models.decisions import EDITABLE
from decisions.navigation import resume_url
from decisions.views.guards import role_required

MADE_PAGE = 25


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each role to where its work starts."""
    role = request.user.role
    if role == Role.LEAD and selectors.waiting_count(request.user):
        return redirect("review_approvals")  # a lead's first job: what waits for them
    if role in DECIDERS:
        return redirect("my_decisions")
    if role == Role.MANAGER:
        return redirect("reports")
    return render(request, "decisions/home.html")


@role_required(*DECIDERS)
def my_decisions(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()[:40]
    decisions = selectors.own_decisions(request.user)
    if search:
        decisions = decisions.filter(
            Q(reference__iexact=search) | Q(case_reference__icontains=search)
        )
    drafts = list(decisions.filter(status__in=EDITABLE)[:100])
    for draft in drafts:
        draft.resume_url = resume_url(draft)
    made = decisions.exclude(status__in=EDITABLE).exclude(status=Status.AWAITING_APPROVAL)
    context = {
        "search": search,
        "page_query": urlencode({"q": search}) if search else "",
        "drafts": drafts,
        "awaiting": list(decisions.filter(status=Status.AWAITING_APPROVAL)[:100]),
        "page": Paginator(made, MADE_PAGE).get_page(request.GET.get("page")),
        "reviewed": selectors.recent_reviews_of_own(request.user),
    }
    return render(request, "decisions/my_decisions.html", context)


@role_required(*DECIDERS)
@require_http_methods(["GET", "POST"])
def discard(request: HttpRequest, public_id: str) -> HttpResponse:
    decision = selectors.own_editable_decision(request.user, public_id)
    form = DiscardForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.decision_discard(
                decision=decision, user=request.user, reason=form.cleaned_data["reason"]
            )
        except services.DecisionRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Draft {decision.display_reference} discarded.")
            return redirect("my_decisions")
    status = 400 if form.errors else 200
    return render(
        request, "decisions/discard.html", {"decision": decision, "form": form}, status=status
    )


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
    content = pdf.record_pdf_bytes(decision, latest)  # rendered once, then served as stored
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


@role_required(*RECORD_READERS)
@require_http_methods(["GET"])
def verify(request: HttpRequest) -> HttpResponse:
    """Check a printed record's verification code (typed, or from its QR code)."""
    code = request.GET.get("code", "")[:40]
    result = None
    if "code" in request.GET:
        result = verification.verify_code(request.user, code)
        services.record_verified(user=request.user, code=code, result=result)
    status = 400 if result is not None and result.decision is None else 200
    return render(request, "decisions/verify.html", {"code": code, "result": result}, status=status)
