"""What the API accepts and returns; drf-spectacular builds the OpenAPI schema from these."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from decisions.forms.fields import has_control_characters
from decisions.models import ReviewAction, Status
from decisions.models.decisions import AgeBand, OutcomeKind


class PlainText(serializers.CharField):
    """Text as a person would type it: no control characters (DRF already refuses NUL)."""

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if has_control_characters(value):
            raise serializers.ValidationError("Remove the control characters.")
        return value


class DecisionStartRequest(serializers.Serializer):
    practitioner_email = serializers.EmailField(
        max_length=254, help_text="The practitioner's email address in ISG (your organisation)."
    )
    case_reference = PlainText(max_length=40, help_text="Your case reference (never a name).")
    initials = PlainText(max_length=5, help_text="The initials of the person it is about.")
    age_band = serializers.ChoiceField(
        choices=AgeBand.choices, required=False, allow_blank=True, default=""
    )


class DecisionStarted(serializers.Serializer):
    decision_id = serializers.UUIDField()
    reference = serializers.CharField()
    continue_url = serializers.URLField(
        help_text="Where the practitioner continues, after signing in: works once, for them "
        "only, until link_expires_at."
    )
    link_expires_at = serializers.DateTimeField()


class RecordFilters(serializers.Serializer):
    reference = serializers.RegexField(
        r"^ISG-\d{4}-\d{6}$", required=False, help_text="An ISG reference, e.g. ISG-2026-000123."
    )
    updated_since = serializers.DateTimeField(
        required=False, help_text="Only records changed at or after this time (ISO 8601)."
    )


class LawfulBasis(serializers.Serializer):
    lawful_reason = serializers.CharField(allow_blank=True)
    gdpr_article6 = serializers.CharField(allow_blank=True)
    special_category_condition = serializers.CharField(allow_blank=True)


class Recipient(serializers.Serializer):
    organisation = serializers.CharField(allow_blank=True)
    role = serializers.CharField(allow_blank=True)
    share_date = serializers.CharField(allow_blank=True)
    method = serializers.CharField(allow_blank=True)


class KeyFact(serializers.Serializer):
    label = serializers.CharField()
    answer = serializers.CharField()


class Review(serializers.Serializer):
    action = serializers.ChoiceField(choices=ReviewAction.choices)
    round = serializers.IntegerField()
    at = serializers.DateTimeField()
    by = serializers.CharField(help_text="The reviewer's name.")


class SignOff(serializers.Serializer):
    needs_approval = serializers.BooleanField()
    reviews = Review(many=True)


class DecisionRecordOut(serializers.Serializer):
    decision_id = serializers.UUIDField()
    reference = serializers.CharField()
    version = serializers.IntegerField()
    display_reference = serializers.CharField()
    status = serializers.ChoiceField(choices=Status.choices)
    status_label = serializers.CharField()
    updated_at = serializers.DateTimeField()
    round = serializers.IntegerField()
    submitted_at = serializers.DateTimeField()
    case_reference = serializers.CharField(allow_blank=True)
    outcome = serializers.ChoiceField(choices=OutcomeKind.choices)
    outcome_title = serializers.CharField()
    outcome_summary = serializers.CharField(allow_blank=True)
    reasons = serializers.ListField(child=serializers.CharField())
    lawful_basis = LawfulBasis()
    recipient = Recipient()
    key_facts = KeyFact(many=True)
    sign_off = SignOff()


class ErrorOut(serializers.Serializer):
    detail = serializers.CharField()
