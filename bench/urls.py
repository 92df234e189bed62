"""The bench's own URLconf: the app's routes plus a floor view that exists only here.

The floor is the least a signed-in page can cost: the same middleware (session, user, MFA,
CSRF, CSP, audit request id...), login required, no query or template of its own. It is
never part of the app's URLconf (isg/urls.py), so no deployment serves it.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.http import require_http_methods

from isg.urls import urlpatterns as app_urlpatterns


@login_required
@require_http_methods(["GET", "POST"])
def floor(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench-floor/", floor, name="bench_floor"), *app_urlpatterns]
