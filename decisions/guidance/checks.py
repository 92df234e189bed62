"""Checking a parsed pack's graph and conditions, so that every answer leads somewhere safe.

Routing and sign-off conditions may only name fields answered on every path to them; the other
conditions (refuse, required_when, show_when, prefill, prompts) may name any field
answered on some path before them, and treat it as unanswered where it was not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from decisions.guidance.errors import PackError
from decisions.guidance.model import CHOICE_KINDS, END, Field, Pack, Step

CONDITION_OPERATORS = ("equals", "in", "contains", "contains_any")


def check_pack(pack: Pack) -> None:
    order = _check_graph(pack)
    _check_conditions(pack, order)


def _successors(pack: Pack, node: str) -> list[str]:
    if node in pack.outcomes:
        return [pack.outcomes[node].next]
    if node in pack.steps:
        return [rule.goto for rule in pack.steps[node].next]
    return []


def _name(pack: Pack, node: str) -> str:
    return f"outcome {node!r}" if node in pack.outcomes else f"step {node!r}"


def _check_graph(pack: Pack) -> list[str]:
    nodes = set(pack.steps) | set(pack.outcomes)
    if pack.start not in pack.steps:
        raise PackError(f"start {pack.start!r} is not a step")
    for node in nodes:
        for target in _successors(pack, node):
            if target != END and target not in nodes:
                raise PackError(f"{_name(pack, node)} leads to unknown step {target!r}")
    order = _topological_order(pack)
    unreachable = nodes - set(order)
    if unreachable:
        raise PackError(f"not reachable from the start: {', '.join(sorted(unreachable))}")
    _check_outcome_counts(pack, order)
    return order


def _topological_order(pack: Pack) -> list[str]:
    """Nodes reachable from the start, each before its successors; refuses a cycle."""
    order: list[str] = []
    state: dict[str, str] = {}  # node -> "open" while on the DFS stack, "done" after

    def visit(node: str, trail: list[str]) -> None:
        if node == END or state.get(node) == "done":
            return
        if state.get(node) == "open":
            cycle = trail[trail.index(node) :] + [node]
            raise PackError(f"cycle: {' -> '.join(cycle)}")
        state[node] = "open"
        for target in _successors(pack, node):
            visit(target, trail + [node])
        state[node] = "done"
        order.append(node)

    visit(pack.start, [])
    order.reverse()
    return order


def _check_outcome_counts(pack: Pack, order: list[str]) -> None:
    """Every path from the start must meet exactly one outcome before the end."""
    seen: dict[str, set[int]] = {pack.start: {0}}
    for node in order:
        counts = seen.get(node, set())
        if node in pack.outcomes:
            if 1 in counts:
                raise PackError(f"a path meets a second outcome at {node!r}")
            counts = {c + 1 for c in counts}
        for target in _successors(pack, node):
            if target == END and counts != {1}:
                raise PackError(f"{_name(pack, node)} reaches the end without an outcome")
            seen.setdefault(target, set()).update(counts)


def _check_conditions(pack: Pack, order: list[str]) -> None:
    """Fields named by conditions, recalls, re-asks and prefills exist where they are used."""
    fields = {f.name: f for step in pack.steps.values() for f in step.fields}
    always: dict[str, set[str]] = {}  # answered on every path to the node
    maybe: dict[str, set[str]] = {}  # answered on some path to the node
    for node in order:
        before_always = always.get(node, set())
        before_maybe = maybe.get(node, set())
        if node in pack.outcomes:
            _check_outcome(pack, node, before_always, before_maybe, fields)
            after_always, after_maybe = before_always, before_maybe
        else:
            step = pack.steps[node]
            own = {f.name for f in step.fields}
            after_always, after_maybe = before_always | own, before_maybe | own
            _check_step(step, before_always, before_maybe, fields)
        for target in _successors(pack, node):
            if target == END:
                continue
            always[target] = set(after_always) if target not in always else always[target]
            always[target] &= after_always
            maybe.setdefault(target, set()).update(after_maybe)


def _check_outcome(
    pack: Pack, node: str, always: set[str], before: set[str], fields: Mapping[str, Field]
) -> None:
    outcome = pack.outcomes[node]
    for number, rule in enumerate(outcome.sign_off, start=1):
        if rule.when is not None:
            # Strict, like routing: who signs off must never hinge on an unasked question.
            where = f"outcome {node!r}, sign_off {number}"
            _check_condition(rule.when, always, fields, where)
    for number, prompt in enumerate(outcome.prompts, start=1):
        if prompt.when is not None:
            where = f"outcome {node!r}, prompt {number}"
            _check_condition(prompt.when, before, fields, where, loose=True)


def _check_step(
    step: Step, before_always: set[str], before_maybe: set[str], fields: Mapping[str, Field]
) -> None:
    where = f"step {step.id!r}"
    own = {f.name for f in step.fields}
    for number, rule in enumerate(step.next, start=1):
        if rule.when is not None:
            _check_condition(rule.when, before_always | own, fields, f"{where}, rule {number}")
    for number, refusal in enumerate(step.refuse, start=1):
        here = f"{where}, refuse {number}"
        if refusal.field not in own:
            raise PackError(f"{here}: {refusal.field!r} is not a field of this step")
        _check_condition(refusal.when, before_maybe | own, fields, here, loose=True)
    for f in step.fields:
        here = f"{where}, field {f.name!r}"
        if f.required_when is not None:
            _check_condition(f.required_when, before_maybe | own, fields, here, loose=True)
        if f.show_when is not None:
            _check_condition(f.show_when, before_maybe, fields, f"{here}, show_when", loose=True)
        if f.settles:
            _check_settles(f, before_always, fields, here)
    for name in step.recall:
        if name not in before_always:
            raise PackError(f"{where}: recall names {name!r}, not answered on every path to it")
    for number, item in enumerate(step.prefill, start=1):
        here = f"{where}, prefill {number}"
        if item.field not in own:
            raise PackError(f"{here}: {item.field!r} is not a field of this step")
        target = fields[item.field]
        if item.when is not None:
            _check_condition(item.when, before_maybe, fields, here, loose=True)
        if item.source:
            if item.source not in before_maybe:
                raise PackError(f"{here}: {item.source!r} is never answered before this step")
            for key, value in (item.mapping or {}).items():
                _check_values(fields[item.source], [key], here)
                _check_values(target, value if isinstance(value, list) else [value], here)
        else:
            value = item.value
            _check_values(target, value if isinstance(value, list) else [value], here)


def _check_settles(f: Field, before: set[str], fields: Mapping[str, Field], where: str) -> None:
    if f.settles not in before:
        raise PackError(f"{where}: settles {f.settles!r}, not answered on every path to it")
    settled = fields[f.settles]
    same_kind = f.kind == settled.kind or {f.kind, settled.kind} <= {"radio", "yesno"}
    if not same_kind:
        raise PackError(f"{where}: a {f.kind} field cannot settle the {settled.kind} {f.settles!r}")
    _check_values(settled, [c.value for c in f.choices], where)


def _check_values(f: Field, values: list[Any], where: str) -> None:
    if f.kind not in CHOICE_KINDS:
        return
    allowed = {c.value for c in f.choices}
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise PackError(f"{where}: {f.name!r} has no choice {unknown[0]!r}")


def _check_condition(
    condition: Any,
    answered: set[str],
    fields: Mapping[str, Field],
    where: str,
    *,
    loose: bool = False,
) -> None:
    if not isinstance(condition, dict) or len(condition) == 0:
        raise PackError(f"{where}: a condition must be an object")
    for group in ("all", "any"):
        if group in condition:
            if not isinstance(condition[group], list) or not condition[group]:
                raise PackError(f"{where}: {group!r} needs a non-empty list")
            for part in condition[group]:
                _check_condition(part, answered, fields, where, loose=loose)
            return
    if "not" in condition:
        _check_condition(condition["not"], answered, fields, where, loose=loose)
        return
    name = condition.get("field")
    if name not in fields:
        raise PackError(f"{where}: condition names unknown field {name!r}")
    if name not in answered:
        if loose:
            raise PackError(f"{where}: field {name!r} is never answered before here")
        raise PackError(f"{where}: field {name!r} may not be answered on every path to here")
    operators = [op for op in CONDITION_OPERATORS if op in condition]
    if len(operators) != 1:
        raise PackError(f"{where}: a condition needs exactly one of {CONDITION_OPERATORS}")
    op = operators[0]
    field = fields[name]
    values = condition[op] if op in ("in", "contains_any") else [condition[op]]
    if op in ("in", "contains_any") and not isinstance(values, list):
        raise PackError(f"{where}: {op!r} needs a list")
    if op in ("contains", "contains_any") and field.kind != "checkboxes":
        raise PackError(f"{where}: {op!r} only applies to checkboxes, not {name!r}")
    if op in ("equals", "in") and field.kind == "checkboxes":
        raise PackError(f"{where}: {op!r} never matches checkboxes {name!r}; use 'contains'")
    _check_values(field, values, where)
