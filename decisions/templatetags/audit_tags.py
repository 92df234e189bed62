"""Template filters for the audit pages: words for actions, details as short text."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from decisions.audit.actions import AuditAction
from decisions.audit.actions import action_label as _action_label
from decisions.models import Role

register = template.Library()

# Long values that say nothing to a reader of the page (they are in the CSV export).
HIDDEN_DETAILS = ("comments_sha256",)


@register.filter
def action_label(action: str) -> str:
    return _action_label(action)


@register.filter
def role_label(role: str) -> str:
    return Role(role).label if role in Role.values else role


@register.filter
def event_details(details: Any) -> str:
    if not isinstance(details, dict):
        return ""
    parts = []
    for key, value in details.items():
        if key in HIDDEN_DETAILS or value in (None, "", [], {}):
            continue
        parts.append(f"{key.replace('_', ' ')}: {value}")
    return "; ".join(parts)


# The reports area: a page of events as table rows, built in Python (format_html escapes
# every value) because the template loop was most of the audit log page's time.
_ROW = (
    '<tr class="govuk-table__row">'
    '<td class="govuk-table__cell" data-label="No.">{}</td>'
    '<td class="govuk-table__cell isg-nowrap" data-label="When (UK time)">{}</td>'
    '<td class="govuk-table__cell" data-label="Who">{}{}</td>'
    '<td class="govuk-table__cell" data-label="What">{}</td>'
    '<td class="govuk-table__cell" data-label="Record">{}</td>'
    '<td class="govuk-table__cell govuk-body-s" data-label="Details">{}{}</td>'
    "</tr>"
)


# Looked up once: building them from the enums took most of a row's time.
_ACTION_LABELS = {value: str(label) for value, label in AuditAction.choices}
_ROLE_LABELS = {value: str(label) for value, label in Role.choices}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _when(moment: Any) -> str:
    """As the date filter "j M Y, H:i:s" shows it, in UK time."""
    local = timezone.localtime(moment)
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year}, {local:%H:%M:%S}"


def _who(event: Any) -> SafeString | str:
    if not event.role:
        return ""
    role = _ROLE_LABELS.get(event.role, event.role)
    where = f", {event.organisation.name}" if event.organisation_id else ""
    return format_html('<br><span class="govuk-body-s">{}{}</span>', role, where)


def _ip(event: Any, said: str) -> SafeString | str:
    if not event.ip_address:
        return ""
    return format_html("{}IP {}", mark_safe("<br>") if said else "", event.ip_address)  # noqa: S308


@register.simple_tag
def event_rows(events: Iterable[Any]) -> SafeString:
    """<tr> rows of audit events, as review/_events_table.html lays them out."""
    rows = []
    for e in events:
        said = event_details(e.details)
        rows.append(
            (
                e.sequence,
                _when(e.created_at),
                e.actor_email or "—",
                _who(e),
                _ACTION_LABELS.get(e.action, e.action),
                e.reference or "",
                said,
                _ip(e, said),
            )
        )
    return format_html_join("\n", _ROW, rows)
