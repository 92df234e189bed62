"""Re-authentication before sensitive pages: exports and administration.

    @role_required(*REPORTERS)
    @recent_authentication_required                      # ISG_REAUTHENTICATION_MINUTES
    def export(request): ...

    @recent_authentication_required(max_age=timedelta(minutes=5))

Signing in counts as entering the password; after `max_age` the user is sent to "Confirm
your password" and then back. A GET comes back to itself; a POST (its body cannot be kept)
comes back to the page it was sent from, where the user presses the button again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, overload
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from decisions.accounts import sessions

View = Callable[..., HttpResponse]


def posted(request: HttpRequest) -> Any:
    """The posted data (even when empty, so an empty form shows its errors), else None."""
    return request.POST if request.method == "POST" else None


def safe_next(request: HttpRequest, candidate: str | None, default: str = "/") -> str:
    """`candidate` if it is a path on this site, else `default`."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def _return_to(request: HttpRequest) -> str:
    if request.method == "GET":
        return request.get_full_path()
    referer = urlsplit(request.headers.get("Referer", ""))
    if referer.netloc and referer.netloc != request.get_host():
        return "/"
    path = referer.path + (f"?{referer.query}" if referer.query else "")
    return safe_next(request, path or None)


def confirm_password_url(request: HttpRequest) -> str:
    return f"{reverse('confirm_password')}?{urlencode({'next': _return_to(request)})}"


def _decorate(view: View, max_age: timedelta | None) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        age = max_age or timedelta(minutes=settings.ISG_REAUTHENTICATION_MINUTES)
        if request.user.is_authenticated and not sessions.authenticated_within(
            request.session, age.total_seconds()
        ):
            return HttpResponseRedirect(confirm_password_url(request))
        return view(request, *args, **kwargs)

    return wrapped


@overload
def recent_authentication_required(view: View, *, max_age: timedelta | None = None) -> View: ...
@overload
def recent_authentication_required(
    view: None = None, *, max_age: timedelta | None = None
) -> Callable[[View], View]: ...
def recent_authentication_required(
    view: View | None = None, *, max_age: timedelta | None = None
) -> View | Callable[[View], View]:
    """Send the user to "Confirm your password" unless they gave it within `max_age`.

    Put it under role_required (which signs in and checks the role first).
    """
    if view is not None:
        return _decorate(view, max_age)
    return lambda inner: _decorate(inner, max_age)
