"""/api/v1/: the calls and the OpenAPI schema (included by decisions/urls.py)."""

from django.urls import path
from drf_spectacular.views import SpectacularJSONAPIView

from decisions.api import views

urlpatterns = [
    path("decisions/", views.DecisionStart.as_view(), name="api_decision_start"),
    path("records/", views.RecordList.as_view(), name="api_records"),
    path("records/<uuid:decision_id>/", views.RecordDetail.as_view(), name="api_record"),
    path("records/<uuid:decision_id>/pdf/", views.RecordPdf.as_view(), name="api_record_pdf"),
    # Any valid token may read the schema (so a case system's developer can generate a client).
    path("schema/", SpectacularJSONAPIView.as_view(), name="api_schema"),
]
