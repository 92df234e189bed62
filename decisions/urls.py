"""Every route. Paths carry only opaque ids (UUIDs) and step names, never personal data."""

from django.urls import include, path

from decisions.api import administration as api_administration  # area api
from decisions.api import pages as api_pages  # area api
from decisions.views import audit, records, reports, review, wizard

urlpatterns = [
    # A practitioner's decisions, the wizard, and the record
    path("", records.home, name="home"),
    path("decisions/", records.my_decisions, name="my_decisions"),
    path("decisions/new/", wizard.start, name="start"),
    path("decisions/<uuid:public_id>/", records.record, name="record"),
    path("decisions/<uuid:public_id>/pdf/", records.record_pdf, name="record_pdf"),
    path("decisions/<uuid:public_id>/amend/", records.amend, name="amend"),
    path("decisions/<uuid:public_id>/discard/", records.discard, name="discard"),
    path("verify/", records.verify, name="verify"),
    path("decisions/<uuid:public_id>/reconsider/", review.reconsider, name="reconsider"),
    path("decisions/<uuid:public_id>/step/<slug:step_id>/", wizard.step, name="step"),
    path("decisions/<uuid:public_id>/outcome/", wizard.outcome, name="outcome"),
    path("decisions/<uuid:public_id>/check/", wizard.check_answers, name="check_answers"),
    path("decisions/<uuid:public_id>/submitted/", wizard.confirmation, name="confirmation"),
    # Sign-off
    path("review/approvals/", review.approvals, name="review_approvals"),
    path("review/approvals/<uuid:public_id>/", review.approval, name="review_approval"),
    # The audit log
    path("review/audit/", audit.audit_log_page, name="review_audit"),
    path("review/audit/export.csv", audit.audit_export, name="review_audit_export"),
    path("review/audit/verify/", audit.audit_verify_now, name="review_audit_verify"),
    path(
        "review/records/<uuid:public_id>/access/",
        audit.record_access,
        name="review_record_access",
    ),
    # Reports and exports
    path("reports/", reports.index, name="reports"),
    path("reports/decisions/", reports.decisions, name="report_decisions"),
    path("reports/export/", reports.export, name="report_export_start"),
    path("reports/exports/", reports.export_list, name="report_exports"),
    path("reports/charts/<slug:name>/<slug:digest>.svg", reports.chart, name="report_chart"),
    path("reports/exports/<uuid:public_id>/", reports.export_status, name="report_export"),
    path(
        "reports/exports/<uuid:public_id>/download/",
        reports.export_download,
        name="report_export_download",
    ),
    # Single sign-on and its administration: decisions/sso/urls.py
    path("", include("decisions.sso.urls")),
    # area api: the API for case-management systems (decisions/api/, docs/api.md)
    path("api/v1/", include("decisions.api.urls")),
    path("decisions/continue/<slug:key>/", api_pages.link, name="api_link"),
    path(
        "administration/organisations/<slug:slug>/api/",
        api_administration.index,
        name="api_admin",
    ),
    path(
        "administration/organisations/<slug:slug>/api/tokens/new/",
        api_administration.token_create,
        name="api_admin_token_create",
    ),
    path(
        "administration/organisations/<slug:slug>/api/tokens/<int:pk>/revoke/",
        api_administration.token_revoke,
        name="api_admin_token_revoke",
    ),
    path(
        "administration/organisations/<slug:slug>/api/webhooks/new/",
        api_administration.webhook_add,
        name="api_admin_webhook_add",
    ),
    path(
        "administration/organisations/<slug:slug>/api/webhooks/<int:pk>/remove/",
        api_administration.webhook_remove,
        name="api_admin_webhook_remove",
    ),
]
