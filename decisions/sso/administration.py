"""Administration of an organisation's single sign-on (/administration/organisations/<slug>/
single-sign-on/): see it, set it up or change it, switch it off or on.

Whoever controls a provider can sign in as anyone in its organisation, the organisation's
administrators included; so setting one up, changing it or switching it on is for partnership
administrators (as is adding an organisation). An organisation's own administrators see it
and can switch it off at once (everyone then signs in with a password).

The same guard as every administration page (decisions.accounts.administration: the
administrator role, a recent password, another organisation's page a 404); writes go through
decisions.sso.services, one transaction with the audit event.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from decisions import access
from decisions.accounts.administration import administration, require_partnership
from decisions.accounts.decorators import posted
from decisions.models import IdentityProvider, Organisation, SsoIdentity
from decisions.sso import forms, identities, providers, services


def _organisation(request: HttpRequest, slug: str) -> Organisation:
    return get_object_or_404(access.administered_organisations(request.user), slug=slug)  # type: ignore[arg-type]


def _provider(org: Organisation) -> IdentityProvider | None:
    return IdentityProvider.objects.filter(organisation=org).first()


@administration("GET")
def provider(request: HttpRequest, slug: str) -> HttpResponse:
    org = _organisation(request, slug)
    found = _provider(org)
    context = {
        "organisation": org,
        "provider": found,
        "secret_set": bool(found and providers.client_secret(found)),
        "partnership": access.administers_every_organisation(request.user),  # type: ignore[arg-type]
        "callback_url": request.build_absolute_uri(reverse("sso_callback")),
        "sign_out_url": request.build_absolute_uri(reverse("login")),
    }
    return render(request, "sso/admin/provider.html", context)


@administration("GET", "POST")
def provider_edit(request: HttpRequest, slug: str) -> HttpResponse:
    org = _organisation(request, slug)
    require_partnership(request)
    found = _provider(org)
    initial = {name: getattr(found, name) for name in services.FIELDS} if found else None
    form = forms.ProviderForm(posted(request), initial=initial)
    if request.method == "POST" and not org.is_active:
        form.add_error(None, f"{org.name} is deactivated: reactivate it first")
    elif request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in services.FIELDS}
        try:
            services.provider_save(actor=request.user, organisation=org, values=values)  # type: ignore[arg-type]
        except services.ProviderChangeRefused as exc:
            form.add_error("email_domains", str(exc))
        else:
            messages.success(request, "Single sign-on saved.")
            return redirect("admin_sso", slug=org.slug)
    context = {"organisation": org, "provider": found, "form": form}
    return render(
        request, "sso/admin/provider_form.html", context, status=400 if form.errors else 200
    )


@administration("POST")
def provider_status(request: HttpRequest, slug: str, enabled: bool) -> HttpResponse:
    org = _organisation(request, slug)
    if enabled:
        require_partnership(request)
    found = _provider(org)
    if found is None:
        return redirect("admin_sso", slug=org.slug)
    try:
        services.provider_set_enabled(actor=request.user, provider=found, enabled=enabled)  # type: ignore[arg-type]
    except services.ProviderChangeRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, "Single sign-on switched on." if enabled else "Single sign-on switched off."
        )
    return redirect("admin_sso", slug=org.slug)


@administration("GET", "POST")
def identity_remove(request: HttpRequest, pk: int, identity: int) -> HttpResponse:
    """Unbind a person's account from their subject at the provider, after a confirmation (sec).

    For when the provider really has given the person a new subject (a new account there):
    their next single sign-on binds the account again, to whoever then has its address."""
    person = get_object_or_404(access.administered_users(request.user), pk=pk)  # type: ignore[arg-type]
    found = get_object_or_404(SsoIdentity, pk=identity, user=person)
    if request.method == "POST":
        identities.identity_remove(actor=request.user, identity=found)  # type: ignore[arg-type]
        messages.success(
            request,
            f"{person.email} will be linked again at their next sign-in with their "
            "organisation's account.",
        )
        return redirect("admin_user", pk=person.pk)
    context = {"person": person, "identity": found}
    return render(request, "sso/admin/identity_remove.html", context)
