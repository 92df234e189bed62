"""What one question page needs from the pack: which fields to ask, the errors in what was
submitted, suggested answers, conditional reveals and progress. Pure Python, like the engine.

Re-exported by decisions.guidance.engine; docs/guidance-packs.md ("For the question pages")
documents each function.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from decisions.guidance.engine import Walk, choose, values_before
from decisions.guidance.model import (
    END,
    Answers,
    Field,
    Pack,
    Step,
    holds,
    is_blank,
    merge_step_values,
)


def _step(pack: Pack, step: Step | str) -> Step:
    return pack.steps[step] if isinstance(step, str) else step


def visible_fields(pack: Pack, step: Step | str, answers: Answers) -> tuple[Field, ...]:
    """The step's fields to ask: those whose `show_when` holds over the earlier answers."""
    step = _step(pack, step)
    earlier = values_before(pack, answers, step.id)
    return tuple(f for f in step.fields if holds(f.show_when, earlier))


def step_errors(
    pack: Pack, step: Step | str, values: Mapping[str, Any], answers: Answers
) -> dict[str, str]:
    """Every problem with a step's submitted values, given the earlier answers on the path.

    Field name -> a GOV.UK-style message: a required or conditionally required answer missing,
    an exclusive choice ticked with others, or a combination the pack refuses (`refuse`).
    Fields hidden by `show_when` are not checked.
    """
    step = _step(pack, step)
    earlier = values_before(pack, answers, step.id)
    shown = [f for f in step.fields if holds(f.show_when, earlier)]
    submitted = {f.name: values.get(f.name) for f in shown}
    current = dict(earlier)
    merge_step_values(step, submitted, current)
    errors: dict[str, str] = {}
    for f in shown:
        value = submitted[f.name]
        if is_blank(value):
            required = f.required if f.required_when is None else holds(f.required_when, current)
            if required:
                errors[f.name] = f.error or f"Answer the question: {f.label}"
            continue
        exclusive = _exclusive_error(f, value)
        if exclusive:
            errors[f.name] = exclusive
    for refusal in step.refuse:
        if (
            refusal.field in submitted
            and refusal.field not in errors
            and holds(refusal.when, current)
        ):
            errors[refusal.field] = refusal.message
    return errors


def _exclusive_error(f: Field, value: Any) -> str:
    if f.kind != "checkboxes" or not isinstance(value, list | tuple) or len(value) < 2:
        return ""
    for choice in f.choices:
        if choice.exclusive and choice.value in value:
            return f.exclusive_error or (
                f"Select '{choice.label}' on its own, or only the answers that apply"
            )
    return ""


def prefill(pack: Pack, step: Step | str, answers: Answers) -> dict[str, Any]:
    """Suggested answers for a step not yet answered (the form's initial values).

    For example the recipient defaults to the organisation that asked. The first `prefill`
    entry that gives a field a value wins; hidden fields get none.
    """
    step = _step(pack, step)
    earlier = values_before(pack, answers, step.id)
    fields = {f.name: f for f in step.fields if holds(f.show_when, earlier)}
    suggested: dict[str, Any] = {}
    for item in step.prefill:
        if item.field in suggested or item.field not in fields or not holds(item.when, earlier):
            continue
        value = item.value
        if item.source:
            value = _mapped(earlier.get(item.source), item.mapping, fields[item.field])
        if not is_blank(value):
            suggested[item.field] = copy.deepcopy(value)
    return suggested


def _mapped(value: Any, mapping: Mapping[str, Any] | None, target: Field) -> Any:
    if is_blank(value) or mapping is None:
        return value
    found = [mapping[v] for v in (value if isinstance(value, list) else [value]) if v in mapping]
    if target.kind != "checkboxes":
        return found[0] if found else None
    ticked: list[Any] = []
    for item in found:
        for v in item if isinstance(item, list) else [item]:
            if v not in ticked:
                ticked.append(v)
    return ticked


def revealed_by(step: Step, name: str) -> tuple[str, str] | None:
    """(field, choice) this field may be revealed under (GOV.UK conditional reveal).

    A field whose `required_when` is a single `equals` or `contains` on another field of the
    same step only matters when that choice is selected.
    """
    f = next(f for f in step.fields if f.name == name)
    condition = f.required_when or {}
    controller = condition.get("field")
    if controller == name or controller not in {other.name for other in step.fields}:
        return None
    for op in ("equals", "contains"):
        if set(condition) == {"field", op}:
            return str(controller), str(condition[op])
    return None


def likely_path(pack: Pack, result: Walk) -> list[str]:
    """The walk's nodes, then those the known answers most likely lead to.

    From the next unanswered step on, each step's rules are tried against the answers so far
    (its own are unknown), so the projection takes the path the answers already point to and
    otherwise each step's last, unconditional rule.
    """
    nodes = result.nodes()
    node = result.next_step
    while node is not None and node != END:
        nodes.append(node)
        if node in pack.outcomes:
            node = pack.outcomes[node].next
        else:
            node = choose(pack.steps[node], result.values).goto
    return nodes


def progress(pack: Pack, result: Walk, step_id: str) -> tuple[int, int, str]:
    """(number, total, title) for "Section 3 of 5: Consent".

    Counts the sections of the steps on the likely path (`likely_path`), in the order met,
    so the total can change as answers change the route. An outcome counts as part of the
    section of the step that led to it.
    """
    nodes = likely_path(pack, result)
    sections: list[str] = []
    for node in nodes:
        if node in pack.steps and pack.steps[node].section not in sections:
            sections.append(pack.steps[node].section)
    current = _section_of(pack, nodes, step_id)
    if current not in sections:
        order = [s.id for s in pack.sections]
        sections.append(current)
        sections.sort(key=order.index)
    return sections.index(current) + 1, len(sections), pack.section(current).title


def _section_of(pack: Pack, nodes: list[str], node: str) -> str:
    if node in pack.steps:
        return pack.steps[node].section
    before = [n for n in nodes[: nodes.index(node)] if n in pack.steps] if node in nodes else []
    return pack.steps[before[-1]].section if before else pack.steps[pack.start].section
