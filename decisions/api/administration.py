"""Administration of an organisation's API tokens and webhooks, and its webhook delivery log.

Same guard as every administration page (decisions.accounts.administration.administration:
the administrator role and a recent password), organisations looked up through
decisions.access (another organisation's is a 404), tokens and webhooks within it. A new
token or webhook secret is shown once, on the page answering the POST, and never again.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from decisions import access
from decisions.accounts.administration import administration
from decisions.api import tokens, webhooks
from decisions.api.forms import TokenForm, WebhookForm
from decisions.models import ApiToken, Organisation, Webhook, WebhookDelivery

DELIVERIES_SHOWN = 50


def _organisation(request: HttpRequest, slug: str) -> Organisation:
    return get_object_or_404(access.administered_organisations(request.user), slug=slug)  # type: ignore[arg-type]


def _posted(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else None


@administration("GET")
def index(request: HttpRequest, slug: str) -> HttpResponse:
    org = _organisation(request, slug)
    deliveries = (
        WebhookDelivery.objects.filter(webhook__organisation=org)
        .select_related("webhook", "decision")
        .order_by("-created_at", "-pk")[:DELIVERIES_SHOWN]
    )
    context = {
        "organisation": org,
        "tokens": ApiToken.objects.filter(organisation=org),
        "webhooks": Webhook.objects.filter(organisation=org, removed_at__isnull=True),
        "deliveries": deliveries,
        "shown": DELIVERIES_SHOWN,
    }
    return render(request, "api/admin/index.html", context)


@administration("GET", "POST")
def token_create(request: HttpRequest, slug: str) -> HttpResponse:
    org = _organisation(request, slug)
    form = TokenForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            new = tokens.token_create(
                actor=request.user,  # type: ignore[arg-type]
                organisation=org,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
            )
        except tokens.TokenRefused as exc:
            form.add_error(None, str(exc))
        else:
            context = {"organisation": org, "token": new.token, "secret": new.secret}
            return render(request, "api/admin/token_created.html", context)
    return render(
        request,
        "api/admin/token_form.html",
        {"organisation": org, "form": form},
        status=400 if form.errors else 200,
    )


@administration("GET", "POST")
def token_revoke(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    org = _organisation(request, slug)
    token = get_object_or_404(ApiToken, organisation=org, pk=pk)
    error = ""
    if request.method == "POST":
        try:
            tokens.token_revoke(actor=request.user, token=token)  # type: ignore[arg-type]
        except tokens.TokenRefused as exc:
            error = str(exc)
        else:
            messages.success(request, f"The token {token.name} is revoked.")
            return redirect("api_admin", slug=org.slug)
    context = {"organisation": org, "token": token, "error": error}
    return render(request, "api/admin/token_revoke.html", context, status=400 if error else 200)


@administration("GET", "POST")
def webhook_add(request: HttpRequest, slug: str) -> HttpResponse:
    org = _organisation(request, slug)
    form = WebhookForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            webhook = webhooks.webhook_add(
                actor=request.user,  # type: ignore[arg-type]
                organisation=org,
                url=form.cleaned_data["url"],
            )
        except webhooks.WebhookRefused as exc:
            form.add_error("url", str(exc))
        else:
            return render(
                request, "api/admin/webhook_created.html", {"organisation": org, "webhook": webhook}
            )
    return render(
        request,
        "api/admin/webhook_form.html",
        {"organisation": org, "form": form},
        status=400 if form.errors else 200,
    )


@administration("GET", "POST")
def webhook_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    org = _organisation(request, slug)
    webhook = get_object_or_404(Webhook, organisation=org, pk=pk, removed_at__isnull=True)
    error = ""
    if request.method == "POST":
        try:
            webhooks.webhook_remove(actor=request.user, webhook=webhook)  # type: ignore[arg-type]
        except webhooks.WebhookRefused as exc:
            error = str(exc)
        else:
            messages.success(request, "The webhook is removed.")
            return redirect("api_admin", slug=org.slug)
    context = {"organisation": org, "webhook": webhook, "error": error}
    return render(request, "api/admin/webhook_remove.html", context, status=400 if error else 200)
