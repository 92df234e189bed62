"""An organisation's legal hold: see it, place it, release it (administration pages).

Same guard as every administration page (the administrator role and a recent password); the
organisation is looked up through decisions.access, so another organisation's is a 404.
"""

from __future__ import annotations

from typing import Any

from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import Field, Layout
from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from decisions import access
from decisions.accounts.administration import administration
from decisions.audit.holds import HoldRefused, hold_in_force, place_hold, release_hold
from decisions.forms.fields import has_control_characters
from decisions.models import LegalHold, Organisation


class ReasonForm(forms.Form):
    # What the page offered, so a post made from a page that is out of date (someone else
    # placed or released the hold meanwhile) is refused instead of doing the opposite.
    hold = forms.CharField(widget=forms.HiddenInput, required=False)
    reason = forms.CharField(
        label="Reason",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=(
            "Say why, without personal details: for example the case review, inquiry or claim "
            "and who asked. This is kept with the hold and in the audit log."
        ),
        error_messages={
            "required": "Enter the reason",
            "max_length": "The reason must be 500 characters or fewer",
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True  # the page's <form> has its token
        self.helper.layout = Layout(Field.textarea("reason"))

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Enter the reason")
        if has_control_characters(reason):
            raise forms.ValidationError("The reason must not contain control characters")
        return reason


def _organisation(request: HttpRequest, slug: str) -> Organisation:
    return get_object_or_404(access.administered_organisations(request.user), slug=slug)  # type: ignore[arg-type]


@administration("GET", "POST")
def legal_hold(request: HttpRequest, slug: str) -> HttpResponse:
    """The hold in force (release it) or none (place one), and the history of holds."""
    org = _organisation(request, slug)
    current = hold_in_force(org)
    offered = str(current.pk) if current else "none"
    form = ReasonForm(request.POST if request.method == "POST" else None, initial={"hold": offered})
    if request.method == "POST" and form.is_valid():
        reason = form.cleaned_data["reason"]
        try:
            if form.cleaned_data["hold"] != offered:
                raise HoldRefused(
                    "The legal hold changed after you opened this page: check it and try again"
                )
            if current is None:
                place_hold(actor=request.user, organisation=org, reason=reason)  # type: ignore[arg-type]
                messages.success(request, "Legal hold placed: no audit events will be archived.")
            else:
                release_hold(actor=request.user, hold=current, reason=reason)  # type: ignore[arg-type]
                messages.success(request, "Legal hold released.")
        except HoldRefused as exc:
            # Shown against the hold as it is now, so the next post is about that one.
            current = hold_in_force(org)
            offered = str(current.pk) if current else "none"
            form = ReasonForm({"reason": reason, "hold": offered})
            form.is_valid()
            form.add_error(None, str(exc))
        else:
            return redirect("admin_legal_hold", slug=org.slug)
    context = {
        "organisation": org,
        "current": current,
        "form": form,
        "archive_months": settings.ISG_AUDIT_ARCHIVE_AFTER_MONTHS,
        "history": LegalHold.objects.filter(organisation=org).select_related(
            "placed_by", "released_by"
        ),
    }
    return render(
        request, "accounts/admin/legal_hold.html", context, status=400 if form.errors else 200
    )
