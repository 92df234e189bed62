"""Record PDFs as first rendered, served again instead of running WeasyPrint per download."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from decisions.models.decisions import DecisionRecord


class RenderedPdf(models.Model):
    """A cache, not evidence (the evidence is the DecisionRecord and the audit chain).

    Rows are only ever added: when anything the PDF shows changes (the template or its
    stylesheets, or the decision's status and sign-off after submission), the digest changes
    and a new row is rendered beside the old one, which is never overwritten.
    """

    record = models.ForeignKey(DecisionRecord, on_delete=models.CASCADE, related_name="+")
    source_digest = models.CharField(
        max_length=64,
        help_text="SHA-256 of the record's HTML as rendered from the template (the render time "
        "left out), the stylesheets it links and the WeasyPrint version",
    )
    content = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now, help_text="When it was rendered")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["record", "source_digest"], name="unique_rendered_pdf_per_source"
            ),
        ]

    def __str__(self) -> str:
        return f"PDF of record {self.record_id} ({self.source_digest[:12]})"
