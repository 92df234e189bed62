"""The API's calls (/api/v1/): start a decision; list, read and download submitted records.

Every call is an audit event naming the token, in the transaction of what the call does
(a read is audited as it is served); a refused call with a known token is one too, and an
unknown token's refusals are throttled like other anonymous refusals. Records are looked up
within the token's organisation only, so another organisation's record is a 404.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from decisions import pdf
from decisions.api import launch, records
from decisions.api.serializers import (
    DecisionRecordOut,
    DecisionStarted,
    DecisionStartRequest,
    ErrorOut,
    RecordFilters,
)
from decisions.api.tokens import record_api_event
from decisions.audit import AuditAction, record_refusal, throttled
from decisions.guidance.store import NoGuidancePack
from decisions.models import ApiScope, ApiToken, Decision

ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid values, by field"),
    401: OpenApiResponse(ErrorOut, description="No token, or an unknown or revoked one"),
    403: OpenApiResponse(ErrorOut, description="The token lacks the scope"),
    404: OpenApiResponse(ErrorOut, description="No such record in your organisation"),
    415: OpenApiResponse(ErrorOut, description="Send JSON"),
    429: OpenApiResponse(ErrorOut, description="Too many calls with this token; wait"),
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: ERRORS[code] for code in codes}


class ApiView(APIView):
    required_scope: str | None = None

    @property
    def token(self) -> ApiToken:
        return self.request.auth  # type: ignore[return-value]

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        # Records hold personal data: no cache (a proxy's, the client's) may keep them. The
        # site's middleware marks signed-in pages only, and an API call has no session.
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return response

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        self._log_refusal(response.status_code)
        return response

    def _log_refusal(self, code: int) -> None:
        call = type(self).__name__
        token = self.request.auth
        if isinstance(token, ApiToken) and code != status.HTTP_429_TOO_MANY_REQUESTS:
            with transaction.atomic():
                record_api_event(
                    AuditAction.API_CALL_REFUSED,
                    token=token,
                    details={
                        "status": code,
                        "call": call,
                        "decision_id": str(self.kwargs.get("decision_id", "")),
                    },
                )
            return
        # No known token (or a throttled one): cheap to send, so counted per minute.
        kind = f"{AuditAction.API_CALL_REFUSED.value}:{code}"
        throttled(
            kind,
            lambda extra: record_refusal(
                user=None, reason=f"api_{code}", details={"call": call, **extra}
            ),
        )


class DecisionStart(ApiView):
    required_scope = ApiScope.START_DECISIONS

    @extend_schema(
        operation_id="decisions_start",
        request=DecisionStartRequest,
        responses={201: DecisionStarted, **errors(400, 401, 403, 415, 429)},
        summary="Start a decision for a practitioner, with the case prefilled",
    )
    def post(self, request: Request) -> Response:
        values = DecisionStartRequest(data=request.data)
        values.is_valid(raise_exception=True)
        try:
            launched = launch.launch_start(token=self.token, **values.validated_data)
        except launch.LaunchRefused as exc:
            raise ValidationError({exc.field: [str(exc)]}) from exc
        except NoGuidancePack as exc:
            raise ValidationError({"detail": "ISG has no guidance loaded; try later."}) from exc
        path = reverse("api_link", args=[launched.link_secret])
        base = settings.ISG_BASE_URL.rstrip("/")
        url = f"{base}{path}" if base else request.build_absolute_uri(path)
        body = {
            "decision_id": launched.decision.public_id,
            "reference": launched.decision.reference,
            "continue_url": url,
            "link_expires_at": launched.expires_at,
        }
        return Response(DecisionStarted(body).data, status=status.HTTP_201_CREATED)


class RecordPages(PageNumberPagination):
    page_size = 50


class RecordList(ApiView, GenericAPIView):
    required_scope = ApiScope.READ_RECORDS
    serializer_class = DecisionRecordOut
    pagination_class = RecordPages

    def get_queryset(self) -> Any:
        return Decision.objects.none()  # for the schema; list() filters by the token

    @extend_schema(
        operation_id="records_list",
        parameters=[RecordFilters],
        responses={200: DecisionRecordOut(many=True), **errors(400, 401, 403, 404, 429)},
        summary="Submitted records of your organisation, oldest change first",
    )
    def get(self, request: Request) -> Response:
        filters = RecordFilters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        decisions = records.organisation_records(self.token, **filters.validated_data)
        page = self.paginate_queryset(decisions) or []
        body = [records.record_json(decision) for decision in page]
        with transaction.atomic():
            record_api_event(
                AuditAction.API_RECORDS_LISTED,
                token=self.token,
                details={
                    "filters": request.query_params.dict(),
                    "references": [d.display_reference for d in page],
                },
            )
        return self.get_paginated_response(DecisionRecordOut(body, many=True).data)


def _record(token: ApiToken, decision_id: Any) -> Decision:
    decision = records.organisation_records(token).filter(public_id=decision_id).first()
    if decision is None:
        raise NotFound("No such record in your organisation.")
    return decision


class RecordDetail(ApiView):
    required_scope = ApiScope.READ_RECORDS

    @extend_schema(
        operation_id="records_read",
        responses={200: DecisionRecordOut, **errors(401, 403, 404, 429)},
        summary="One submitted record: outcome, reasons, lawful basis, recipient, sign-off",
    )
    def get(self, request: Request, decision_id: Any) -> Response:
        decision = _record(self.token, decision_id)
        body = DecisionRecordOut(records.record_json(decision)).data
        with transaction.atomic():
            record_api_event(AuditAction.API_RECORD_READ, token=self.token, obj=decision)
        return Response(body)


class RecordPdf(ApiView):
    required_scope = ApiScope.READ_RECORDS

    @extend_schema(
        operation_id="records_pdf",
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="PDF"),
            **errors(401, 403, 404, 429),
        },
        summary="The record's PDF (the same document as in ISG)",
    )
    def get(self, request: Request, decision_id: Any) -> HttpResponse:
        decision = _record(self.token, decision_id)
        with transaction.atomic():
            content = pdf.record_pdf_bytes(decision, records.latest_record(decision))
            record_api_event(AuditAction.API_PDF_DOWNLOADED, token=self.token, obj=decision)
        response = HttpResponse(content, content_type="application/pdf")
        filename = f"{decision.reference}-v{decision.version}.pdf"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
