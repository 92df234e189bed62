"""Error pages that need a view: a form sent without its security token."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from decisions.views.guards import refused


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """settings.CSRF_FAILURE_VIEW: a form sent without its security token is refused and logged."""
    refused(request, "csrf")
    return render(request, "403_csrf.html", status=403)
