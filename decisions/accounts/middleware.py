"""Ends a signed-in session that has been idle, or open, for too long (server-side).

Every request of a signed-in user counts as activity, except the timeout warning's own look
at how long is left (GET of the session status). The sign-out is an audit event
(decisions.audit.receivers.signed_out reads request.isg_sign_out_reason).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse

from decisions.accounts import mfa, sessions
from decisions.sso.session import (  # the provider did the second factor
    is_sso_session,
    provider_withdrawn,
)

# What a signed-in person may open before the second factor: those pages, and signing out.
BEFORE_MFA = (
    "mfa_setup",
    "mfa_verify",
    "logout",
    "session_status",
    # Passkeys: set one up as the first second factor, or use one (decisions.accounts.passkeys)
    "otp_webauthn:credential-registration-begin",
    "otp_webauthn:credential-registration-complete",
    "otp_webauthn:credential-authentication-begin",
    "otp_webauthn:credential-authentication-complete",
    "otp_webauthn:js-i18n-catalog",
)


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def sign_out(request: HttpRequest, reason: str) -> HttpResponse:
    """Sign the user out for `reason` and send them to the sign-in page, which says why."""
    request.isg_sign_out_reason = reason  # type: ignore[attr-defined]
    logout(request)
    if wants_json(request):
        return JsonResponse({"signed_in": False, "reason": reason}, status=401)
    query = {"signed_out": reason}
    if request.method == "GET":
        query["next"] = request.get_full_path()
    return HttpResponseRedirect(f"{reverse('login')}?{urlencode(query)}")


class SessionLimitsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            reason = sessions.expiry_reason(request.session, now)
            if not reason and provider_withdrawn(request.session, user):
                reason = "sso"
            if reason:
                return sign_out(request, reason)
            if not self._is_status_check(request):
                sessions.touch(request.session, now)
            sessions.touch_missing(request.session, now)
            request.session_limits = sessions.limits(request.session)  # type: ignore[attr-defined]
        return self.get_response(request)

    @staticmethod
    def _is_status_check(request: HttpRequest) -> bool:
        return request.method == "GET" and request.path == reverse("session_status")


class MFARequiredMiddleware:
    """Signed in with a password only: to the second-factor page (set it up the first time)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            mfa.required()
            and user is not None
            and user.is_authenticated
            and not user.is_verified()
            and not is_sso_session(request.session)
            and request.path not in {reverse(name) for name in BEFORE_MFA}
        ):
            if wants_json(request):
                return JsonResponse({"signed_in": False, "reason": "mfa"}, status=401)
            name = "mfa_verify" if mfa.is_enrolled(user) else "mfa_setup"
            query = {"next": request.get_full_path()} if request.method == "GET" else {}
            suffix = f"?{urlencode(query)}" if query else ""
            return HttpResponseRedirect(reverse(name) + suffix)
        return self.get_response(request)
