"""Administration forms: find people, invite someone, change a role or organisation, name an
organisation. Choices come from decisions.access, so no form offers what the administrator
may not give."""

from __future__ import annotations

from typing import Any

from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import Field, Layout, Size
from django import forms

from decisions import access
from decisions.forms.fields import has_control_characters
from decisions.models import Organisation, OrganisationKind, Role, User

ROLE_CHOICES = [
    (Role.PRACTITIONER.value, "Practitioner: makes and records decisions"),
    (Role.LEAD.value, "Safeguarding lead: also approves decisions and reads the audit log"),
    (Role.MANAGER.value, "Manager: reports on decisions"),
    (Role.ADMIN.value, "Administrator: manages accounts"),
]


def _helper(*fields: Any) -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True  # the page's <form> has its token
    helper.layout = Layout(*fields)
    return helper


def _plain_text(form: forms.Form, *names: str) -> None:
    for name in names:
        if has_control_characters(form.cleaned_data.get(name)):
            form.add_error(name, "Remove the control characters")


class UserSearchForm(forms.Form):
    q = forms.CharField(
        label="Search by email address",
        required=False,
        max_length=254,
        error_messages={"max_length": "Enter 254 characters or fewer"},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True  # a GET form
        self.helper.layout = Layout(Field.text("q", label_size=Size.SMALL, field_width=20))


class InviteForm(forms.Form):
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        help_text="The invitation is sent here, and they sign in with it.",
        error_messages={
            "required": "Enter their email address",
            "invalid": "Enter an email address in the correct format, like name@example.org",
        },
    )
    full_name = forms.CharField(
        label="Full name",
        max_length=150,
        error_messages={"required": "Enter their full name"},
    )
    job_title = forms.CharField(label="Job title (optional)", required=False, max_length=150)
    role = forms.ChoiceField(
        label="Role",
        choices=ROLE_CHOICES,
        widget=forms.RadioSelect,
        error_messages={"required": "Select a role"},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper(
            Field.text("email", field_width=30),
            Field.text("full_name", field_width=30),
            Field.text("job_title", field_width=30),
            Field.radios("role", legend_size=Size.SMALL),
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        _plain_text(self, "full_name", "job_title")
        email = str(cleaned.get("email") or "").lower()
        if email and User.objects.filter(email__iexact=email).exists():
            self.add_error("email", "There is already an account with this email address")
        return cleaned


class UserRoleForm(forms.Form):
    role = forms.ChoiceField(
        label="Role",
        choices=ROLE_CHOICES,
        widget=forms.RadioSelect,
        error_messages={"required": "Select a role", "invalid_choice": "Select a role"},
    )
    partnership_wide = forms.BooleanField(
        label="Partnership-wide: reports across organisations (managers), approves for "
        "organisations without a lead (leads), administers every organisation (administrators)",
        required=False,
    )

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: list[Any] = [Field.radios("role", legend_size=Size.MEDIUM)]
        if access.administers_every_organisation(actor):
            fields.append(Field.checkbox("partnership_wide"))
        else:
            del self.fields["partnership_wide"]
        self.helper = _helper(*fields)


class UserOrganisationForm(forms.Form):
    organisation = forms.ModelChoiceField(
        label="Organisation",
        queryset=Organisation.objects.none(),
        empty_label=None,
        error_messages={
            "required": "Select an organisation",
            "invalid_choice": "Select an organisation from the list",
        },
    )

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["organisation"]
        field.queryset = access.administered_organisations(actor).filter(is_active=True)  # type: ignore[attr-defined]
        self.helper = _helper(Field.select("organisation"))


class OrganisationForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=200,
        error_messages={
            "required": "Enter the organisation's name",
            "max_length": "Enter a name of 200 characters or fewer",
        },
    )
    kind = forms.ChoiceField(
        label="Type of organisation",
        choices=OrganisationKind.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select the type of organisation"},
    )

    def __init__(self, *args: Any, renaming: Organisation | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.renaming = renaming
        fields: list[Any] = [Field.text("name", label_size=Size.MEDIUM)]
        if renaming is None:
            fields.append(Field.radios("kind", legend_size=Size.MEDIUM))
        else:
            del self.fields["kind"]
        self.helper = _helper(*fields)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        _plain_text(self, "name")
        name = " ".join(str(cleaned.get("name") or "").split())
        others = Organisation.objects.filter(name__iexact=name)
        if self.renaming is not None:
            others = others.exclude(pk=self.renaming.pk)
        if name and others.exists():
            self.add_error("name", "There is already an organisation with this name")
        cleaned["name"] = name
        return cleaned
