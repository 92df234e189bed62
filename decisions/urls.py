"""URLs: only opaque ids (UUIDs) and step names appear in paths, never personal data."""

from django.urls import path

from decisions.views import records, reports, review, wizard

urlpatterns = (
    [
        path("", records.home, name="home"),
        path("decisions/", records.my_decisions, name="my_decisions"),
        path("decisions/new/", wizard.start, name="start"),
        path("decisions/<uuid:public_id>/", records.record, name="record"),
        path("decisions/<uuid:public_id>/pdf/", records.record_pdf, name="record_pdf"),
        path("decisions/<uuid:public_id>/amend/", records.amend, name="amend"),
        path("decisions/<uuid:public_id>/step/<slug:step_id>/", wizard.step, name="step"),
        path("decisions/<uuid:public_id>/outcome/", wizard.outcome, name="outcome"),
        path("decisions/<uuid:public_id>/check/", wizard.check_answers, name="check_answers"),
        path("decisions/<uuid:public_id>/submitted/", wizard.confirmation, name="confirmation"),
    ]
    + review.urlpatterns
    + reports.urlpatterns
)
