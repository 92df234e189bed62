"""Forms for the wizard: one form per step, built from the step's fields in the pack.

A step with one field uses the step's title as that field's label, shown as the page h1
(GOV.UK "question pages"); a step with several fields shows the title as h1 and each field
with its own label.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from crispy_forms_gds.choices import Choice
from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import Button, Field, Layout, Size
from django import forms
from django.utils.safestring import SafeString

from decisions.forms.fields import RealDateField, has_control_characters
from decisions.forms.govuk import render_step_fields
from decisions.guidance import engine

# Dates further than this from today are almost certainly typing mistakes.
DATE_WINDOW = timedelta(days=366 * 10)


def _choices(field: engine.Field) -> list[Choice]:
    """The field's choices; the one before an exclusive choice ("None of these") carries the
    GOV.UK "or" divider, which crispy-forms-gds draws after a choice."""
    choices = []
    for choice, following in zip(field.choices, field.choices[1:] + (None,), strict=True):
        extra: dict[str, str] = {"hint": choice.hint} if choice.hint else {}
        if following is not None and following.exclusive and not choice.exclusive:
            extra["divider"] = "or"
        choices.append(Choice(choice.value, choice.label, **extra))
    return choices


def _hint(field: engine.Field) -> str:
    # crispy-forms-gds's character count needs a hint to attach to, so a textarea always has one.
    if field.kind == "textarea" and not field.hint:
        return f"You can enter up to {field.max_length} characters."
    return field.hint


def _form_field(field: engine.Field, label: str) -> forms.Field:
    common: dict[str, Any] = {"label": label, "help_text": _hint(field), "required": field.required}
    missing = field.error
    if field.kind in ("radio", "yesno"):
        return forms.ChoiceField(
            choices=_choices(field),
            widget=forms.RadioSelect,
            error_messages={
                "required": missing or f"Select an answer: {label}",
                "invalid_choice": f"Select one of the options: {label}",
            },
            **common,
        )
    if field.kind == "checkboxes":
        return forms.MultipleChoiceField(
            choices=_choices(field),
            widget=forms.CheckboxSelectMultiple,
            error_messages={
                "required": missing or f"Select at least one option: {label}",
                "invalid_choice": f"Select only from the options: {label}",  # noqa: S608
            },
            **common,
        )
    if field.kind == "date":
        date_field = RealDateField(require_all_fields=False, **common)
        date_field.error_messages["required"] = missing or f"Enter a date: {label}"
        date_field.error_messages["invalid"] = f"Enter a real date: {label}"
        return date_field
    widget = forms.Textarea(attrs={"rows": 5}) if field.kind == "textarea" else forms.TextInput
    return forms.CharField(
        max_length=field.max_length,
        widget=widget,
        strip=True,
        error_messages={
            "required": missing or f"Enter an answer: {label}",
            "max_length": f"{label} must be {field.max_length} characters or fewer",
        },
        **common,
    )


class StepForm(forms.Form):
    """The form for one step of the flowchart: the fields the path asks, checked by the engine.

    Which fields show (`show_when`), what is conditionally required (`required_when`), which
    choices exclude the others and which combinations the guidance refuses are the pack's to
    say: the engine's step_errors decides, and its messages join the form's errors.
    """

    def __init__(
        self,
        pack: engine.Pack,
        step: engine.Step,
        answers: engine.Answers,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.pack, self.step, self.answers = pack, step, answers
        self.shown = engine.visible_fields(pack, step, answers)
        single = len(self.shown) == 1
        layout = []
        for field in self.shown:
            label = step.title if single else field.label
            self.fields[field.name] = _form_field(field, label)
            layout.append(self._layout_field(field, single))
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True  # the page template writes the token
        self.helper.layout = Layout(*layout)  # the page adds help, then the button

    @property
    def single_field(self) -> bool:
        return len(self.shown) == 1

    def fields_html(self) -> SafeString:
        """The fields in GOV.UK markup: crispy-forms-gds's, written without its templates
        (decisions.forms.govuk says why)."""
        return render_step_fields(self)

    @staticmethod
    def _layout_field(field: engine.Field, single: bool) -> Field:
        size = Size.LARGE if single else Size.MEDIUM
        tag = "h1" if single else None
        if field.kind in ("radio", "yesno"):
            return Field.radios(
                field.name, legend_size=size, legend_tag=tag, inline=field.kind == "yesno"
            )
        if field.kind == "checkboxes":
            return Field.checkboxes(field.name, legend_size=size, legend_tag=tag)
        if field.kind == "date":
            return Field(
                field.name, context={"legend_size": Size.for_legend(size), "legend_tag": tag}
            )
        if field.kind == "textarea":
            return Field.textarea(
                field.name, label_size=size, label_tag=tag, max_characters=field.max_length
            )
        return Field.text(field.name, label_size=size, label_tag=tag)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # A list: add_error() removes the field from cleaned_data while we look at it.
        for name, value in list(cleaned.items()):
            if isinstance(value, date) and abs(value - date.today()) > DATE_WINDOW:
                self.add_error(name, "Enter a date within ten years of today")
            elif has_control_characters(value):
                self.add_error(name, "Remove the control characters from this answer")
        if not self.errors:
            values = {name: _stored(value) for name, value in self.answer_values().items()}
            for name, message in engine.step_errors(
                self.pack, self.step, values, self.answers
            ).items():
                self.add_error(name if name in self.fields else None, message)
        return cleaned

    def answer_values(self) -> dict[str, Any]:
        """Cleaned values for every field the page asked, blanks included."""
        return {
            f.name: self.cleaned_data.get(f.name) or ("" if f.kind != "checkboxes" else [])
            for f in self.shown
        }


def _stored(value: Any) -> Any:
    """A cleaned value as the answers store it (the engine reads stored answers)."""
    return value.isoformat() if isinstance(value, date) else value


def initial_for(pack: engine.Pack, step: engine.Step, answers: engine.Answers) -> dict[str, Any]:
    """The page's starting values: the stored answers, or the pack's suggestions (for example
    the recipient from the requester) for a step not yet answered. Dates are stored as ISO
    text."""
    values = dict(answers.get(step.id) or engine.prefill(pack, step, answers))
    initial: dict[str, Any] = {}
    for field in step.fields:
        value = values.get(field.name)
        if field.kind == "date" and value:
            try:
                value = date.fromisoformat(value)
            except ValueError:
                value = None
        initial[field.name] = value
    return initial


class ReasonForm(forms.Form):
    """One page asking why, as its h1: the reason for an amendment or for discarding a draft."""

    label = ""
    hint = ""
    limit = 2000
    missing = ""
    button = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"] = forms.CharField(
            label=self.label,
            help_text=self.hint,
            max_length=self.limit,
            widget=forms.Textarea(attrs={"rows": 5}),
            error_messages={
                "required": self.missing,
                "max_length": f"The reason must be {self.limit} characters or fewer",
            },
        )
        layout: list[Any] = [
            Field.textarea(
                "reason", label_size=Size.LARGE, label_tag="h1", max_characters=self.limit
            )
        ]
        if self.button:
            layout.append(Button("submit", self.button))
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True  # the page template writes the token
        self.helper.layout = Layout(*layout)

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"]
        if has_control_characters(reason):
            raise forms.ValidationError("Remove the control characters from the reason")
        return reason


class AmendmentForm(ReasonForm):
    label = "Why does this decision need to be corrected?"
    hint = "Say what was wrong or what has changed. The original record stays as it was."
    missing = "Enter the reason for the amendment"
    button = "Start the amendment"


class DiscardForm(ReasonForm):
    label = "Why are you discarding this draft?"
    hint = (
        "For example, it was started by mistake or it repeats another decision. "
        "The reason is kept in the audit log."
    )
    limit = 500
    missing = "Enter why you are discarding this draft"
