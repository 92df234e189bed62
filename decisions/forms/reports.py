"""The report filters: one form for the reports page, its exports and background exports.

The page sends the filters by GET (they hold no personal data: dates, an organisation's slug
and choice values); the export buttons post the same names back, and a background export
stores them as JSON and validates them again here before it runs.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import Div, Field, Layout, Size
from django import forms
from django.utils import timezone

from decisions import access
from decisions.forms.fields import RealDateField
from decisions.models import User
from decisions.models.decisions import OutcomeKind
from decisions.reports.fields import choice_options
from decisions.reports.filters import ALL, REPORTED_STATUSES, ReportFilters

EARLIEST = date(2000, 1, 1)
LONGEST = timedelta(days=366 * 10)


def three_months_before(day: date) -> date:
    """The same day three calendar months earlier (the last day of a shorter month)."""
    month = day.month - 3
    year = day.year - 1 if month < 1 else day.year
    month = month + 12 if month < 1 else month
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, candidate)
        except ValueError:
            continue
    raise AssertionError("unreachable")


class ReportDateField(RealDateField):
    """A GOV.UK date input whose impossible dates get a plain message, not Python's."""

    def __init__(self, label: str, **kwargs: Any) -> None:
        super().__init__(label=label, require_all_fields=False, **kwargs)
        self.error_messages["required"] = f"Enter the {label.lower()}"
        self.error_messages["invalid"] = f"{label} must be a real date"


def _select(label: str, choices: list[tuple[str, str]], any_label: str) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        choices=[("", any_label), *choices],
        required=False,
        error_messages={"invalid_choice": f"Choose {label.lower()} from the list"},
    )


def _row(*cells: tuple[str, str]) -> Div:
    """Fields side by side in GOV.UK grid columns."""
    columns = []
    for name, width in cells:
        if name.startswith("date_"):
            field = Field(name, context={"legend_size": Size.for_legend(Size.SMALL)})
        else:
            field = Field.select(name)
        columns.append(Div(field, css_class=f"govuk-grid-column-{width}"))
    return Div(*columns, css_class="govuk-grid-row")


class ReportFilterForm(forms.Form):
    date_from = ReportDateField("Start date", help_text="For example, 1 8 2026")
    date_to = ReportDateField("End date", help_text="For example, 31 10 2026")
    organisation = forms.ChoiceField(
        label="Organisation",
        error_messages={
            "invalid_choice": "Select an organisation you can report on",
            "required": "Select an organisation",
        },
    )
    purpose = _select("Purpose", [], "Any purpose")
    outcome = _select("Outcome", list(OutcomeKind.choices), "Any outcome")
    lawful_reason = _select("Lawful reason to share without consent", [], "Any or none")
    direction = _select("Direction", [], "Proactive or on request")
    status = _select("Status", REPORTED_STATUSES, "Any status")

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.organisations = {o.slug: o for o in access.reportable_organisations(user)}
        org_choices = [(slug, o.name) for slug, o in self.organisations.items()]
        if access.may_choose_organisation(user):
            org_choices.insert(0, (ALL, "All organisations"))
        elif user.partnership_wide:
            org_choices.insert(0, (ALL, "All organisations (aggregates only)"))
        self.fields["organisation"].choices = org_choices
        for name, field_name in (
            ("purpose", "purpose_categories"),
            ("lawful_reason", "lawful_reason"),
            ("direction", "direction"),
        ):
            self.fields[name].choices = [self.fields[name].choices[0], *choice_options(field_name)]
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True  # a GET form: a token would end up in the URL
        self.helper.layout = Layout(
            _row(("date_from", "one-half"), ("date_to", "one-half")),
            _row(
                ("organisation", "one-third"), ("direction", "one-third"), ("status", "one-third")
            ),
            _row(
                ("outcome", "one-third"), ("purpose", "one-third"), ("lawful_reason", "one-third")
            ),
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        today = timezone.localdate()
        if start and start < EARLIEST:
            self.add_error("date_from", "Start date must be on or after 1 January 2000")
        if end and end > today:
            self.add_error("date_to", "End date must be today or in the past")
        if start and end and "date_from" not in self.errors and "date_to" not in self.errors:
            if start > end:
                self.add_error("date_to", "End date must be the same as or after the start date")
            elif end - start > LONGEST:
                self.add_error(
                    "date_to",
                    "A report can cover up to 10 years: "
                    "choose a later start date or an earlier end date",
                )
        return cleaned

    def filters(self) -> ReportFilters:
        """The cleaned filters; call only after is_valid()."""
        data = self.cleaned_data
        slug = data["organisation"]
        return ReportFilters(
            date_from=data["date_from"],
            date_to=data["date_to"],
            organisation=None if slug == ALL else self.organisations[slug],
            purpose=data["purpose"],
            outcome=data["outcome"],
            lawful_reason=data["lawful_reason"],
            direction=data["direction"],
            status=data["status"],
        )


FILTER_NAMES = {"organisation", *ReportFilters.CHOICES} | {
    f"date_{end}_{i}" for end in ("from", "to") for i in range(3)
}


def default_filters(user: User) -> ReportFilters:
    """Last three months, the user's own organisation (or all, for partnership and admin)."""
    today = timezone.localdate()
    return ReportFilters(
        date_from=three_months_before(today),
        date_to=today,
        organisation=None if access.reports_cover_all(user) else user.organisation,
    )


def form_for(user: User, data: Any | None) -> ReportFilterForm:
    """The filter form, bound to the filters sent, with defaults for any not sent."""
    merged = default_filters(user).form_data()
    if data is not None:
        merged.update({name: data.get(name) for name in FILTER_NAMES if name in data})
    return ReportFilterForm(user, merged)
