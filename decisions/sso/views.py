"""Signing in with an organisation's own account (OpenID Connect), and signing out.

  GET/POST  /accounts/sso/                 the person's work email -> their organisation's provider
  GET       /accounts/sso/<provider>/go/   mozilla-django-oidc's authentication request (state,
                                           nonce, PKCE in the session), to the provider
  GET       /accounts/sso/callback/        the library's callback; the backend checks the token
                                           and finds the person (decisions.sso.backend)
  POST      /accounts/sso/sign-out/        ends ISG's session; offers the provider's sign-out
  GET       /accounts/sso/confirm/         "confirm it's you" with the provider (prompt=login)

The email page answers with a link, not a redirect: the site's CSP (form-action 'self') stops
a form submission from being redirected to another site.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from django import forms
from django.contrib import auth
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from decisions.accounts import sessions
from decisions.accounts.decorators import safe_next
from decisions.models import IdentityProvider, User
from decisions.sso import providers, services
from decisions.sso.backend import SignInRefused
from decisions.sso.session import sso_info, sso_started

# state -> {"provider": pk, "purpose": "sign_in" | "confirm"}: which provider a callback is for.
STATES = "isg_sso_states"
MAX_STATES = 10
BACKEND = "decisions.sso.backend.OrganisationOIDCBackend"

# What the person is told, by refusal reason. No reason names another organisation.
REFUSALS = {
    "unknown": "There is no ISG account for {email}. Ask your organisation's ISG administrator "
    "to invite you, then sign in again.",
    "other_organisation": "Your ISG account is not in the organisation whose sign-in service you "
    "used. Ask your ISG administrator which way you should sign in.",
    "inactive": "Your ISG account has been deactivated. Ask your organisation's ISG administrator.",
    "domain": "Your organisation's sign-in service gave an email address ({email}) that it does "
    "not sign in to ISG. Ask your ISG administrator.",
    "no_email": "Your organisation's sign-in service did not tell ISG your email address. Ask "
    "your ISG administrator.",
    "unverified_email": "Your organisation's sign-in service has not confirmed your email "
    "address. Ask your ISG administrator.",
    "token": "ISG could not accept the answer from your organisation's sign-in service (it may "
    "have expired, or been meant for another service). Try signing in again.",
    "unavailable": "ISG could not reach your organisation's sign-in service. Try again in a few "
    "minutes.",
    "not_ready": "Single sign-on for your organisation is not ready yet. Sign in with your "
    "password, or ask your ISG administrator.",
    "state": "This sign-in has expired or was already used. Start again.",
    "provider": "Your organisation's sign-in service did not sign you in.",
    "different_person": "You confirmed as someone other than the person signed in to ISG. Sign "
    "out, then sign in again.",
    # sec: the address now belongs to someone else at the provider than the account's owner
    "bound_to_another": "The ISG account for {email} belongs to a different person at your "
    "organisation's sign-in service, so ISG has not signed you in to it. If this email address "
    "has been given to you, ask your organisation's ISG administrator to check and move the "
    "account to you.",
}
# Refusals about a person the provider vouched for; each is an audit event. The others come
# before any token is accepted and are throttled per client address.
VERIFIED = {"unknown", "other_organisation", "inactive", "domain", "no_email", "unverified_email"}
VERIFIED |= {"bound_to_another"}  # sec


class EmailForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        error_messages={
            "required": "Enter your work email address",
            "invalid": "Enter an email address in the correct format, like name@example.org",
        },
    )


def refused_page(
    request: HttpRequest, refusal: SignInRefused, provider: IdentityProvider | None
) -> HttpResponse:
    services.sso_refused(
        reason=refusal.reason,
        detail=refusal.detail,
        provider=provider,
        account=refusal.account,
        verified=refusal.reason in VERIFIED,
    )
    message = REFUSALS.get(refusal.reason, REFUSALS["provider"]).format(email=refusal.email)
    status = 400 if refusal.reason == "state" else 403
    return render(request, "sso/refused.html", {"message": message}, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    """Which organisation's sign-in service: found from the domain of a work email address."""
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"), "")
    form = EmailForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        provider = providers.provider_for_email(form.cleaned_data["email"])
        if provider is not None:
            go = reverse("sso_go", args=[provider.public_id])
            if next_url:
                go += "?" + urlencode({"next": next_url})
            return render(request, "sso/continue.html", {"provider": provider, "go": go})
        form.add_error(
            "email",
            "Your organisation does not sign in to ISG with its own account. "
            "Sign in with your email address and password instead",
        )
    context = {"form": form, "next": next_url}
    return render(request, "sso/start.html", context, status=400 if form.errors else 200)


