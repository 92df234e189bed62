"""Form pieces shared by the wizard, the lead's and the manager's forms."""

from __future__ import annotations

from datetime import date
from typing import Any

from crispy_forms_gds.fields import DateInputField
from django.core.exceptions import ValidationError


def has_control_characters(value: Any) -> bool:
    """Text with characters no one types (NUL, vertical tab...); tab and new lines are fine."""
    return isinstance(value, str) and any(ord(ch) < 32 and ch not in "\r\n\t" for ch in value)


class RealDateField(DateInputField):
    """A GOV.UK date input that refuses impossible dates (31 February, a 20-digit day) plainly."""

    def compress(self, data_list: Any) -> date | None:
        try:
            return super().compress(data_list)
        except (ValidationError, OverflowError, ValueError) as exc:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from exc
