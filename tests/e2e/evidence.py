"""What the browser tests read back after a journey, on the test's thread: PDFs, the pack."""

from __future__ import annotations

import io

from pypdf import PdfReader

from decisions.models import GuidancePack


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def outcome_title(outcome: str) -> str:
    """The outcome's heading in the current guidance pack, as the outcome page shows it."""
    return GuidancePack.objects.get(is_current=True).pack.outcomes[outcome].title
