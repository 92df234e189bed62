"""The audit log's filters (GET), for leads and administrators."""

from __future__ import annotations

import re
from typing import Any

from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import Field, Fieldset, Layout, Size
from django import forms

from decisions import access
from decisions.audit.actions import AuditAction
from decisions.audit.queries import AuditFilters
from decisions.forms.fields import RealDateField
from decisions.models import Organisation, User

REFERENCE = re.compile(r"ISG-\d{4}-\d{6}", re.IGNORECASE)


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
        choices=[("", "Any action"), *AuditAction.choices],
        error_messages={"invalid_choice": "Select an action from the list"},
    )
    reference = forms.CharField(
        label="Record reference",
        required=False,
        max_length=20,
        help_text="For example, ISG-2026-000123",
        error_messages={"max_length": "Enter a reference like ISG-2026-000123"},
    )
    date_from = RealDateField(label="From", required=False, require_all_fields=False)
    date_to = RealDateField(label="To", required=False, require_all_fields=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        person = self.fields["person"]
        person.queryset = access.audit_people(user)  # type: ignore[attr-defined]
        person.label_from_instance = lambda u: f"{u.full_name} ({u.email})"  # type: ignore[attr-defined]
        fields: list[Any] = [Field("person")]
        if access.may_choose_organisation(user):
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
