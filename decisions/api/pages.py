"""The one-time link a case system gives a practitioner: signed in as themselves, it takes
them to the decision it started (decisions.api.launch), once."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from decisions.access import DECIDERS
from decisions.api import launch
from decisions.navigation import resume_url
from decisions.views.guards import role_required


@role_required(*DECIDERS)
@require_http_methods(["GET"])
def link(request: HttpRequest, key: str) -> HttpResponse:
    try:
        decision = launch.link_follow(user=request.user, secret=key, session=request.session)  # type: ignore[arg-type]
    except launch.LinkRefused as exc:
        return render(request, "api/link_refused.html", {"message": str(exc)}, status=exc.status)
    return redirect(resume_url(decision))
