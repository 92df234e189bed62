"""Template filters for decisions: one colour for each status, the same on every page."""

from __future__ import annotations

from django import template

from decisions.models import Status

register = template.Library()

# GOV.UK tag colours by status: what still needs someone yellow/orange, what took effect green.
STATUS_TAGS = {
    Status.DRAFT: "govuk-tag--grey",
    Status.AWAITING_APPROVAL: "govuk-tag--yellow",
    Status.REVIEW_AFTER: "govuk-tag--yellow",
    Status.RETURNED: "govuk-tag--orange",
    Status.APPROVED: "govuk-tag--green",
    Status.SUBMITTED: "govuk-tag--green",
    Status.SUPERSEDED: "govuk-tag--grey",
    Status.DISCARDED: "govuk-tag--grey",
}


@register.filter
def status_tag_class(status: str) -> str:
    return STATUS_TAGS.get(status, "")
