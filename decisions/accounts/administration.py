"""Administration pages (/administration/): people and organisations, for administrators.

Every view: signed in, the administrator role (views.guards.role_required), the password
given within ISG_REAUTHENTICATION_MINUTES (recent_authentication_required), and records
looked up through decisions.access, so another organisation's person or organisation is a
404. Writes go through decisions.accounts.services (one transaction with the audit event).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from decisions import access
from decisions.accounts import mfa, services
from decisions.accounts.admin_forms import (
    InviteForm,
    OrganisationForm,
    UserOrganisationForm,
    UserRoleForm,
    UserSearchForm,
)
from decisions.accounts.decorators import posted as _posted
from decisions.accounts.decorators import recent_authentication_required
from decisions.models import Organisation, Role, User
from decisions.views.guards import refused, role_required

PEOPLE_PAGE = 25
View = Callable[..., HttpResponse]


def administration(*methods: str) -> Callable[[View], View]:
    """The guard on every administration page."""

    def decorator(view: View) -> View:
        return role_required(Role.ADMIN)(
            recent_authentication_required(require_http_methods(list(methods))(view))
        )

    return decorator


def require_partnership(request: HttpRequest) -> None:
    """Pages about the list of organisations: partnership administrators only (else 403).

    Asked after the record is looked up, so another organisation's record is still a 404.
    """
    if not access.administers_every_organisation(request.user):  # type: ignore[arg-type]
        refused(request, "role")
        raise PermissionDenied("Only a partnership administrator can do this.")


def _organisation(request: HttpRequest, slug: str) -> Organisation:
    return get_object_or_404(access.administered_organisations(request.user), slug=slug)  # type: ignore[arg-type]


def _person(request: HttpRequest, pk: int) -> User:
    return get_object_or_404(access.administered_users(request.user), pk=pk)  # type: ignore[arg-type]


def _form_page(
    request: HttpRequest, template: str, context: dict[str, Any], form: Any
) -> HttpResponse:
    return render(request, template, {**context, "form": form}, status=400 if form.errors else 200)


# ------------------------------------------------------------- organisations ----


@administration("GET")
def index(request: HttpRequest) -> HttpResponse:
    """Partnership administrators: every organisation. Others: straight to their own."""
    user: User = request.user  # type: ignore[assignment]
    if not access.administers_every_organisation(user):
        return redirect("admin_organisation", slug=user.organisation.slug)  # type: ignore[union-attr]
    organisations = access.administered_organisations(user).annotate(
        people=Count("users", filter=Q(users__is_active=True))
    )
    unattached = access.administered_users(user).filter(organisation__isnull=True)
    return render(
        request,
        "accounts/admin/index.html",
        {"organisations": organisations, "unattached": unattached},
    )


@administration("GET")
def organisation(request: HttpRequest, slug: str) -> HttpResponse:
    """An organisation's people: search by email address, 25 a page."""
    org = _organisation(request, slug)
    form = UserSearchForm(request.GET)
    people = access.administered_users(request.user).filter(organisation=org)  # type: ignore[arg-type]
    query = ""
    if form.is_valid():
        query = form.cleaned_data["q"].strip()
        if query:
            people = people.filter(email__icontains=query)
    page = Paginator(people, PEOPLE_PAGE).get_page(request.GET.get("page"))
    context = {
        "organisation": org,
        "form": form,
        "page": page,
        "query": query,
        "leads": org.users.filter(role=Role.LEAD, is_active=True).order_by("email"),
        "partnership": access.administers_every_organisation(request.user),  # type: ignore[arg-type]
        "legal_hold": org.legal_holds.filter(released_at__isnull=True).first(),
    }
    return render(
        request, "accounts/admin/organisation.html", context, status=400 if form.errors else 200
    )


@administration("GET", "POST")
def organisation_create(request: HttpRequest) -> HttpResponse:
    require_partnership(request)
    form = OrganisationForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            org = services.organisation_create(
                actor=request.user,  # type: ignore[arg-type]
                name=form.cleaned_data["name"],
                kind=form.cleaned_data["kind"],
            )
        except services.AccountChangeRefused as exc:
            form.add_error("name", str(exc))
        else:
            messages.success(request, f"{org.name} added.")
            return redirect("admin_organisation", slug=org.slug)
    return _form_page(request, "accounts/admin/organisation_form.html", {"creating": True}, form)


@administration("GET", "POST")
def organisation_rename(request: HttpRequest, slug: str) -> HttpResponse:
    org = _organisation(request, slug)
    require_partnership(request)
    form = OrganisationForm(_posted(request), renaming=org, initial={"name": org.name})
    if request.method == "POST" and form.is_valid():
        try:
            services.organisation_rename(
                actor=request.user,  # type: ignore[arg-type]
                organisation=org,
                name=form.cleaned_data["name"],
            )
        except services.AccountChangeRefused as exc:
            form.add_error("name", str(exc))
        else:
            messages.success(request, f"Renamed to {org.name}.")
            return redirect("admin_organisation", slug=org.slug)
    context = {"creating": False, "organisation": org}
    return _form_page(request, "accounts/admin/organisation_form.html", context, form)


