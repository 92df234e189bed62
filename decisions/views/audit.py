"""The audit log pages for leads and administrators: the log with filters, its CSV export,
verifying the chain now, and who accessed one record.

Reads are in decisions.audit.queries; reading the log is itself logged.
"""

from __future__ import annotations

from datetime import date

from crispy_forms.utils import render_crispy_form
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from decisions import selectors
from decisions.access import REVIEWERS
from decisions.accounts.decorators import recent_authentication_required
from decisions.audit import AuditAction, audit_verify, queries
from decisions.audit.partitions import next_month
from decisions.forms.audit import AuditFilterForm
from decisions.models import AuditArchive, AuditVerification
from decisions.views.guards import role_required

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
    if value and value.isascii() and value.isdigit() and len(value) <= 18:
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
@require_http_methods(["GET", "POST"])
def audit_log_page(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _apply_filters(request)
    filtering = any(request.GET.get(key) for key in FILTER_KEYS)
    form = AuditFilterForm(request.GET if filtering else None, user=request.user)
    before, after = _cursor(request.GET.get("before")), _cursor(request.GET.get("after"))
    if filtering and not form.is_valid():
        page = queries.EventPage(events=[], older=None, newer=None)
    else:
        filters = form.filters() if filtering else queries.AuditFilters()
        events = queries.filtered_events(request.user, filters)
        at = _cursor(request.GET.get("at"))
        page = queries.event_page(
            events, before=before, after=after, at=at, anchor=queries.page_anchor(filters)
        )
        queries.log_read(
            AuditAction.AUDIT_VIEWED,
            user=request.user,
            details={**filters.as_details(), "before": before, "after": after},
        )
    return _render(request, form, page, _filter_query(request.GET))


def _apply_filters(request: HttpRequest) -> HttpResponse:
    """The posted filter form: redirect to the page's address with the filters (the person
    as an id, so an email address never sits in a URL), or show the errors."""
    form = AuditFilterForm(request.POST, user=request.user, from_query=False)
    if not form.is_valid():
        page = queries.EventPage(events=[], older=None, newer=None)
        return _render(request, form, page, "")
    query = QueryDict(mutable=True)
    query.update(form.query_data())
    address = reverse("review_audit")
    return redirect(f"{address}?{query.urlencode()}" if query else address)


# The empty filter form of a lead's page is the same for every lead: rendered once per process
# (crispy-forms took about a third of the page's time). Administrators' forms list the
# organisations, and a form with values or errors is the request's own: those render each time.
_empty_form_html: dict[str, str] = {}


def _form_html(form: AuditFilterForm) -> str:
    if form.is_bound or "organisation" in form.fields:
        return ""
    if "lead" not in _empty_form_html:
        _empty_form_html["lead"] = render_crispy_form(form)
    return _empty_form_html["lead"]


def _render(
    request: HttpRequest, form: AuditFilterForm, page: queries.EventPage, query: str
) -> HttpResponse:
    context = {
        "form": form,
        "form_html": _form_html(form),
        "page": page,
        "query": query,
        "verification": AuditVerification.objects.first(),
        "archived_before": _archived_before(),
    }
    return render(request, "review/audit_log.html", context, status=400 if form.errors else 200)


@role_required(*REVIEWERS)
@recent_authentication_required
@require_GET
def audit_export(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET, user=request.user)
    if not form.is_valid():
        messages.error(request, "Correct the filters before exporting.")
        return redirect(f"{reverse('review_audit')}?{_filter_query(request.GET)}")
    filters = form.filters()
    queries.log_read(AuditAction.AUDIT_EXPORTED, user=request.user, details=filters.as_details())
    rows = queries.export_rows(queries.filtered_events(request.user, filters))
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
        where = f" at event #{result.broken_sequence}" if result.broken_sequence else ""
        messages.error(
            request,
            f"The audit log is broken{where}: "
            f"{result.problem}. Tell your information governance lead.",
        )
    return redirect("review_audit")


@role_required(*REVIEWERS)
@require_GET
def record_access(request: HttpRequest, public_id: str) -> HttpResponse:
    decision = selectors.decision_for(request.user, public_id)
    before, after = _cursor(request.GET.get("before")), _cursor(request.GET.get("after"))
    at = _cursor(request.GET.get("at"))
    page = queries.event_page(queries.record_events(decision), before=before, after=after, at=at)
    queries.log_read(AuditAction.RECORD_ACCESS_VIEWED, user=request.user, obj=decision)
    context = {
        "decision": decision,
        "page": page,
        "query": "",
        "archived_before": _archived_before(),
    }
    return render(request, "review/record_access.html", context)


def _archived_before() -> date | None:
    """The first month still live, when older months have been archived (audit.archive)."""
    newest = AuditArchive.objects.order_by("-month").values_list("month", flat=True).first()
    return next_month(newest) if newest else None
