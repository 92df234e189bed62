"""Manager pages: decision reports with charts, the decisions behind a figure (drill-down),
and exports (CSV, PDF, record zips).

Views are thin: decisions.reports counts (figures), draws (charts), lists (drilldown) and
exports (with their audit events). Filters travel in the query string (dates, an
organisation's slug, choice values: no personal data); exports are POSTs because they are
recorded. A background export is checked again for its owner at every look
(decisions.reports.exports.export_refusal): one they may no longer have answers 404, and the
refusal is logged. A drill-down of an aggregate-only report answers 403 (logged): partnership
figures never lead to a list of decisions.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from csp.constants import NONE, UNSAFE_INLINE
from csp.decorators import csp
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from decisions import access
from decisions.access import REPORTERS
from decisions.accounts.decorators import recent_authentication_required
from decisions.audit import record_refusal
from decisions.forms.reports import DrilldownForm, ReportFilterForm, form_for
from decisions.headers import kept_privately
from decisions.models import Export, ExportKind, ExportStatus
from decisions.reports import chart_images, exports
from decisions.reports.documents import CONTENT_TYPES, ExportRefused
from decisions.reports.drilldown import DrilldownRefused, drilldown_decisions, drilldown_viewed
from decisions.reports.figures import build_report, describe_duration
from decisions.reports.filters import is_aggregate_only
from decisions.reports.storage import ExportFileUnavailable, export_file_open
from decisions.views.guards import role_required

# A chart is matplotlib's SVG: no script, styled by attributes. Should a browser apply the
# image's own policy (or the image be opened on its own), it needs inline styles, nothing else:
# the whole policy of a chart response.
CHART_CSP = {"default-src": [NONE], "style-src": [UNSAFE_INLINE], "frame-ancestors": [NONE]}


class ExportForm(forms.Form):
    kind = forms.ChoiceField(
        choices=ExportKind.choices,
        error_messages={
            "required": "Choose what to export",
            "invalid_choice": "Choose what to export",
        },
    )


def _page(request: HttpRequest, form: ReportFilterForm, status: int = 200) -> HttpResponse:
    """The reports page: the filters, and the figures when the filters are valid."""
    context: dict = {
        "form": form,
        "presets": form.preset_links(timezone.localdate()),
        "exports": exports.listed_exports(request.user)[:5],
        "retention_days": settings.ISG_EXPORT_RETENTION_DAYS,
    }
    if form.is_valid() and status == 200:
        filters = form.filters()
        report = build_report(request.user, filters)
        own = not is_aggregate_only(request.user, filters)
        context.update(
            report=report,
            # Each chart is an <img> at its own address (report_chart): drawn by that request.
            charts=chart_images.page_charts(request.user, filters, report),
            chart_query=urlencode(sorted(filters.form_data().items())),
            described=filters.described(),
            export_fields=sorted(filters.form_data().items()),
            turnaround_median=describe_duration(report.turnaround.median),
            turnaround_p90=describe_duration(report.turnaround.p90),
            records_allowed=own,
            # Figures link to their decisions in a report of the manager's own organisation.
            drilldown_query=urlencode(sorted(filters.form_data().items())) if own else "",
        )
    return render(request, "reports/index.html", context, status=status)


@role_required(*REPORTERS)
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    form = form_for(request.user, request.GET)
    return _page(request, form, status=200 if form.is_valid() else 400)


CHART_KEPT_SECONDS = 365 * 24 * 60 * 60  # a chart's address changes with its numbers


@role_required(*REPORTERS)
@require_GET
@csp(CHART_CSP)
def chart(request: HttpRequest, name: str, digest: str) -> HttpResponse:
    """One chart of the reports page, as an SVG image. Its address is the report's filters and
    the digest of what it plots: a chart the user's report does not show is 404, like filters
    they may not use (another organisation's)."""
    form = form_for(request.user, request.GET)
    if not form.is_valid():
        raise Http404("No such chart")
    plot = chart_images.shown_plot(request.user, form.filters(), name, digest)
    if plot is None:
        raise Http404("No such chart")
    response = HttpResponse(chart_images.chart_svg(plot), content_type="image/svg+xml")
    return kept_privately(response, CHART_KEPT_SECONDS)


DRILLDOWN_PAGE = 50


def _invalid(request: HttpRequest, form: forms.Form, back: str = "") -> HttpResponse:
    """A drill-down whose filters or figure are not valid: 400, with a GOV.UK error summary
    (it links back to the reports page, where the filters can be corrected)."""
    errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
    context = {"form": form, "errors": errors, "back": back or reverse("reports")}
    return render(request, "reports/decisions.html", context, status=400)


@role_required(*REPORTERS)
@require_GET
def decisions(request: HttpRequest) -> HttpResponse:
    """The decisions behind one figure of a report (same filters, plus the figure's value)."""
    form = form_for(request.user, request.GET)
    if not form.is_valid():
        return _invalid(request, form)
    filters = form.filters()
    back = f"{reverse('reports')}?{urlencode(sorted(filters.form_data().items()))}"
    figure = DrilldownForm(request.GET, filters=filters)
    if not figure.is_valid():
        return _invalid(request, figure, back)
    drill = figure.drilldown()
    try:
        found = drilldown_decisions(request.user, filters, drill)
    except DrilldownRefused as exc:
        match = request.resolver_match
        record_refusal(
            user=request.user,  # type: ignore[arg-type]
            reason="aggregate_only",
            details={"view": match.view_name if match else "", "filters": filters.to_json()},
        )
        context = {"message": str(exc), "back": back}
        return render(request, "reports/decisions_refused.html", context, status=403)
    page = Paginator(found, DRILLDOWN_PAGE).get_page(request.GET.get("page"))
    drilldown_viewed(
        user=request.user,
        filters=filters,
        drill=drill,
        count=page.paginator.count,
        page=page.number,
        shown=page.object_list,
    )
    title, value = drill.described()
    context = {
        "page": page,
        "figure_title": title,
        "figure_value": value,
        "described": filters.described(),
        "query": urlencode(sorted({**filters.form_data(), **drill.to_json()}.items())),
        "back": back,
    }
    return render(request, "reports/decisions.html", context)


@role_required(*REPORTERS)
@recent_authentication_required
@require_POST
def export(request: HttpRequest) -> HttpResponse:
    form = form_for(request.user, request.POST)
    choice = ExportForm(request.POST)
    if not form.is_valid() or not choice.is_valid():
        for error in choice.errors.get("kind", []):
            form.add_error(None, error)
        return _page(request, form, status=400)
    try:
        result = exports.export_start(
            user=request.user, filters=form.filters(), kind=choice.cleaned_data["kind"]
        )
    except ExportRefused as exc:
        form.add_error(None, str(exc))
        return _page(request, form, status=400)
    if isinstance(result, Export):
        messages.info(
            request,
            "This export is large, so it is being prepared in the "
            "background. It will be ready to download on this page.",
        )
        return redirect("report_export", result.public_id)
    response = StreamingHttpResponse(result.chunks, content_type=result.content_type)
    response["Content-Disposition"] = f'attachment; filename="{result.filename}"'
    response["Cache-Control"] = "no-store"
    return response


@role_required(*REPORTERS)
@require_GET
def export_list(request: HttpRequest) -> HttpResponse:
    context = {
        "exports": exports.listed_exports(request.user)[:50],
        "retention_days": settings.ISG_EXPORT_RETENTION_DAYS,
    }
    return render(request, "reports/exports.html", context)


def _own_export(request: HttpRequest, public_id: str) -> Export:
    """The user's export if they may still have it; 404 (logged) otherwise."""
    export = access.visible_exports(request.user).filter(public_id=public_id).first()
    reason = exports.export_refusal(export, request.user) if export else "not_found"
    if reason:
        match = request.resolver_match
        record_refusal(
            user=request.user,  # type: ignore[arg-type]
            reason=reason,
            object_kind="export",
            object_id=str(public_id),
            details={"view": match.view_name if match else ""},
        )
        raise Http404("No such export")
    return export  # type: ignore[return-value]


@role_required(*REPORTERS)
@require_GET
def export_status(request: HttpRequest, public_id: str) -> HttpResponse:
    export = _own_export(request, public_id)
    kept = timedelta(days=settings.ISG_EXPORT_RETENTION_DAYS)
    pending = export.status in (ExportStatus.QUEUED, ExportStatus.RUNNING)
    return render(
        request,
        "reports/export.html",
        {
            "export": export,
            "pending": pending,
            # The page reloads itself (a meta refresh: no script) until the export is done,
            # unless its reader stopped that (refresh=off, for anyone a moving page disturbs).
            "refresh": pending and request.GET.get("refresh") != "off",
            "filename": exports.stored_download_name(export),
            "retention_days": settings.ISG_EXPORT_RETENTION_DAYS,
            "deleted_after": export.finished_at + kept if export.finished_at else None,
        },
    )


STORAGE_UNAVAILABLE = (
    "ISG could not fetch this export's file just now. Try again in a few minutes; "
    "if it keeps happening, tell your administrator."
)


@role_required(*REPORTERS)
@recent_authentication_required
@require_GET
def export_download(request: HttpRequest, public_id: str) -> HttpResponse:
    export = _own_export(request, public_id)
    try:
        handle = export_file_open(export)
    except ExportFileUnavailable:
        messages.error(request, STORAGE_UNAVAILABLE)
        return redirect("report_export", export.public_id)
    if handle is None:
        messages.warning(request, "This export is not ready to download.")
        return redirect("report_export", export.public_id)
    # Streamed from the storage by this view, after its checks: ISG never hands out an
    # object-storage URL, which would work for anyone holding it (docs/scaling.md).
    exports.export_downloaded(export=export, user=request.user)
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=exports.stored_download_name(export),
        content_type=CONTENT_TYPES[ExportKind(export.kind)],
    )
    response["Cache-Control"] = "no-store"
    return response
