"""The audit log's filters, for leads and administrators: posted, then carried in the page's
address (GET) with the person as an id."""

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

    # An email address typed in, not a list of every account: the page costs the same with 40
    # staff or 4,000. The form is posted and the page redirects to an address that carries the
    # person's id (?person=<id>), so an email address never sits in a URL, a log or history.
    person = forms.CharField(
        label="Person",
        required=False,
        max_length=254,
        help_text="Their email address, for example name@example.org",
        widget=forms.EmailInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
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

    def __init__(self, *args: Any, user: User, from_query: bool = True, **kwargs: Any) -> None:
        """`from_query`: bound to a query string, where the person is an id (?person=<id>);
        otherwise to the posted form, where it is an email address."""
        super().__init__(*args, **kwargs)
        self.user = user
        self._person: User | None = None
        self._unknown_person = False
        if self.is_bound and from_query:
            self.data = self.data.copy()
            self._person_from_id(str(self.data.get("person") or ""))
        fields: list[Any] = [Field.text("person", field_width=20)]
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
        self.helper.disable_csrf = True  # the template has the token (the form is posted)
        self.helper.layout = Layout(
            Fieldset(*fields, legend="Filter events", legend_size=Size.MEDIUM)
        )

    def _person_from_id(self, value: str) -> None:
        """Show the email address of the person in the address (one query by primary key)."""
        if not value:
            return
        if value.isascii() and value.isdigit() and len(value) <= 18:
            self._person = access.audit_people(self.user).filter(pk=int(value)).first()
        if self._person is None:
            self._unknown_person = True
        else:
            self.data["person"] = self._person.email

    def clean_person(self) -> User | None:
        email = self.cleaned_data["person"].strip()
        if self._unknown_person:
            raise forms.ValidationError(self.unknown_person_message())
        if not email:
            return None
        if self._person is not None and self._person.email == email:
            return self._person
        # Emails are stored in lower case (decisions.models.organisations.UserManager).
        person = access.audit_people(self.user).filter(email=email.lower()).first()
        if person is None:
            raise forms.ValidationError(self.unknown_person_message())
        return person

    def unknown_person_message(self) -> str:
        if access.may_choose_organisation(self.user):
            return "Enter the email address of a person with an ISG account"
        return f"Enter the email address of a person in {self.user.organisation.name}"

    def query_data(self) -> dict[str, str]:
        """The valid filters as the page's address carries them (the person by id)."""
        data = {key: str(self.data.get(key) or "") for key in self.QUERY_KEYS}
        person = self.cleaned_data.get("person")
        data["person"] = str(person.pk) if person else ""
        return {key: value for key, value in data.items() if value}

    # The filter fields in the page's address (date inputs are three boxes each).
    QUERY_KEYS = (
        "person",
        "organisation",
        "action",
        "reference",
        "date_from_0",
        "date_from_1",
        "date_from_2",
        "date_to_0",
        "date_to_1",
        "date_to_2",
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
