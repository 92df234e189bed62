"""Passkeys: django-otp-webauthn's ceremony views with audit events, and the pages of
"Sign-in and security" (passkeys, recovery codes).

The four JSON endpoints are the library's (its JavaScript, a static file, calls them; its
configuration is rendered as `<script type="application/json">`, so the strict CSP holds).
The subclasses add: a recent password before adding a passkey, an audit event for every
passkey added, used or refused, and the wrong-code limit of the security-code page.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp_webauthn import exceptions as webauthn_errors
from django_otp_webauthn import views as webauthn_views
from django_otp_webauthn.models import WebAuthnCredential

from decisions.accounts import mfa, passkeys, sessions
from decisions.accounts.decorators import posted, recent_authentication_required, safe_next
from decisions.accounts.forms import PasskeyNameForm
from decisions.accounts.mfa_views import MAX_WRONG_CODES, WRONG_CODES
from decisions.accounts.middleware import sign_out
from decisions.models import User

# Recovery codes made with a first passkey, kept in the session until shown (once).
NEW_CODES = "isg_new_recovery_codes"


class PasswordNeeded(webauthn_errors.OTPWebAuthnApiError):
    status_code = 403
    default_code = "reauthentication_required"
    default_detail = "Confirm your password first: reload this page"


class TooManyWrongCodes(webauthn_errors.OTPWebAuthnApiError):
    status_code = 401
    default_code = "signed_out"
    default_detail = "You have been signed out: too many wrong security codes or passkeys"


def _password_is_recent(request: HttpRequest) -> bool:
    age = timedelta(minutes=settings.ISG_REAUTHENTICATION_MINUTES)
    return sessions.authenticated_within(request.session, age.total_seconds())


class RegistrationBegin(webauthn_views.BeginCredentialRegistrationView):
    def check_can_register(self) -> None:
        # The library already refuses an enrolled person who has not given a second factor;
        # adding another passkey also needs a recent password, as its page does. (A first
        # one is set up straight after the password, like the app.)
        user: User = self.get_user()  # type: ignore[assignment]
        if mfa.is_enrolled(user) and not _password_is_recent(self.request):
            raise PasswordNeeded()


class RegistrationComplete(webauthn_views.CompleteCredentialRegistrationView):
    """The library saves the passkey; its event (and, for a first second factor, recovery
    codes) is written in the same transaction."""

    def post(self, *args: Any, **kwargs: Any) -> HttpResponse:
        user: User = self.get_user()  # type: ignore[assignment]
        first = not mfa.is_enrolled(user)
        with transaction.atomic():
            response = super().post(*args, **kwargs)
            passkey = WebAuthnCredential.objects.get(pk=json.loads(response.content)["id"])
            codes = passkeys.passkey_added(user=user, passkey=passkey, first=first)
        if codes:
            self.request.session[NEW_CODES] = codes
        return response


class AuthenticationBegin(webauthn_views.BeginCredentialAuthenticationView):
    pass


class AuthenticationComplete(webauthn_views.CompleteCredentialAuthenticationView):
    """A passkey as the second factor of a signed-in (password) session."""

    def post(self, *args: Any, **kwargs: Any) -> HttpResponse:
        user: User | None = self.get_user()  # type: ignore[assignment]
        try:
            with transaction.atomic():
                response = super().post(*args, **kwargs)
                passkey = WebAuthnCredential.objects.get(pk=json.loads(response.content)["id"])
                passkeys.passkey_used(user=passkey.user, passkey=passkey)
        except webauthn_errors.OTPWebAuthnApiError as error:
            if user is None:
                raise
            passkeys.passkey_refused(user=user, reason=error.code)
            wrong = self.request.session.get(WRONG_CODES, 0) + 1
            self.request.session[WRONG_CODES] = wrong
            if wrong >= MAX_WRONG_CODES:
                sign_out(self.request, "mfa")
                raise TooManyWrongCodes() from error
            raise
        self.request.session.pop(WRONG_CODES, None)
        return response


@never_cache
@login_required
@require_http_methods(["GET"])
def passkey_added(request: HttpRequest) -> HttpResponse:
    """After a first passkey: its recovery codes, shown once; else on to where they were going."""
    next_url = safe_next(request, request.GET.get("next"))
    codes = request.session.pop(NEW_CODES, None)
    if not codes:
        return redirect(next_url)
    context = {"codes": codes, "next": next_url, "title": "Passkey added"}
    return render(request, "accounts/mfa/recovery_codes.html", context)


def _own_passkey(request: HttpRequest, pk: int) -> WebAuthnCredential:
    passkey = passkeys.passkeys_of(request.user).filter(pk=pk).first()  # type: ignore[arg-type]
    if passkey is None:
        raise Http404("No such passkey")
    return passkey


@never_cache
@login_required
@recent_authentication_required
@require_http_methods(["GET"])
def account_security(request: HttpRequest) -> HttpResponse:
    """Sign-in and security: passkeys, the authenticator app, recovery codes, the password."""
    user: User = request.user  # type: ignore[assignment]
    context = {
        "passkeys": passkeys.passkeys_of(user),
        "has_app": mfa.has_app(user),
        "codes_left": mfa.recovery_codes_left(user),
        "enrolled": mfa.is_enrolled(user),
    }
    return render(request, "accounts/security.html", context)


@never_cache
@login_required
@recent_authentication_required
@require_http_methods(["GET", "POST"])
def passkey_rename(request: HttpRequest, pk: int) -> HttpResponse:
    passkey = _own_passkey(request, pk)
    data = posted(request)
    form = PasskeyNameForm(data, initial={"name": passkey.name})
    if request.method == "POST" and form.is_valid():
        passkeys.passkey_rename(user=request.user, passkey=passkey, name=form.cleaned_data["name"])  # type: ignore[arg-type]
        return redirect("account_security")
    context = {"form": form, "passkey": passkey}
    return render(
        request, "accounts/passkey_rename.html", context, status=400 if form.errors else 200
    )


@never_cache
@login_required
@recent_authentication_required
@require_http_methods(["GET", "POST"])
def passkey_remove(request: HttpRequest, pk: int) -> HttpResponse:
    passkey = _own_passkey(request, pk)
    user: User = request.user  # type: ignore[assignment]
    allowed = passkeys.can_remove(user, passkey)
    if request.method == "POST" and allowed:
        passkeys.passkey_remove(user=user, passkey=passkey)
        return redirect("account_security")
    context = {"passkey": passkey, "allowed": allowed}
    return render(
        request,
        "accounts/passkey_remove.html",
        context,
        status=400 if request.method == "POST" else 200,
    )


@never_cache
@login_required
@recent_authentication_required
@require_http_methods(["GET", "POST"])
def recovery_codes_new(request: HttpRequest) -> HttpResponse:
    """New recovery codes: the old ones stop working; the new ones are shown this once."""
    user: User = request.user  # type: ignore[assignment]
    if not mfa.is_enrolled(user):
        return redirect("account_security")
    if request.method == "POST":
        codes = mfa.recovery_codes_replace(user=user)
        context = {"codes": codes, "next": "/", "title": "New recovery codes"}
        return render(request, "accounts/mfa/recovery_codes.html", context)
    context = {"codes_left": mfa.recovery_codes_left(user)}
    return render(request, "accounts/recovery_codes_new.html", context)
