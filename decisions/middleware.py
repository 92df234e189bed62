"""Gives every request an id and makes its origin known to the audit log (decisions.audit)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from decisions.audit import RequestMeta, current_request


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = uuid.uuid4().hex
        meta = RequestMeta(
            ip_address=request.META.get("REMOTE_ADDR") or None,
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            request_id=request_id,
        )
        token = current_request.set(meta)
        try:
            response = self.get_response(request)
        finally:
            current_request.reset(token)
        response["X-Request-Id"] = request_id
        return response
