"""Sign-in throttling with django-axes: a cool-off after too many failed sign-ins.

Axes counts failures per email address at one client address and per client address. An
address is often a whole office behind one NAT, so it gets its own, higher limit
(ISG_SIGN_IN_ADDRESS_FAILURE_LIMIT); axes itself has one limit for every parameter, hence the
handler below. The refusal is shown on the sign-in page by decisions.accounts.forms.SignInForm;
it reads the same whether or not the account exists.
"""

from __future__ import annotations

from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit, get_lockout_parameters
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse


def lockout_message() -> str:
    minutes = settings.ISG_SIGN_IN_COOL_OFF_MINUTES
    wait = f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"
    return (
        f"There have been too many attempts to sign in. Wait {wait}, then try again. "
        "If you have forgotten your password, you can reset it."
    )


def attempted_username(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str:
    """The email address tried, in lower case as accounts store it: "Pat@" and "pat@" count once."""
    value = (credentials or {}).get("username")
    if value is None:
        value = request.POST.get("username", "")
    return str(value).strip().lower()[:254]


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any = None
) -> HttpResponse | None:
    """Axes' lockout page: ISG's own sign-in page (the form already carries the message)."""
    return original_response


class SignInThrottle(AxesDatabaseHandler):
    """Axes' database handler, with a separate (higher) limit for a client address alone."""

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        account_limit = get_failure_limit(request, credentials)
        address_limit = max(1, settings.ISG_SIGN_IN_ADDRESS_FAILURE_LIMIT)
        parameters = get_lockout_parameters(request, credentials)
        worst = 0
        for parameter, attempts in zip(
            parameters, self.get_user_attempts(request, credentials), strict=True
        ):
            failures = attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            if parameter == "ip_address":
                # Scaled so that reaching the address's own limit reaches axes' one limit.
                failures = failures * account_limit // address_limit
            worst = max(worst, failures)
        return worst
