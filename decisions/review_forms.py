"""Forms for the lead's pages: approve or return a decision, and filter the audit log."""

from __future__ import annotations

import re
from typing import Any

from crispy_forms_gds.fields import DateInputField
from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import Field, Fieldset, Layout, Size
from django import forms

from decisions.audit_log import ACTIONS, AuditFilters
from decisions.models import Organisation, ReviewAction, Role, User
from decisions.signoff import MAX_COMMENTS

REFERENCE = re.compile(r"ISG-\d{4}-\d{6}", re.IGNORECASE)


def _no_control_characters(form: forms.Form, name: str) -> None:
    value = form.cleaned_data.get(name)
    if isinstance(value, str) and any(ord(ch) < 32 and ch not in "\r\n\t" for ch in value):
        form.add_error(name, "Remove the control characters from your comments")


class ReviewForm(forms.Form):
    outcome = forms.ChoiceField(
        label="What is your decision?",
        choices=[
            (ReviewAction.APPROVED.value, "Approve it: the decision takes effect"),
            (ReviewAction.RETURNED.value, "Return it to the decider for changes"),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "Select whether you approve or return the decision"},
    )
    comments = forms.CharField(
        label="Comments",
        help_text="Needed if you return it: say what the decider should change. Comments are "
        "kept with the record and shown on its PDF.",
        required=False,
        max_length=MAX_COMMENTS,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"max_length": f"Comments must be {MAX_COMMENTS} characters or fewer"},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True  # the page's <form> has its token
        self.helper.layout = Layout(
            Field.radios("outcome", legend_size=Size.MEDIUM),
            Field.textarea("comments", label_size=Size.SMALL, max_characters=MAX_COMMENTS),
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        _no_control_characters(self, "comments")
        if cleaned.get("outcome") == ReviewAction.RETURNED and not cleaned.get("comments"):
            self.add_error("comments", "Enter comments that tell the decider what to change")
        return cleaned


class AuditFilterForm(forms.Form):
    """The audit log's filters (GET). Administrators also choose an organisation."""

    # A choice of accounts, so the page's address carries an id, never an email address.
    person = forms.ModelChoiceField(
        label="Person",
        required=False,
        queryset=User.objects.none(),
        empty_label="Anyone",
        error_messages={"invalid_choice": "Select a person from the list"},
    )
    organisation = forms.ModelChoiceField(
        label="Organisation",
        required=False,
        queryset=Organisation.objects.all(),
        empty_label="All organisations",
        error_messages={"invalid_choice": "Select an organisation from the list"},
    )
    action = forms.ChoiceField(
        label="Action",
        required=False,
        choices=[("", "Any action"), *ACTIONS.items()],
        error_messages={"invalid_choice": "Select an action from the list"},
    )
    reference = forms.CharField(
        label="Record reference",
        required=False,
        max_length=20,
        help_text="For example, ISG-2026-000123",
        error_messages={"max_length": "Enter a reference like ISG-2026-000123"},
    )
    date_from = DateInputField(label="From", required=False, require_all_fields=False)
    date_to = DateInputField(label="To", required=False, require_all_fields=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        people = User.objects.order_by("email")
        if user.role != Role.ADMIN:
            people = people.filter(organisation_id=user.organisation_id)
        person = self.fields["person"]
        person.queryset = people  # type: ignore[attr-defined]
        person.label_from_instance = lambda u: f"{u.full_name} ({u.email})"  # type: ignore[attr-defined]
        fields: list[Any] = [Field("person")]
        if user.role == Role.ADMIN:
            fields.append(Field("organisation"))
        else:
            del self.fields["organisation"]
        fields += [
            Field("action"),
            Field.text("reference", field_width=10),
            # Field() passes context through untranslated: give the legend its CSS class.
            Field("date_from", context={"legend_size": Size.for_legend(Size.SMALL)}),
            Field("date_to", context={"legend_size": Size.for_legend(Size.SMALL)}),
        ]
        self.fields["date_from"].error_messages["invalid"] = "Enter a real date for 'From'"
        self.fields["date_to"].error_messages["invalid"] = "Enter a real date for 'To'"
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True  # a GET form: a token would end up in the URL
        self.helper.layout = Layout(
            Fieldset(*fields, legend="Filter events", legend_size=Size.MEDIUM)
        )

    def clean_reference(self) -> str:
        reference = self.cleaned_data["reference"].strip().upper()
        if reference and not REFERENCE.fullmatch(reference):
            raise forms.ValidationError("Enter a reference like ISG-2026-000123")
        return reference

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The 'To' date must be the same as or after the 'From' date")
        return cleaned

    def filters(self) -> AuditFilters:
        """The valid filters (an invalid form filters nothing and shows its errors)."""
        data = self.cleaned_data if self.is_valid() else {}
        return AuditFilters(
            person=data.get("person"),
            organisation=data.get("organisation"),
            action=data.get("action") or "",
            reference=data.get("reference") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )
