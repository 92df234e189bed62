"""Signing in and out, passwords (change, reset), the session's timeout, confirming a password.

Django's own auth views with ISG's forms and GOV.UK templates (templates/registration/);
each write goes through decisions.accounts.services, so it is one audit event.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import INTERNAL_RESET_SESSION_TOKEN
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from decisions.accounts import services, sessions
from decisions.accounts.decorators import posted as _posted
from decisions.accounts.decorators import safe_next
from decisions.accounts.forms import (
    ChangePasswordForm,
    ConfirmPasswordForm,
    NewPasswordForm,
    ResetRequestForm,
    SignInForm,
)
from decisions.accounts.middleware import sign_out, wants_json
from decisions.accounts.tasks import send_password_reset
from decisions.models import User


class SignInView(auth_views.LoginView):
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["signed_out_message"] = sessions.signed_out_message(
            self.request.GET.get("signed_out", "")
        )
        return context

    def form_invalid(self, form: SignInForm) -> HttpResponse:  # type: ignore[override]
        response = super().form_invalid(form)
        if form.locked_out:
            response.status_code = 429  # the same for every address, known or not
        return response


class ChangePasswordView(auth_views.PasswordChangeView):
    form_class = ChangePasswordForm
    success_url = reverse_lazy("password_change_done")

    def form_valid(self, form: ChangePasswordForm) -> HttpResponse:  # type: ignore[override]
        services.password_change(user=form.user, new_password=form.cleaned_data["new_password1"])
        # Keeps this session; every other session of the account ends (its hash changed).
        update_session_auth_hash(self.request, form.user)
        return HttpResponseRedirect(self.get_success_url())

    def form_invalid(self, form: ChangePasswordForm) -> HttpResponse:  # type: ignore[override]
        return self.render_to_response(self.get_context_data(form=form), status=400)


class ResetRequestView(auth_views.PasswordResetView):
    """The same page follows whether or not the address is an account's."""

    form_class = ResetRequestForm
    subject_template_name = "registration/password_reset_subject.txt"
    email_template_name = "registration/password_reset_email.txt"
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form: ResetRequestForm) -> HttpResponse:  # type: ignore[override]
        # The same work for every address: one look-up, one event, one task enqueued (with
        # the account's id or None). The worker makes the link and sends the email
        # (decisions.accounts.tasks), from ISG_BASE_URL, never the request's Host header.
        email = form.cleaned_data["email"]
        account = form.account()
        with transaction.atomic():
            services.password_reset_request(email=email, account=account)
            send_password_reset.enqueue(account.pk if account else None)
        return HttpResponseRedirect(self.get_success_url())

    def form_invalid(self, form: ResetRequestForm) -> HttpResponse:  # type: ignore[override]
        return self.render_to_response(self.get_context_data(form=form), status=400)


class ResetConfirmView(auth_views.PasswordResetConfirmView):
    """Choosing a password from a reset link, or from an invitation (the same token)."""

    form_class = NewPasswordForm
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form: NewPasswordForm) -> HttpResponse:  # type: ignore[override]
        services.password_reset(user=form.user, new_password=form.cleaned_data["new_password1"])
        self.request.session.pop(INTERNAL_RESET_SESSION_TOKEN, None)
        return HttpResponseRedirect(self.get_success_url())

    def form_invalid(self, form: NewPasswordForm) -> HttpResponse:  # type: ignore[override]
        return self.render_to_response(self.get_context_data(form=form), status=400)


@never_cache
@require_http_methods(["GET", "POST"])
def session_status(request: HttpRequest) -> HttpResponse:
    """GET: how long is left (not itself activity). POST: "Stay signed in" (the middleware
    has counted it as activity); without JavaScript the form posts here and comes back."""
    if not request.user.is_authenticated:
        return JsonResponse({"signed_in": False}, status=401)
    limits = request.session_limits  # type: ignore[attr-defined]
    if request.method == "POST" and not wants_json(request):
        return redirect(safe_next(request, request.POST.get("next")))
    return JsonResponse(
        {
            "signed_in": True,
            "seconds_left": limits.seconds_left,
            "ends": limits.ends.isoformat(),
            "by_absolute": limits.by_absolute,
        }
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def confirm_password(request: HttpRequest) -> HttpResponse:
    """Confirm your password, then back to the page that asked (recent_authentication_required)."""
    user: User = request.user  # type: ignore[assignment]
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    form = ConfirmPasswordForm(_posted(request), request=request, user=user)
    if request.method == "POST":
        if form.is_valid():
            sessions.password_entered(request.session)
            services.password_confirmed(user=user)
            return redirect(next_url)
        if form.locked_out:
            return sign_out(request, "locked")
    context = {"form": form, "next": next_url}
    return render(
        request, "accounts/confirm_password.html", context, status=400 if form.errors else 200
    )
