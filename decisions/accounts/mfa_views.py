"""The second-factor pages: set up an authenticator app, enter a code at sign-in.

decisions.accounts.middleware.MFARequiredMiddleware sends a person here after the password;
these pages need only the password (django-otp's is_verified comes from them).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from decisions.accounts import mfa
from decisions.accounts.decorators import posted, recent_authentication_required, safe_next
from decisions.accounts.forms import SecurityCodeForm
from decisions.accounts.middleware import sign_out
from decisions.models import User

# Wrong codes in one session before it is signed out (django-otp also slows each device down).
MAX_WRONG_CODES = 5
WRONG_CODES = "isg_mfa_wrong_codes"


def _next(request: HttpRequest) -> str:
    return safe_next(request, request.POST.get("next") or request.GET.get("next"))


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def mfa_setup(request: HttpRequest) -> HttpResponse:
    """First sign-in: add ISG to an authenticator app, then type the code it shows."""
    user: User = request.user  # type: ignore[assignment]
    if mfa.is_enrolled(user):
        return redirect("mfa_verify" if not user.is_verified() else "home")  # type: ignore[attr-defined]
    device = mfa.pending_device(user)
    form = SecurityCodeForm(posted(request))
    if request.method == "POST" and form.is_valid():
        codes = mfa.mfa_enrol(
            request=request, user=user, device=device, token=form.cleaned_data["code"]
        )
        if codes:
            context = {"codes": codes, "next": _next(request)}
            return render(request, "accounts/mfa/recovery_codes.html", context)
        form.add_error("code", "The code is not right: enter the 6-digit code your app shows now")
    context = {
        "form": form,
        "secret": mfa.secret_text(device),
        "qr_code": mfa.qr_code_data_uri(device),
        "next": _next(request),
        # A first passkey instead (decisions.accounts.passkey_views): then its recovery codes.
        "passkey_done_url": f"{reverse('mfa_passkey_added')}?{urlencode({'next': _next(request)})}",
    }
    return render(request, "accounts/mfa/setup.html", context, status=400 if form.errors else 200)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def mfa_verify(request: HttpRequest) -> HttpResponse:
    """Every sign-in: a code from the app, or one of the recovery codes."""
    user: User = request.user  # type: ignore[assignment]
    if not mfa.is_enrolled(user):
        return redirect("mfa_setup")
    form = SecurityCodeForm(posted(request))
    if request.method == "POST" and form.is_valid():
        if mfa.mfa_verify(request=request, user=user, token=form.cleaned_data["code"]):
            request.session.pop(WRONG_CODES, None)
            return redirect(_next(request))
        wrong = request.session.get(WRONG_CODES, 0) + 1
        request.session[WRONG_CODES] = wrong
        if wrong >= MAX_WRONG_CODES:
            return sign_out(request, "mfa")
        form.add_error("code", "The code is not right: enter the code your app shows now")
    context = {
        "form": form,
        "next": _next(request),
        "has_passkey": mfa.has_passkey(user),
        "has_app": mfa.has_app(user),
    }
    return render(request, "accounts/mfa/verify.html", context, status=400 if form.errors else 200)


@never_cache
@login_required
@recent_authentication_required
@require_http_methods(["GET", "POST"])
def app_add(request: HttpRequest) -> HttpResponse:
    """Sign-in and security: an authenticator app as well, for someone who set up a passkey
    first (so they can sign in where their passkey is not to hand)."""
    user: User = request.user  # type: ignore[assignment]
    if not mfa.is_enrolled(user) or mfa.has_app(user):
        return redirect("account_security")
    device = mfa.pending_device(user)
    form = SecurityCodeForm(posted(request))
    if request.method == "POST" and form.is_valid():
        if mfa.app_add(user=user, device=device, token=form.cleaned_data["code"]):
            messages.success(request, "Your authenticator app is set up.")
            return redirect("account_security")
        form.add_error("code", "The code is not right: enter the 6-digit code your app shows now")
    context = {
        "form": form,
        "secret": mfa.secret_text(device),
        "qr_code": mfa.qr_code_data_uri(device),
    }
    return render(request, "accounts/app_add.html", context, status=400 if form.errors else 200)
