"""The flowchart engine: a guidance pack plus the answers so far -> the next step or the outcome.

Pure Python with no Django imports, so the routing can be tested as a table of answers ->
outcome and reused by the wizard, the PDF and the reports alike. The shape of a pack is
documented in docs/guidance-packs.md; packs are parsed and validated by
decisions.guidance.schema. What a question page needs (its errors, suggested answers, which
fields to ask, progress) is in decisions.guidance.pages and re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from decisions.guidance.model import (
    CHOICE_KINDS,
    END,
    FIELD_KINDS,
    LEGACY_SECTIONS,
    NOT_SURE,
    OUTCOME_KINDS,
    SHARING_KINDS,
    SIGN_OFF_KINDS,
    YESNO_CHOICES,
    Answers,
    Choice,
    Citation,
    Condition,
    Field,
    Outcome,
    Pack,
    Prefill,
    Prompt,
    Refusal,
    Rule,
    Section,
    SignOff,
    Step,
    flat_answers,
    holds,
    is_blank,
    merge_step_values,
)

__all__ = [
    "CHOICE_KINDS",
    "END",
    "FIELD_KINDS",
    "LEGACY_SECTIONS",
    "NOT_SURE",
    "OUTCOME_KINDS",
    "SHARING_KINDS",
    "SIGN_OFF_KINDS",
    "YESNO_CHOICES",
    "Answers",
    "Choice",
    "Citation",
    "Condition",
    "Field",
    "Outcome",
    "Pack",
    "Prefill",
    "Prompt",
    "Refusal",
    "Rule",
    "Section",
    "SignOff",
    "Step",
    "Walk",
    "choose",
    "dropped_from",
    "dropped_steps",
    "flat_answers",
    "holds",
    "is_blank",
    "is_on_path",
    "likely_path",
    "node_after",
    "outcome_needs_approval",
    "outcome_prompts",
    "outcome_sign_off",
    "prefill",
    "progress",
    "reachable",
    "revealed_by",
    "step_errors",
    "values_before",
    "visible_fields",
    "walk",
]


@dataclass
class Walk:
    """Where a set of answers leads: the steps answered on the path, and what comes next."""

    path: list[str] = field(default_factory=list)  # answered steps on the path, in order
    next_step: str | None = None  # first unanswered step; None once the walk reaches the end
    outcome: Outcome | None = None
    reasons: list[str] = field(default_factory=list)
    outcome_at: int = 0  # how many path steps come before the outcome
    sign_off: str = "none"  # "none" | "before" | "after" (a review once it has taken effect)
    prompts: list[Prompt] = field(default_factory=list)  # notices for the outcome page
    values: dict[str, Any] = field(default_factory=dict)  # answers on the path, re-asks settled

    @property
    def needs_approval(self) -> bool:
        """A lead must sign the decision off (before it takes effect, or afterwards)."""
        return self.sign_off != "none"

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


def choose(step: Step, values: Mapping[str, Any]) -> Rule:
    """The first rule of a step whose condition holds; packs end with an unconditional rule."""
    for rule in step.next:
        if holds(rule.when, values):
            return rule
    raise ValueError(f"step {step.id!r} has no rule for these answers")


def outcome_sign_off(outcome: Outcome, values: Mapping[str, Any]) -> SignOff:
    """The sign-off rule that applies to these answers (the last rule has no condition)."""
    for rule in outcome.sign_off:
        if holds(rule.when, values):
            return rule
    return SignOff("none")


def outcome_needs_approval(outcome: Outcome, values: Mapping[str, Any]) -> bool:
    return outcome_sign_off(outcome, values).value != "none"


def outcome_prompts(outcome: Outcome, values: Mapping[str, Any]) -> list[Prompt]:
    return [prompt for prompt in outcome.prompts if holds(prompt.when, values)]


def walk(pack: Pack, answers: Answers) -> Walk:
    """Follow the pack from its start through the answered steps.

    Answers to steps that are not on the path (left over after an earlier answer changed)
    are ignored here; `dropped_steps` names them so the wizard can say so and discard them.
    """
    result = Walk()
    values = result.values
    node = pack.start
    while node != END:
        if node in pack.outcomes:
            outcome = pack.outcomes[node]
            sign_off = outcome_sign_off(outcome, values)
            result.outcome = outcome
            result.outcome_at = len(result.path)
            result.sign_off = sign_off.value
            result.prompts = outcome_prompts(outcome, values)
            if sign_off.reason:
                result.reasons.append(sign_off.reason)
            node = outcome.next
            continue
        step = pack.steps[node]
        if node not in answers:
            result.next_step = node
            return result
        result.path.append(node)
        merge_step_values(step, answers[node], values)
        rule = choose(step, values)
        if rule.reason:
            result.reasons.append(rule.reason)
        node = rule.goto
    return result


def values_before(pack: Pack, answers: Answers, step_id: str) -> dict[str, Any]:
    """The answers on the path before `step_id` (all of them if it is the next one)."""
    values: dict[str, Any] = {}
    for answered in walk(pack, answers).path:
        if answered == step_id:
            break
        merge_step_values(pack.steps[answered], answers[answered], values)
    return values


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
    values = values_before(pack, answers, step_id)
    merge_step_values(pack.steps[step_id], answers.get(step_id, {}), values)
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


# What a question page needs lives in pages.py, which walks with the functions above; it is
# loaded on first use so that the two modules can import each other's names.
_PAGE_FUNCTIONS = (
    "likely_path",
    "prefill",
    "progress",
    "revealed_by",
    "step_errors",
    "visible_fields",
)

if TYPE_CHECKING:
    from decisions.guidance.pages import (
        likely_path,
        prefill,
        progress,
        revealed_by,
        step_errors,
        visible_fields,
    )


def __getattr__(name: str) -> Any:
    if name in _PAGE_FUNCTIONS:
        from decisions.guidance import pages

        return getattr(pages, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
