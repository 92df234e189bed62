"""The record as the practitioner saw it: questions, help, citations and labelled answers.

Built from the pack and the answers; frozen into DecisionRecord.snapshot at submission, so a
record reads the same for ever even after the guidance pack is replaced.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from decisions.guidance import engine


def _citations(pack: engine.Pack, citations: tuple[engine.Citation, ...]) -> list[dict]:
    return [
        {
            "source": c.source,
            "section": c.section,
            "title": pack.sources[c.source]["title"],
            "file": pack.sources[c.source]["file"],
        }
        for c in citations
    ]


def display_value(field: engine.Field, value: Any) -> str:
    """An answer as words: choice labels, UK dates, 'Not answered' for a blank."""
    if value in (None, "", []):
        return "Not answered"
    if field.kind == "checkboxes":
        return "; ".join(field.choice_label(v) for v in value)
    if field.choices:
        return field.choice_label(str(value))
    if field.kind == "date":
        try:
            return date.fromisoformat(str(value)).strftime("%-d %B %Y")
        except ValueError:
            return str(value)
    return str(value)


def step_snapshot(pack: engine.Pack, step_id: str, values: dict[str, Any]) -> dict[str, Any]:
    step = pack.steps[step_id]
    return {
        "id": step.id,
        "section": step.section,
        "title": step.title,
        "help": step.help,
        "citations": _citations(pack, step.citations),
        "quote": dict(step.quote) if step.quote else None,
        "fields": [
            {
                "name": f.name,
                "kind": f.kind,
                "label": f.label,
                "value": values.get(f.name),
                "display": display_value(f, values.get(f.name)),
            }
            for f in step.fields
        ],
    }


def build_snapshot(pack: engine.Pack, answers: engine.Answers) -> dict[str, Any]:
    walk = engine.walk(pack, answers)
    outcome = walk.outcome
    return {
        "pack": {
            "id": pack.id,
            "version": pack.version,
            "edition": pack.edition,
            "title": pack.title,
            "golden_rules": [dict(rule) for rule in pack.golden_rules],
            "sources": {key: dict(value) for key, value in pack.sources.items()},
        },
        "steps": [step_snapshot(pack, s, dict(answers[s])) for s in walk.path],
        "outcome_at": walk.outcome_at,
        "outcome": None
        if outcome is None
        else {
            "id": outcome.id,
            "kind": outcome.kind,
            "title": outcome.title,
            "summary": outcome.summary,
            "citations": _citations(pack, outcome.citations),
        },
        "reasons": list(walk.reasons),
        "needs_approval": walk.needs_approval,
        "sign_off": walk.sign_off,
        "prompts": [
            {"text": prompt.text, "citations": _citations(pack, prompt.citations)}
            for prompt in walk.prompts
        ],
    }


# The answers a reader needs first (review page, record page, page 1 of the PDF), by field
# name, with the words to show them under. Fields a path did not ask are left out.
KEY_FACTS = (
    ("case_reference", "Case reference"),
    ("initials", "Initials"),
    ("age_band", "Age band"),
    ("subject_type", "Who the information is about"),
    ("concern_level", "Level of concern"),
    ("requester_org", "Requested by"),
    ("requester_legal_basis", "Legal basis given by the requester"),
    ("recipient_org", "Shared with"),
    ("recipient_role", "Recipient's role"),
    ("share_date", "Date shared"),
    ("method", "How it is shared"),
    ("lawful_reason", "Lawful reason to share without consent"),
    ("gdpr_article6", "UK GDPR Article 6 basis"),
    ("special_category_condition", "Special category condition"),
)


def key_facts(snapshot: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, answer in words) of the key facts a snapshot holds, in KEY_FACTS order."""
    shown = {
        field["name"]: field["display"]
        for step in snapshot.get("steps", [])
        for field in step["fields"]
        if field.get("value") not in (None, "", [])
    }
    return [(label, shown[name]) for name, label in KEY_FACTS if name in shown]


def sources_by_document(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    """The record's citations grouped by source document: each section once, with the numbers
    of the questions (and "outcome") that rest on it. Shown once (the PDF's appendix, the end
    of check your answers), so the answers are not interrupted by the same citations again
    and again."""
    documents: dict[str, dict[str, list[str]]] = {}
    cited = [
        (str(number), c)
        for number, step in enumerate(snapshot["steps"], start=1)
        for c in step.get("citations", [])
    ]
    cited += [("outcome", c) for c in (snapshot.get("outcome") or {}).get("citations", [])]
    for where, c in cited:
        sections = documents.setdefault(c["title"], {})
        places = sections.setdefault(c["section"], [])
        if where not in places:
            places.append(where)
    return [
        {"title": title, "sections": [{"section": k, "where": v} for k, v in sections.items()]}
        for title, sections in documents.items()
    ]


def answered_only(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The snapshot with the questions left blank taken out of each card (check your answers):
    optional ones, and those that did not apply ("other" details when "other" was not
    chosen). A card keeps at least its first question, so every page can still be changed.
    The record itself keeps every question, blank or not."""
    steps = []
    for step in snapshot["steps"]:
        answered = [f for f in step["fields"] if f.get("value") not in (None, "", [])]
        steps.append({**step, "fields": answered or step["fields"][:1]})
    return {**snapshot, "steps": steps}
