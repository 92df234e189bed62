"""Who may call a view: signed in, active, in an organisation, with one of the given roles."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from decisions.audit import record_refusal
from decisions.models import Role

View = Callable[..., HttpResponse]

DECIDERS = (Role.PRACTITIONER, Role.LEAD)


def role_required(*roles: str) -> Callable[[View], View]:
    """Refuse (403) anyone signed in without one of `roles` or without an organisation."""

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if user.role not in roles:  # type: ignore[union-attr]
                _refused(request, "role")
                raise PermissionDenied("Your role does not give you access to this page.")
            if user.role != Role.ADMIN and user.organisation_id is None:  # type: ignore[union-attr]
                _refused(request, "no_organisation")
                raise PermissionDenied("Your account is not linked to an organisation.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _refused(request: HttpRequest, reason: str) -> None:
    """Log a refusal (committed on its own) naming the page by its URL name, never its path."""
    match = request.resolver_match
    view = match.view_name if match else ""
    user = request.user if request.user.is_authenticated else None
    record_refusal(user=user, reason=reason, details={"view": view})  # type: ignore[arg-type]


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """settings.CSRF_FAILURE_VIEW: a form sent without its security token is refused and logged."""
    _refused(request, "csrf")
    return render(request, "403_csrf.html", status=403)
