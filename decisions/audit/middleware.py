"""Gives every request an id and makes its origin known to the audit log."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from decisions.audit.record import RequestMeta, current_request


def client_ip(request: HttpRequest) -> str | None:
    """The client's address; behind N trusted proxies, the Nth X-Forwarded-For hop from the right.

    Only the hops our own proxies appended can be trusted: anything further left is whatever
    the client chose to send.
    """
    proxies = settings.ISG_TRUSTED_PROXY_COUNT
    forwarded = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [h for h in forwarded if h]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or None


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = uuid.uuid4().hex
        meta = RequestMeta(
            ip_address=client_ip(request),
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
