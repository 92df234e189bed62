"""The lead's approve-or-return form."""

from __future__ import annotations

from typing import Any

from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import Field, Layout, Size
from django import forms

from decisions.forms.fields import has_control_characters
from decisions.models import ReviewAction
from decisions.signoff import MAX_COMMENTS


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
        if has_control_characters(cleaned.get("comments")):
            self.add_error("comments", "Remove the control characters from your comments")
        elif cleaned.get("outcome") == ReviewAction.RETURNED and not cleaned.get("comments"):
            self.add_error("comments", "Enter comments that tell the decider what to change")
        return cleaned
