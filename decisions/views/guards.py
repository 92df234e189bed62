"""The guard on every view: signed in, active, in an organisation, with one of the given roles.

The rule itself is decisions.access.page_refusal; this turns a refusal into a logged 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from decisions import access
from decisions.audit import AuditAction, record_refusal, throttled

View = Callable[..., HttpResponse]

MESSAGES = {
    "role": "Your role does not give you access to this page.",
    "no_organisation": "Your account is not linked to an organisation.",
}


def role_required(*roles: str) -> Callable[[View], View]:
    """Refuse (403) anyone signed in without one of `roles` or without an organisation."""

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            reason = access.page_refusal(request.user, roles)  # type: ignore[arg-type]
            if reason:
                refused(request, reason)
                raise PermissionDenied(MESSAGES[reason])
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def refused(request: HttpRequest, reason: str) -> None:
    """Log a refusal (committed on its own) naming the page by its URL name, never its path.

    A signed-in user's refusal is always one event; an anonymous one (a form posted without
    its CSRF token) is throttled per client address, as it costs its sender nothing.
    """
    match = request.resolver_match
    view = match.view_name if match else ""
    if request.user.is_authenticated:
        record_refusal(user=request.user, reason=reason, details={"view": view})  # type: ignore[arg-type]
        return
    throttled(
        f"{AuditAction.ACCESS_REFUSED.value}:{reason}",
        lambda extra: record_refusal(user=None, reason=reason, details={"view": view, **extra}),
    )
