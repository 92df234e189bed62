"""Safeguarding lead pages: approvals queue, approve or return, audit log, who accessed a record.

Also the decider's "Reconsider with new information". Views are thin: sign-off writes are in
decisions.signoff, audit reads in decisions.audit_log, and every record lookup goes through
decisions.selectors, so another organisation's record answers 404 (and the refusal is logged).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from decisions import audit_log, selectors, services, signoff
from decisions.audit import audit_verify, record_refusal
from decisions.models import AuditVerification, Decision, ReviewAction, Role, User
from decisions.review_forms import AuditFilterForm, ReviewForm
from decisions.views.access import DECIDERS, role_required
from decisions.views.wizard import resume_url

REVIEWERS = (Role.LEAD, Role.ADMIN)
# The filter fields of the audit log; anything else in the query string is ignored.
FILTER_KEYS = (
    "person",
    "organisation",
    "action",
    "reference",
    "date_from_0",
    "date_from_1",
    "date_from_2",
    "date_to_0",
    "date_to_1",
    "date_to_2",
)


def _cursor(value: str | None) -> int | None:
    """A keyset cursor from the query string; anything but a plain sequence number is ignored."""
    if value and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


def _filter_query(params: QueryDict) -> str:
    """The filters only, for page and export links (the cursor is added by the template)."""
    query = QueryDict(mutable=True)
    for key in FILTER_KEYS:
        if params.get(key):
            query[key] = params[key]
    return query.urlencode()


@role_required(*REVIEWERS)
@require_GET
def approvals(request: HttpRequest) -> HttpResponse:
    context = {
        "queue": list(signoff.approval_queue(request.user)[:200]),
        "recent": list(signoff.recent_reviews(request.user)[:20]),
    }
    return render(request, "review/approvals.html", context)


def _review_context(decision: Decision, user: User, form: ReviewForm) -> dict[str, Any]:
    records = list(decision.records.select_related("submitted_by").order_by("-round"))
    return {
        "decision": decision,
        "latest": records[0] if records else None,
        "form": form,
        "can_review": signoff.can_review(decision, user),
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
    if request.user.role != Role.LEAD:
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


@role_required(*REVIEWERS)
@require_GET
def audit_log_page(request: HttpRequest) -> HttpResponse:
    filtering = any(request.GET.get(key) for key in FILTER_KEYS)
    form = AuditFilterForm(request.GET if filtering else None, user=request.user)
    before, after = _cursor(request.GET.get("before")), _cursor(request.GET.get("after"))
    if filtering and not form.is_valid():
        page = audit_log.EventPage(events=[], older=None, newer=None)
    else:
        filters = form.filters() if filtering else audit_log.AuditFilters()
        events = audit_log.filtered_events(request.user, filters)
        page = audit_log.event_page(events, before=before, after=after)
        audit_log.log_read(
            "audit.viewed",
            user=request.user,
            details={**filters.as_details(), "before": before, "after": after},
        )
    context = {
        "form": form,
        "page": page,
        "query": _filter_query(request.GET),
        "verification": AuditVerification.objects.first(),
        "actions": audit_log.ACTIONS,
    }
    return render(request, "review/audit_log.html", context, status=400 if form.errors else 200)


@role_required(*REVIEWERS)
@require_GET
def audit_export(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET, user=request.user)
    if not form.is_valid():
        messages.error(request, "Correct the filters before exporting.")
        return redirect(f"{reverse('review_audit')}?{_filter_query(request.GET)}")
    filters = form.filters()
    audit_log.log_read("audit.exported", user=request.user, details=filters.as_details())
    rows = audit_log.export_rows(audit_log.filtered_events(request.user, filters))
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="isg-audit-{stamp}.csv"'
    return response


@role_required(*REVIEWERS)
@require_POST
def audit_verify_now(request: HttpRequest) -> HttpResponse:
    result = audit_verify(user=request.user)
    if result.ok:
        messages.success(request, f"The audit log is intact: {result.checked} events checked.")
    else:
        messages.error(
            request,
            f"The audit log is broken at event #{result.broken_sequence}: "
            f"{result.problem}. Tell your information governance lead.",
        )
    return redirect("review_audit")


@role_required(*REVIEWERS)
@require_GET
def record_access(request: HttpRequest, public_id: str) -> HttpResponse:
    decision = selectors.decision_for(request.user, public_id)
    before, after = _cursor(request.GET.get("before")), _cursor(request.GET.get("after"))
    page = audit_log.event_page(audit_log.record_events(decision), before=before, after=after)
    audit_log.log_read("audit.record_access_viewed", user=request.user, obj=decision)
    context = {"decision": decision, "page": page, "query": "", "actions": audit_log.ACTIONS}
    return render(request, "review/record_access.html", context)


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


urlpatterns: list[URLPattern] = [
    path("review/approvals/", approvals, name="review_approvals"),
    path("review/approvals/<uuid:public_id>/", approval, name="review_approval"),
    path("review/audit/", audit_log_page, name="review_audit"),
    path("review/audit/export.csv", audit_export, name="review_audit_export"),
    path("review/audit/verify/", audit_verify_now, name="review_audit_verify"),
    path("review/records/<uuid:public_id>/access/", record_access, name="review_record_access"),
    path("decisions/<uuid:public_id>/reconsider/", reconsider, name="reconsider"),
]
