"""Template filters for the audit pages: words for actions, details as short text."""

from __future__ import annotations

from typing import Any

from django import template

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
