"""Reported answers: found by the field's name in whichever step of each stored pack holds it.

Answers are stored as {step: {field: value}}. Field names are unique within a pack and name
what an answer means ("recipient_org"), while the step holding a field may differ between
packs. So a report asks every stored pack where each reported field sits and reads the
answer from any of those places (SQL COALESCE): moving a question to another page in the
JSON needs no change here.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet, TextField, Value
from django.db.models.expressions import Expression
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce

from decisions.guidance.store import current_pack_or_none
from decisions.models import Decision, GuidancePack, Status
from decisions.models.decisions import OutcomeKind
from decisions.report_summaries import MULTI_VALUED, REPORTED, Place, answer_steps


def answer(name: str, steps: dict[str, list[Place]] | None = None) -> Expression:
    """An answer as text in SQL; a list (checkboxes) comes back as its JSON text. Where a
    question was asked again after advice, the later answer is the one that counts.

    The cast makes comparisons plain text ones: on SQLite, Django compares a bare key
    transform with JSON_EXTRACT(value), which fails on values that are not JSON.
    """
    where = (steps if steps is not None else answer_steps())[name]
    parts = [
        Cast(KT(f"answers__{step}__{field}"), output_field=TextField()) for step, field in where
    ]
    if not parts:
        return Value(None, output_field=TextField())
    return parts[0] if len(parts) == 1 else Coalesce(*parts, output_field=TextField())


def contains(name: str, value: str) -> Q:
    """A checkbox answer (annotated by with_multi_answers) that includes `value`."""
    # A checkbox answer is a JSON list of plain choice values; quoting the value matches one
    # whole element, on PostgreSQL and SQLite alike.
    return Q(**{f"_{name}__contains": f'"{value}"'})


def with_multi_answers(decisions: QuerySet[Decision]) -> QuerySet[Decision]:
    steps = answer_steps()
    return decisions.annotate(**{f"_{name}": answer(name, steps) for name in MULTI_VALUED})


# The pack words these as the practitioner's answer ("I want to share information on my
# own initiative"); a report needs a column heading's worth.
SHORT_LABELS = {
    "direction": {"proactive": "Proactive", "request": "Response to a request"},
}


# (value, label) choices by the digests of the current packs and field name. A stored pack
# never changes (a new version is a new digest), so the pack body is read and parsed once per
# process, not once for each of the dozen fields a report page labels.
_choices: dict[tuple[tuple[str, ...], str], list[tuple[str, str]]] = {}


def choice_options(name: str) -> list[tuple[str, str]]:
    """(value, label) of an answer's choices, as worded in the current guidance pack."""
    current = GuidancePack.objects.filter(is_current=True).order_by("-loaded_at")
    key = (tuple(current.values_list("digest", flat=True)), name)
    if key not in _choices:
        _choices[key] = _read_choice_options(name)
    return list(_choices[key])


def _read_choice_options(name: str) -> list[tuple[str, str]]:
    stored = current_pack_or_none()
    if stored is None:
        return []
    try:
        choices = stored.pack.field(name).choices
    except KeyError:
        return []
    short = SHORT_LABELS.get(name, {})
    return [(c.value, short.get(c.value, c.label)) for c in choices]


class Labels:
    """Choice labels of the current pack, looked up once per report or export."""

    def __init__(self) -> None:
        self._by_field = {name: dict(choice_options(name)) for name in REPORTED}
        self._by_field["outcome"] = dict(OutcomeKind.choices)
        self._by_field["status"] = dict(Status.choices)

    def __call__(self, name: str, value: Any) -> str:
        if value in (None, ""):
            return ""
        if isinstance(value, list):
            return "; ".join(self(name, v) for v in value)
        return self._by_field.get(name, {}).get(str(value), str(value))