@method_decorator(never_cache, name="dispatch")
class Authenticate(OIDCAuthenticationRequestView):
    """The library's authentication request, for the provider in the URL."""

    purpose = "sign_in"

    def __init__(self, **kwargs: Any) -> None:
        View.__init__(self, **kwargs)  # the library would read one provider from settings

    def get_settings(self, attr: str, *args: Any) -> Any:  # type: ignore[override]
        if attr == "OIDC_RP_SCOPES":
            return self.provider.scopes
        return super().get_settings(attr, *args)

    def get_extra_params(self, request: HttpRequest) -> dict[str, str]:
        # Confirming: the provider asks for the person's credentials again, whatever its session.
        return {"prompt": "login", "max_age": "0"} if self.purpose == "confirm" else {}

    def get(self, request: HttpRequest, public_id: Any = None) -> HttpResponse:  # type: ignore[override]
        self.provider = self.provider_for(request, public_id)
        if not providers.client_secret(self.provider):
            return refused_page(request, SignInRefused("not_ready"), self.provider)
        self.OIDC_OP_AUTH_ENDPOINT = self.provider.authorization_endpoint
        self.OIDC_RP_CLIENT_ID = self.provider.client_id
        response = super().get(request)
        state = parse_qs(urlsplit(response["Location"]).query)["state"][0]
        pending = dict(list(request.session.get(STATES, {}).items())[-(MAX_STATES - 1) :])
        pending[state] = {"provider": self.provider.pk, "purpose": self.purpose}
        request.session[STATES] = pending
        return response

    def provider_for(self, request: HttpRequest, public_id: Any) -> IdentityProvider:
        return get_object_or_404(
            IdentityProvider, public_id=public_id, is_enabled=True, organisation__is_active=True
        )


class Confirm(Authenticate):
    """Re-authentication for an SSO session (exports, administration): the provider asks again."""

    purpose = "confirm"

    def provider_for(self, request: HttpRequest, public_id: Any) -> IdentityProvider:
        info = sso_info(request.session) if request.user.is_authenticated else None
        return get_object_or_404(IdentityProvider, pk=(info or {}).get("provider"), is_enabled=True)


class Callback(OIDCAuthenticationCallbackView):
    """The library's callback (state, nonce and PKCE checked there), then ISG's own steps."""

    def get(self, request: HttpRequest) -> HttpResponse:
        states = request.session.get(STATES, {})
        self.pending = states.pop(request.GET.get("state", ""), None)
        request.session[STATES] = states
        provider = None
        if self.pending:
            provider = IdentityProvider.objects.filter(
                pk=self.pending["provider"], is_enabled=True, organisation__is_active=True
            ).first()
        self.provider = provider
        if provider is None:
            return refused_page(request, SignInRefused("state"), None)
        request.isg_sso_provider = provider  # type: ignore[attr-defined]
        try:
            return super().get(request)
        except SignInRefused as refusal:
            return refused_page(request, refusal, provider)
        except SuspiciousOperation:
            return refused_page(request, SignInRefused("state", "library"), provider)

    def login_failure(self) -> HttpResponse:
        reason = "provider" if self.request.GET.get("error") else "state"
        return refused_page(self.request, SignInRefused(reason), self.provider)

    def login_success(self) -> HttpResponse:
        request, user, provider = self.request, self.user, self.provider
        assert provider is not None
        claims: dict[str, Any] = getattr(request, "isg_sso_claims", {})
        amr, acr = claims.get("amr"), claims.get("acr")
        if self.pending and self.pending.get("purpose") == "confirm":
            if request.user.pk != user.pk:
                return refused_page(request, SignInRefused("different_person"), provider)
            if not _signed_in_just_now(claims.get("auth_time")):
                # prompt=login asked for a fresh sign-in; a provider that answered with an old
                # one has not confirmed anything (OIDC Core 3.1.2.1: max_age=0 -> auth_time).
                return refused_page(request, SignInRefused("token"), provider)
            sessions.password_entered(request.session)
            services.sso_reauthenticated(user=user, provider=provider, amr=amr, acr=acr)
            return HttpResponseRedirect(self.success_url)
        auth.login(request, user, backend=BACKEND)
        sso_started(
            request.session,
            provider_id=provider.pk,
            id_token=getattr(request, "isg_sso_id_token", ""),
            amr=amr,
            acr=acr,
        )
        services.sso_signed_in(user=user, provider=provider, amr=amr, acr=acr)
        return HttpResponseRedirect(self.success_url)


# How recent the provider's sign-in must be to count as "confirm it's you" (clock leeway
# included).
CONFIRM_WITHIN_SECONDS = 5 * 60


def _signed_in_just_now(auth_time: Any) -> bool:
    try:
        return abs(time.time() - float(auth_time)) <= CONFIRM_WITHIN_SECONDS
    except (TypeError, ValueError):
        return False


def end_session_url(request: HttpRequest, info: dict[str, Any]) -> str:
    """The provider's sign-out (OIDC RP-Initiated Logout), back to ISG's sign-in page."""
    provider = IdentityProvider.objects.filter(pk=info.get("provider")).first()
    if provider is None or not provider.end_session_endpoint:
        return ""
    query = {
        "client_id": provider.client_id,
        "post_logout_redirect_uri": request.build_absolute_uri(reverse("login")),
    }
    if info.get("id_token"):
        query["id_token_hint"] = info["id_token"]
    return f"{provider.end_session_endpoint}?{urlencode(query)}"


@never_cache
@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    """End ISG's session; for an SSO session, offer the provider's sign-out as well."""
    info = sso_info(request.session)
    user: User | None = request.user if request.user.is_authenticated else None  # type: ignore[assignment]
    url = end_session_url(request, info) if (info and user) else ""
    request.isg_sso_end_session = bool(url)  # type: ignore[attr-defined]
    auth.logout(request)
    if not url:
        return redirect("login")
    return render(request, "sso/signed_out.html", {"end_session_url": url})
