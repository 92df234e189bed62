"""A stored guidance pack that no longer validates gets a plain page, not a server error."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from decisions.guidance.schema import PackError

logger = logging.getLogger(__name__)


class PackErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, PackError):
            return None
        logger.error("guidance pack refused: %s", exception)
        return render(request, "decisions/pack_error.html", {"problem": str(exception)}, status=503)
