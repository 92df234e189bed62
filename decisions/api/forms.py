"""The administration pages' forms: a new API token, a new webhook."""

from __future__ import annotations

from typing import Any

from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import Field, Layout, Size
from django import forms

from decisions.forms.fields import has_control_characters
from decisions.models import ApiScope


def _helper(*fields: Any) -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True  # the page's <form> has its token
    helper.layout = Layout(*fields)
    return helper


class TokenForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=80,
        help_text="Which system uses it, for example 'Mosaic (live)'. Shown in the audit log.",
        error_messages={"required": "Enter a name for the token"},
    )
    scopes = forms.MultipleChoiceField(
        label="What it may do",
        choices=ApiScope.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Select what the token may do"},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper(
            Field.text("name", field_width=30), Field.checkboxes("scopes", legend_size=Size.SMALL)
        )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if has_control_characters(name):
            raise forms.ValidationError("Remove the control characters from the name")
        return name


class WebhookForm(forms.Form):
    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        help_text="Where ISG sends the events, starting https://",
        error_messages={
            "required": "Enter the URL",
            "invalid": "Enter a URL in the correct format, like https://cases.example.org/isg",
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper(Field.text("url"))
