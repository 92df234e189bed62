"""Report summaries: counts per organisation, day and report dimension, kept up to date in the
same transaction as every change to a submitted decision (decisions.summaries)."""

from __future__ import annotations

from django.db import models

from decisions.models.decisions import Decision
from decisions.models.organisations import Organisation


class ReportSummary(models.Model):
    """How many submitted decisions of one organisation and UK day (or month), with one outcome,
    status and direction, count under one figure and value.

    Figures: "decisions" (every counted decision, value ""), "amendment", "returned",
    "gdpr_article6", "purpose_categories" and "lawful_reason" (one row per chosen value),
    "recipient" (the typed organisation, trimmed) and "turnaround" (minutes from the approved
    round's submission to its approval, decisions.report_summaries.turnaround_minutes). Not
    evidence: rebuilt from the decisions by
    `manage.py rebuild_report_summaries`.
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    period = models.CharField(
        max_length=1, help_text="d: the counts of one day; m: of the month that day starts"
    )
    day = models.DateField(
        help_text="The UK date of the decisions' latest submission, or the 1st of its month"
    )
    outcome = models.CharField(max_length=30)
    status = models.CharField(max_length=20)
    direction = models.CharField(max_length=40)
    figure = models.CharField(max_length=30)
    value = models.TextField()
    n = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "organisation",
                    "period",
                    "day",
                    "outcome",
                    "status",
                    "direction",
                    "figure",
                    "value",
                ],
                name="unique_report_summary_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.day} {self.figure}={self.value}: {self.n}"


class ReportContribution(models.Model):
    """What one decision adds to ReportSummary now, so a change can take the old part away
    exactly (a list of [organisation, period, day, outcome, status, direction, figure, value,
    n])."""

    decision = models.OneToOneField(
        Decision, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    entries = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"report contribution of decision {self.decision_id}"
