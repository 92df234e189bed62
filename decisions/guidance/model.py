"""The shapes of a guidance pack, and conditions over answers (pure Python, no Django).

docs/guidance-packs.md describes the JSON these are parsed from (decisions.guidance.schema);
decisions.guidance.engine walks them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

END = "end"

# The four outcomes of the key-questions flowchart (bathnes section 11; LLR ISA Appendix A).
OUTCOME_KINDS = ("do_not_share", "can_share", "share_with_consent", "share_without_consent")
SHARING_KINDS = ("can_share", "share_with_consent", "share_without_consent")
# When a lead signs a decision off: never, before it takes effect, or as a review afterwards
# (the urgent route: bathnes section 13, FAQ "Are there any obligations..."; lscp section 4).
SIGN_OFF_KINDS = ("none", "before", "after")

FIELD_KINDS = ("radio", "yesno", "checkboxes", "text", "textarea", "date")
CHOICE_KINDS = ("radio", "yesno", "checkboxes")
YESNO_CHOICES = (("yes", "Yes"), ("no", "No"))
NOT_SURE = "not_sure"

# Packs from before pack-level sections (version 1) grouped steps under these.
LEGACY_SECTIONS = (
    ("context", "About the decision"),
    ("flowchart", "The key questions"),
    ("how", "How to share"),
    ("record", "Record"),
)

Answers = Mapping[str, Mapping[str, Any]]  # step id -> {field name -> value}
Condition = Mapping[str, Any]


@dataclass(frozen=True)
class Citation:
    source: str
    section: str


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    hint: str = ""
    exclusive: bool = False  # checkboxes: may only be ticked on its own ("None of these")


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    label: str
    hint: str = ""
    required: bool = True
    max_length: int | None = None
    choices: tuple[Choice, ...] = ()
    error: str = ""  # what to say when a required answer is missing
    required_when: Condition | None = None  # required only when this holds (engine-enforced)
    show_when: Condition | None = None  # asked only when this holds over earlier answers
    settles: str = ""  # a re-asked question: this answer replaces the earlier field's
    exclusive_error: str = ""  # what to say when an exclusive choice is ticked with others

    def choice_label(self, value: str) -> str:
        for choice in self.choices:
            if choice.value == value:
                return choice.label
        return value


@dataclass(frozen=True)
class Rule:
    goto: str
    when: Condition | None = None
    reason: str = ""  # one line for the record, in our words, when the rule is taken
    citations: tuple[Citation, ...] = ()  # the guidance that requires the rule


@dataclass(frozen=True)
class Refusal:
    """Answers the page must not accept: `message` is shown against `field`."""

    field: str
    message: str
    when: Condition


@dataclass(frozen=True)
class Prefill:
    """A suggested answer: copied from an earlier field (through `mapping`) or a fixed value."""

    field: str
    source: str = ""
    mapping: Mapping[str, Any] | None = None
    value: Any = None
    when: Condition | None = None


@dataclass(frozen=True)
class Section:
    id: str
    title: str


@dataclass(frozen=True)
class Step:
    id: str
    section: str
    title: str
    help: str
    fields: tuple[Field, ...]
    next: tuple[Rule, ...]
    citations: tuple[Citation, ...] = ()
    quote: Mapping[str, Any] | None = None
    recall: tuple[str, ...] = ()  # earlier answers the page shows in an inset (the advice)
    refuse: tuple[Refusal, ...] = ()
    prefill: tuple[Prefill, ...] = ()


@dataclass(frozen=True)
class Prompt:
    """A notice on the outcome page, shown when its condition holds."""

    text: str
    citations: tuple[Citation, ...] = ()
    when: Condition | None = None


@dataclass(frozen=True)
class SignOff:
    """One sign-off rule of an outcome; the first whose condition holds applies."""

    value: str
    when: Condition | None = None
    reason: str = ""
    citations: tuple[Citation, ...] = ()


@dataclass(frozen=True)
class Outcome:
    id: str
    kind: str
    title: str
    summary: str
    next: str
    sign_off: tuple[SignOff, ...] = (SignOff("none"),)
    citations: tuple[Citation, ...] = ()
    prompts: tuple[Prompt, ...] = ()


@dataclass(frozen=True)
class Pack:
    id: str
    version: int
    edition: str
    title: str
    summary: str
    sources: Mapping[str, Mapping[str, str]]
    golden_rules: tuple[Mapping[str, Any], ...]
    start: str
    steps: Mapping[str, Step]  # in pack order
    outcomes: Mapping[str, Outcome]
    sections: tuple[Section, ...] = tuple(Section(*s) for s in LEGACY_SECTIONS)
    superseded: bool = False  # kept for reading old records; never offered for new decisions

    def field(self, name: str) -> Field:
        for step in self.steps.values():
            for f in step.fields:
                if f.name == name:
                    return f
        raise KeyError(name)

    def step_of(self, name: str) -> Step:
        """The step that asks field `name`."""
        for step in self.steps.values():
            if any(f.name == name for f in step.fields):
                return step
        raise KeyError(name)

    def section(self, section_id: str) -> Section:
        for section in self.sections:
            if section.id == section_id:
                return section
        raise KeyError(section_id)

    def settled_by(self, name: str) -> list[str]:
        """Fields that, when answered, replace `name`'s answer (re-asked after advice)."""
        return [f.name for s in self.steps.values() for f in s.fields if f.settles == name]


def is_blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == ()


def flat_answers(answers: Answers) -> dict[str, Any]:
    """Field name -> value, across all steps (field names are unique in a pack)."""
    flat: dict[str, Any] = {}
    for values in answers.values():
        flat.update(values)
    return flat


def holds(condition: Condition | None, values: Mapping[str, Any]) -> bool:
    """Evaluate a condition (docs/guidance-packs.md, "Conditions") against answers.

    A field with no answer matches no `equals`, `in`, `contains` or `contains_any`.
    """
    if condition is None:
        return True
    if "all" in condition:
        return all(holds(c, values) for c in condition["all"])
    if "any" in condition:
        return any(holds(c, values) for c in condition["any"])
    if "not" in condition:
        return not holds(condition["not"], values)
    value = values.get(condition.get("field"))
    if "equals" in condition:
        return value == condition["equals"]
    if "in" in condition:
        return value in condition["in"]
    ticked = value if isinstance(value, list | tuple) else ()
    if "contains" in condition:
        return condition["contains"] in ticked
    if "contains_any" in condition:
        return any(v in ticked for v in condition["contains_any"])
    raise ValueError(f"unknown condition {dict(condition)!r}")


def merge_step_values(step: Step, submitted: Mapping[str, Any], values: dict[str, Any]) -> None:
    """Add one step's answers to `values`; a re-asked answer replaces the field it settles."""
    values.update(submitted)
    for f in step.fields:
        if f.settles and not is_blank(submitted.get(f.name)):
            values[f.settles] = submitted[f.name]
