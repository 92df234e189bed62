"""The flowchart engine: a guidance pack plus the answers so far -> the next step or the outcome.

Pure Python with no Django imports, so the routing can be tested as a table of answers ->
outcome and reused by the wizard, the PDF and the reports alike. The shape of a pack is
documented in docs/guidance-packs.md; packs are parsed and validated by
decisions.guidance.schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

END = "end"

# The four outcomes of the key-questions flowchart (bathnes section 11; LLR ISA Appendix A).
OUTCOME_KINDS = ("do_not_share", "can_share", "share_with_consent", "share_without_consent")
SHARING_KINDS = ("can_share", "share_with_consent", "share_without_consent")

FIELD_KINDS = ("radio", "yesno", "checkboxes", "text", "textarea", "date")
YESNO_CHOICES = (("yes", "Yes"), ("no", "No"))

Answers = Mapping[str, Mapping[str, Any]]  # step id -> {field name -> value}


@dataclass(frozen=True)
class Citation:
    source: str
    section: str


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    hint: str = ""


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

    def choice_label(self, value: str) -> str:
        for choice in self.choices:
            if choice.value == value:
                return choice.label
        return value


@dataclass(frozen=True)
class Rule:
    goto: str
    when: Mapping[str, Any] | None = None
    reason: str = ""


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


@dataclass(frozen=True)
class Outcome:
    id: str
    kind: str
    title: str
    summary: str
    next: str
    needs_approval: bool | Mapping[str, Any] = False
    citations: tuple[Citation, ...] = ()


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

    def field(self, name: str) -> Field:
        for step in self.steps.values():
            for f in step.fields:
                if f.name == name:
                    return f
        raise KeyError(name)


@dataclass
class Walk:
    """Where a set of answers leads: the steps answered on the path, and what comes next."""

    path: list[str] = field(default_factory=list)  # answered steps on the path, in order
    next_step: str | None = None  # first unanswered step; None once the walk reaches the end
    outcome: Outcome | None = None
    reasons: list[str] = field(default_factory=list)
    needs_approval: bool = False
    outcome_at: int = 0  # how many path steps come before the outcome

    @property
    def complete(self) -> bool:
        return self.next_step is None

    def nodes(self) -> list[str]:
        """Steps and the outcome, in the order the practitioner meets them."""
        nodes = list(self.path)
        if self.outcome is not None:
            nodes.insert(self.outcome_at, self.outcome.id)
        return nodes

    def is_open(self, step_id: str) -> bool:
        """May this step be shown now: answered and on the path, or the next one to answer."""
        return step_id in self.path or step_id == self.next_step

    def _sequence(self) -> list[str]:
        return self.nodes() + [self.next_step if self.next_step is not None else END]

    def after(self, node: str) -> str:
        """The node (step, outcome or END) that follows `node` on this walk."""
        sequence = self._sequence()
        return sequence[sequence.index(node) + 1] if node in sequence[:-1] else sequence[-1]

    def before(self, node: str) -> str | None:
        """The node met just before `node` (None at the start); for a node off the walk, the
        last one met."""
        sequence = self._sequence()
        index = sequence.index(node) if node in sequence else len(sequence) - 1
        return sequence[index - 1] if index > 0 else None


def flat_answers(answers: Answers) -> dict[str, Any]:
    """Field name -> value, across all steps (field names are unique in a pack)."""
    flat: dict[str, Any] = {}
    for values in answers.values():
        flat.update(values)
    return flat


def holds(condition: Mapping[str, Any] | None, values: Mapping[str, Any]) -> bool:
    """Evaluate a rule condition (docs/guidance-packs.md, "Conditions") against answers."""
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


def choose(step: Step, values: Mapping[str, Any]) -> Rule:
    """The first rule of a step whose condition holds; packs end with an unconditional rule."""
    for rule in step.next:
        if holds(rule.when, values):
            return rule
    raise ValueError(f"step {step.id!r} has no rule for these answers")


def outcome_needs_approval(outcome: Outcome, values: Mapping[str, Any]) -> bool:
    if isinstance(outcome.needs_approval, bool):
        return outcome.needs_approval
    return holds(outcome.needs_approval, values)


def walk(pack: Pack, answers: Answers) -> Walk:
    """Follow the pack from its start through the answered steps.

    Answers to steps that are not on the path (left over after an earlier answer changed)
    are ignored here; `dropped_steps` names them so the wizard can say so and discard them.
    """
    result = Walk()
    values: dict[str, Any] = {}
    node = pack.start
    while node != END:
        if node in pack.outcomes:
            outcome = pack.outcomes[node]
            result.outcome = outcome
            result.outcome_at = len(result.path)
            result.needs_approval = outcome_needs_approval(outcome, values)
            node = outcome.next
            continue
        step = pack.steps[node]
        if node not in answers:
            result.next_step = node
            return result
        result.path.append(node)
        values.update(answers[node])
        rule = choose(step, values)
        if rule.reason:
            result.reasons.append(rule.reason)
        node = rule.goto
    return result


def dropped_steps(pack: Pack, answers: Answers) -> list[str]:
    """Answered steps that the current answers no longer lead through.

    Steps still reachable from the next unanswered step are kept: whether they apply is only
    known once that step is answered (changing "proactive" to "request" must not drop them all).
    """
    return dropped_from(pack, answers, walk(pack, answers))


def reachable(pack: Pack, node: str) -> set[str]:
    """`node` and every step or outcome that some answers could lead to from it."""
    seen: set[str] = set()
    todo = [node]
    while todo:
        current = todo.pop()
        if current == END or current in seen:
            continue
        seen.add(current)
        if current in pack.outcomes:
            todo.append(pack.outcomes[current].next)
        else:
            todo.extend(rule.goto for rule in pack.steps[current].next)
    return seen


def node_after(pack: Pack, answers: Answers, step_id: str) -> str:
    """The node (step, outcome or END) that the answers to `step_id` lead to."""
    values = flat_answers({s: answers[s] for s in walk(pack, answers).path})
    return choose(pack.steps[step_id], values).goto


def is_on_path(pack: Pack, answers: Answers, step_id: str) -> bool:
    """May this step be shown now: answered and on the path, or the next one to answer."""
    return walk(pack, answers).is_open(step_id)


def dropped_from(pack: Pack, answers: Answers, result: Walk) -> list[str]:
    """`dropped_steps` for answers already walked (saves walking them again)."""
    keep = set(result.path)
    if result.next_step is not None:
        keep |= reachable(pack, result.next_step)
    return [step_id for step_id in answers if step_id not in keep]
