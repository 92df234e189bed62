"""The report filters: one form for the reports page, its exports, background exports and
drill-downs; the period presets beside the dates; and the figure a drill-down lists.

The page sends the filters by GET (they hold no personal data: dates, an organisation's slug
and choice values); the export buttons post the same names back, and a background export
stores them as JSON and validates them again here before it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import HTML, Div, Field, Layout, Size
from django import forms
from django.utils import timezone

from decisions import access
from decisions.forms.fields import RealDateField
from decisions.models import User
from decisions.models.decisions import OutcomeKind
from decisions.reports.drilldown import KINDS, Drilldown, report_months
from decisions.reports.fields import choice_options
from decisions.reports.filters import ALL, REPORTED_STATUSES, ReportFilters, filter_choices

EARLIEST = date(2000, 1, 1)
LONGEST = timedelta(days=366 * 10)


def months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier (the last day of a shorter month)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, candidate)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def three_months_before(day: date) -> date:
    """The same day three calendar months earlier (the last day of a shorter month)."""
    return months_before(day, 3)


# ------------------------------------------------------------ period presets ----


@dataclass(frozen=True)
class Preset:
    """A period the reports page offers as a link beside the dates."""

    label: str
    date_from: date
    date_to: date

    @property
    def dates(self) -> str:
        return f"{self.date_from:%-d %B %Y} to {self.date_to:%-d %B %Y}"


def quarter_start(day: date) -> date:
    """The first day of the quarter `day` is in (quarters start 1 January, April, July and
    October: the same in calendar and financial years)."""
    return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def financial_year_start(day: date) -> date:
    """1 April of the UK financial year `day` is in."""
    return date(day.year if day.month >= 4 else day.year - 1, 4, 1)


def period_presets(today: date) -> list[Preset]:
    """This quarter and this financial year run to today (a report cannot end in the future);
    last quarter is the whole previous quarter; the last 12 months are exactly 12 months,
    ending today (from the day after the same date a year earlier)."""
    this_quarter = quarter_start(today)
    last_quarter = quarter_start(this_quarter - timedelta(days=1))
    return [
        Preset("This quarter", this_quarter, today),
        Preset("Last quarter", last_quarter, this_quarter - timedelta(days=1)),
        Preset("Last 12 months", months_before(today, 12) + timedelta(days=1), today),
        Preset("This financial year", financial_year_start(today), today),
    ]


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
            HTML('{% include "reports/_period_presets.html" %}'),
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

    def preset_links(self, today: date) -> list[tuple[Preset, str, bool]]:
        """(preset, its query string, whether it is the period shown) for each period preset:
        the filters that are valid now, with the preset's dates."""
        data = getattr(self, "cleaned_data", {})
        kept = {
            name: data[name]
            for name in ("organisation", *ReportFilters.CHOICES)
            if data.get(name) and name not in self.errors
        }
        links = []
        for preset in period_presets(today):
            query = {**kept}
            for name in ("date_from", "date_to"):
                day = getattr(preset, name)
                query.update({f"{name}_0": day.day, f"{name}_1": day.month, f"{name}_2": day.year})
            shown = (data.get("date_from"), data.get("date_to")) == (
                preset.date_from,
                preset.date_to,
            )
            links.append((preset, urlencode(query), shown))
        return links

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


# -------------------------------------------------------------- drill-down ----


class DrilldownForm(forms.Form):
    """The figure a drill-down lists: its kind and value, checked against the report's choices
    and, for a month, the report's period."""

    figure = forms.ChoiceField(
        choices=[(kind, title) for kind, (title, _) in KINDS.items()],
        error_messages={
            "required": "Choose a figure of the report to list",
            "invalid_choice": "Choose a figure of the report to list",
        },
    )
    value = forms.CharField(
        max_length=40,
        error_messages={
            "required": "Choose a figure of the report to list",
            "max_length": "Choose a figure of the report to list",
            "null_characters_not_allowed": "Choose a figure of the report to list",
        },
    )

    def __init__(self, *args: Any, filters: ReportFilters | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.report_filters = filters

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind, value = cleaned.get("figure"), cleaned.get("value")
        if not kind or value is None:
            return cleaned
        if kind == "month":
            allowed = report_months(self.report_filters) if self.report_filters else []
            if value not in allowed:
                self.add_error("value", "Choose a month in the report's period")
        elif value not in filter_choices()[kind]:
            self.add_error("value", f"Choose {KINDS[kind][0].lower()} from the report")
        return cleaned

    def drilldown(self) -> Drilldown:
        """The cleaned figure; call only after is_valid()."""
        return Drilldown(kind=self.cleaned_data["figure"], value=self.cleaned_data["value"])