@administration("GET", "POST")
def organisation_status(request: HttpRequest, slug: str, active: bool) -> HttpResponse:
    """Deactivate (with everyone in it) or reactivate an organisation, after a confirmation."""
    org = _organisation(request, slug)
    require_partnership(request)
    error = ""
    if request.method == "POST":
        try:
            count = services.organisation_set_active(
                actor=request.user,  # type: ignore[arg-type]
                organisation=org,
                active=active,
            )
        except services.AccountChangeRefused as exc:
            error = str(exc)
        else:
            done = "reactivated" if active else f"deactivated, with {count} account(s)"
            messages.success(request, f"{org.name} {done}.")
            return redirect("admin_organisation", slug=org.slug)
    context = {
        "organisation": org,
        "active": active,
        "error": error,
        "people": org.users.filter(is_active=True).count(),
    }
    return render(
        request, "accounts/admin/organisation_status.html", context, status=400 if error else 200
    )


# ------------------------------------------------------------------- people ----


@administration("GET", "POST")
def user_invite(request: HttpRequest, slug: str) -> HttpResponse:
    org = _organisation(request, slug)
    form = InviteForm(_posted(request))
    if request.method == "POST" and not org.is_active:
        form.add_error(None, f"{org.name} is deactivated: reactivate it first")
    elif request.method == "POST" and form.is_valid():
        try:
            person = services.user_invite(
                actor=request.user,  # type: ignore[arg-type]
                email=form.cleaned_data["email"],
                full_name=form.cleaned_data["full_name"],
                role=form.cleaned_data["role"],
                organisation=org,
                job_title=form.cleaned_data["job_title"],
            )
        except services.AccountChangeRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Invitation sent to {person.email}.")
            return redirect("admin_user", pk=person.pk)
    return _form_page(request, "accounts/admin/invite.html", {"organisation": org}, form)


@administration("GET")
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    person = _person(request, pk)
    context = {
        "person": person,
        "mfa_enrolled": mfa.is_enrolled(person),
        "has_app": mfa.has_app(person),
        "passkeys": mfa.passkey_count(person),
        "own": person.pk == request.user.pk,
        "partnership": access.administers_every_organisation(request.user),  # type: ignore[arg-type]
    }
    return render(request, "accounts/admin/user.html", context)


def _change(request: HttpRequest, person: User, form: Any, **values: Any) -> HttpResponse | None:
    try:
        changes = services.user_change(actor=request.user, user=person, **values)  # type: ignore[arg-type]
    except services.AccountChangeRefused as exc:
        form.add_error(None, str(exc))
        return None
    messages.success(request, "Saved." if changes else "Nothing was changed.")
    return redirect("admin_user", pk=person.pk)


@administration("GET", "POST")
def user_role(request: HttpRequest, pk: int) -> HttpResponse:
    """The role (a safeguarding lead is a role) and, for partnership admins, partnership-wide."""
    person = _person(request, pk)
    initial = {"role": person.role, "partnership_wide": person.partnership_wide}
    form = UserRoleForm(_posted(request), actor=request.user, initial=initial)  # type: ignore[arg-type]
    if request.method == "POST" and form.is_valid():
        wide = (
            form.cleaned_data.get("partnership_wide") if "partnership_wide" in form.fields else None
        )
        done = _change(
            request,
            person,
            form,
            role=form.cleaned_data["role"],
            organisation=person.organisation,
            partnership_wide=wide,
        )
        if done:
            return done
    return _form_page(
        request, "accounts/admin/user_form.html", {"person": person, "what": "role"}, form
    )


@administration("GET", "POST")
def user_organisation(request: HttpRequest, pk: int) -> HttpResponse:
    person = _person(request, pk)
    require_partnership(request)
    form = UserOrganisationForm(
        _posted(request),
        actor=request.user,
        initial={"organisation": person.organisation_id},  # type: ignore[arg-type]
    )
    if request.method == "POST" and form.is_valid():
        done = _change(
            request, person, form, role=person.role, organisation=form.cleaned_data["organisation"]
        )
        if done:
            return done
    context = {"person": person, "what": "organisation"}
    return _form_page(request, "accounts/admin/user_form.html", context, form)


@administration("GET", "POST")
def user_status(request: HttpRequest, pk: int, active: bool) -> HttpResponse:
    """Deactivate or reactivate an account, after a confirmation."""
    person = _person(request, pk)
    error = ""
    if request.method == "POST":
        change = services.user_reactivate if active else services.user_deactivate
        try:
            change(actor=request.user, user=person)  # type: ignore[arg-type]
        except services.AccountChangeRefused as exc:
            error = str(exc)
        else:
            messages.success(
                request, f"{person.email} {'reactivated' if active else 'deactivated'}."
            )
            return redirect("admin_user", pk=person.pk)
    context = {"person": person, "active": active, "error": error}
    return render(request, "accounts/admin/user_status.html", context, status=400 if error else 200)


@administration("POST")
def user_invite_again(request: HttpRequest, pk: int) -> HttpResponse:
    person = _person(request, pk)
    try:
        services.user_invite_again(actor=request.user, user=person)  # type: ignore[arg-type]
    except services.AccountChangeRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"A new invitation was sent to {person.email}.")
    return redirect("admin_user", pk=person.pk)


@administration("GET", "POST")
def user_mfa_reset(request: HttpRequest, pk: int) -> HttpResponse:
    """Reset someone's authenticator app (lost or replaced phone), after a confirmation."""
    person = _person(request, pk)
    error = ""
    if request.method == "POST":
        try:
            services.user_mfa_reset(actor=request.user, user=person)  # type: ignore[arg-type]
        except services.AccountChangeRefused as exc:
            error = str(exc)
        else:
            messages.success(
                request,
                f"{person.email} will set up an authenticator app or a passkey "
                "at their next sign-in.",
            )
            return redirect("admin_user", pk=person.pk)
    context = {"person": person, "error": error}
    return render(
        request, "accounts/admin/user_mfa_reset.html", context, status=400 if error else 200
    )
