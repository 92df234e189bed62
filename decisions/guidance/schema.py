"""Loading and validating guidance packs (fixtures/guidance/*.json) into flowchart.Pack.

Pure Python, like the engine. A pack that could strand a practitioner (an unreachable
question, a dead end, a cycle, a path with no outcome) or cite an unknown source is refused
with a PackError that names the problem, so a bad pack never reaches the wizard.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from decisions.guidance.engine import (
    END,
    FIELD_KINDS,
    OUTCOME_KINDS,
    YESNO_CHOICES,
    Choice,
    Citation,
    Field,
    Outcome,
    Pack,
    Rule,
    Step,
)

# The source documents in shared/guidance/ that a citation may point at.
KNOWN_SOURCE_FILES = frozenset(
    {
        "bathnes-multi-agency-information-sharing-guidance-2018.txt",
        "calderdale-information-sharing-guidance-2017.txt",
        "llr-information-sharing-agreement-2017.txt",
        "lscp-protocol-sharing-information-2024.txt",
        "sharing-information-about-children-2008-golden-rules.txt",
    }
)
SECTIONS = ("context", "flowchart", "how", "record")
DEFAULT_MAX_LENGTH = {"text": 200, "textarea": 4000}
CHOICE_KINDS = ("radio", "yesno", "checkboxes")
CONDITION_OPERATORS = ("equals", "in", "contains", "contains_any")


class PackError(ValueError):
    """A guidance pack that must not be used, with the reason."""


def pack_digest(data: Mapping[str, Any]) -> str:
    """SHA-256 of the pack's canonical JSON: identifies exactly the content a decision saw."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def read_pack_file(path: Path) -> tuple[dict[str, Any], Pack]:
    """Parse and validate one pack file; returns the raw data (to store) and the Pack."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PackError(f"{path.name}: cannot be read as JSON ({exc})") from exc
    try:
        return data, load_pack(data)
    except PackError as exc:
        raise PackError(f"{path.name}: {exc}") from exc


def load_pack(data: Any) -> Pack:
    """Build a Pack from parsed JSON, refusing anything the engine could not walk safely."""
    if not isinstance(data, dict):
        raise PackError("a pack must be a JSON object")
    for key in ("id", "version", "edition", "title", "start", "sources", "steps", "outcomes"):
        if key not in data:
            raise PackError(f"missing top-level key {key!r}")
    version = data["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise PackError("version must be a positive whole number")
    sources = _sources(data["sources"])
    steps = _steps(data["steps"], sources)
    outcomes = _outcomes(data["outcomes"], sources)
    clash = set(steps) & (set(outcomes) | {END})
    if clash:
        raise PackError(f"ids used for both a step and an outcome or 'end': {sorted(clash)}")
    pack = Pack(
        id=_text(data, "id", "pack"),
        version=data["version"],
        edition=str(data["edition"]),
        title=_text(data, "title", "pack"),
        summary=str(data.get("summary", "")),
        sources=sources,
        golden_rules=tuple(_golden_rules(data.get("golden_rules", []), sources)),
        start=str(data["start"]),
        steps=steps,
        outcomes=outcomes,
    )
    _check_graph(pack)
    return pack


def _text(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key) if isinstance(obj, Mapping) else None
    if not isinstance(value, str) or not value.strip():
        raise PackError(f"{where}: {key!r} must be non-empty text")
    return value


def _sources(raw: Any) -> dict[str, dict[str, str]]:
    if not isinstance(raw, dict) or not raw:
        raise PackError("sources must be a non-empty object")
    for key, source in raw.items():
        if not isinstance(source, dict) or source.get("file") not in KNOWN_SOURCE_FILES:
            raise PackError(f"source {key!r} does not name a known guidance file")
        _text(source, "title", f"source {key!r}")
    return raw


def _citations(raw: Any, sources: Mapping[str, Any], where: str) -> tuple[Citation, ...]:
    if not isinstance(raw, list):
        raise PackError(f"{where}: citations must be a list")
    citations = []
    for item in raw:
        if not isinstance(item, dict) or item.get("source") not in sources:
            raise PackError(f"{where}: citation {item!r} names an unknown source")
        citations.append(Citation(item["source"], _text(item, "section", where)))
    return tuple(citations)


def _golden_rules(raw: Any, sources: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    if not isinstance(raw, list):
        raise PackError("golden_rules must be a list")
    for rule in raw:
        where = f"golden rule {rule.get('number') if isinstance(rule, dict) else rule!r}"
        if not isinstance(rule, dict):
            raise PackError(f"{where}: must be an object")
        _text(rule, "text", where)
        _citations([rule.get("citation")], sources, where)
        yield rule


def _field(raw: Any, where: str) -> Field:
    if not isinstance(raw, dict):
        raise PackError(f"{where}: each field must be an object")
    name = _text(raw, "name", where)
    where = f"{where}, field {name!r}"
    kind = raw.get("kind")
    if kind not in FIELD_KINDS:
        raise PackError(f"{where}: unknown kind {kind!r}")
    choices: tuple[Choice, ...] = ()
    if kind == "yesno":
        choices = tuple(Choice(value, label) for value, label in YESNO_CHOICES)
    elif kind in CHOICE_KINDS:
        raw_choices = raw.get("choices")
        if not isinstance(raw_choices, list) or not raw_choices:
            raise PackError(f"{where}: a {kind} field needs choices")
        choices = tuple(
            Choice(_text(c, "value", where), _text(c, "label", where), str(c.get("hint", "")))
            for c in raw_choices
        )
        values = [c.value for c in choices]
        if len(set(values)) != len(values):
            raise PackError(f"{where}: choice values repeat")
    max_length = raw.get("max_length", DEFAULT_MAX_LENGTH.get(kind))
    if kind in DEFAULT_MAX_LENGTH and (not isinstance(max_length, int) or max_length < 1):
        raise PackError(f"{where}: max_length must be a positive whole number")
    return Field(
        name=name,
        kind=kind,
        label=_text(raw, "label", where),
        hint=str(raw.get("hint", "")),
        required=bool(raw.get("required", True)),
        max_length=max_length if kind in DEFAULT_MAX_LENGTH else None,
        choices=choices,
        error=str(raw.get("error", "")),
    )


def _rules(raw: Any, where: str) -> tuple[Rule, ...]:
    if not isinstance(raw, list) or not raw:
        raise PackError(f"{where}: 'next' must be a non-empty list of rules")
    rules = []
    for number, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            raise PackError(f"{where}: rule {number} must be an object")
        rules.append(
            Rule(
                goto=_text(item, "goto", f"{where}, rule {number}"),
                when=item.get("when"),
                reason=str(item.get("reason", "")),
            )
        )
    if rules[-1].when is not None:
        raise PackError(f"{where}: the last rule must have no 'when', or answers could dead-end")
    return tuple(rules)


def _steps(raw: Any, sources: Mapping[str, Any]) -> dict[str, Step]:
    if not isinstance(raw, list) or not raw:
        raise PackError("steps must be a non-empty list")
    steps: dict[str, Step] = {}
    field_names: set[str] = set()
    for item in raw:
        if not isinstance(item, dict):
            raise PackError("each step must be an object")
        step_id = _text(item, "id", "step")
        where = f"step {step_id!r}"
        if step_id in steps:
            raise PackError(f"{where}: id used twice")
        if item.get("section") not in SECTIONS:
            raise PackError(f"{where}: section must be one of {', '.join(SECTIONS)}")
        raw_fields = item.get("fields")
        if not isinstance(raw_fields, list) or not raw_fields:
            raise PackError(f"{where}: needs at least one field")
        fields = tuple(_field(f, where) for f in raw_fields)
        for f in fields:
            if f.name in field_names:
                raise PackError(f"{where}: field name {f.name!r} is used twice in the pack")
            field_names.add(f.name)
        steps[step_id] = Step(
            id=step_id,
            section=item["section"],
            title=_text(item, "title", where),
            help=_text(item, "help", where),
            fields=fields,
            next=_rules(item.get("next"), where),
            citations=_citations(item.get("citations", []), sources, where),
            quote=item.get("quote"),
        )
        if item.get("quote") is not None:
            quote = item["quote"]
            _text(quote, "text", f"{where}, quote")
            _citations([quote.get("citation")], sources, f"{where}, quote")
    return steps


def _outcomes(raw: Any, sources: Mapping[str, Any]) -> dict[str, Outcome]:
    if not isinstance(raw, list) or not raw:
        raise PackError("outcomes must be a non-empty list")
    outcomes: dict[str, Outcome] = {}
    for item in raw:
        if not isinstance(item, dict):
            raise PackError("each outcome must be an object")
        outcome_id = _text(item, "id", "outcome")
        where = f"outcome {outcome_id!r}"
        if outcome_id in outcomes:
            raise PackError(f"{where}: id used twice")
        if item.get("kind") not in OUTCOME_KINDS:
            raise PackError(f"{where}: kind must be one of {', '.join(OUTCOME_KINDS)}")
        needs_approval = item.get("needs_approval", False)
        if not isinstance(needs_approval, bool | dict):
            raise PackError(f"{where}: needs_approval must be true, false or a condition")
        outcomes[outcome_id] = Outcome(
            id=outcome_id,
            kind=item["kind"],
            title=_text(item, "title", where),
            summary=_text(item, "summary", where),
            next=_text(item, "next", where),
            needs_approval=needs_approval,
            citations=_citations(item.get("citations", []), sources, where),
        )
    return outcomes


def _successors(pack: Pack, node: str) -> list[str]:
    if node in pack.outcomes:
        return [pack.outcomes[node].next]
    if node in pack.steps:
        return [rule.goto for rule in pack.steps[node].next]
    return []


def _check_graph(pack: Pack) -> None:
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
    _check_conditions(pack, order)


def _name(pack: Pack, node: str) -> str:
    return f"outcome {node!r}" if node in pack.outcomes else f"step {node!r}"


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
    """Conditions may only name fields answered on every path to them, with known values."""
    fields = {f.name: f for step in pack.steps.values() for f in step.fields}
    known: dict[str, set[str] | None] = {pack.start: set()}  # None: not yet met
    for node in order:
        before = known.get(node) or set()
        if node in pack.outcomes:
            approval = pack.outcomes[node].needs_approval
            if isinstance(approval, dict):
                _check_condition(approval, before, fields, f"outcome {node!r}")
            after = before
        else:
            step = pack.steps[node]
            after = before | {f.name for f in step.fields}
            for number, rule in enumerate(step.next, start=1):
                if rule.when is not None:
                    _check_condition(rule.when, after, fields, f"step {node!r}, rule {number}")
        for target in _successors(pack, node):
            if target != END:
                current = known.get(target)
                known[target] = set(after) if current is None else current & after


def _check_condition(
    condition: Any, answered: set[str], fields: Mapping[str, Field], where: str
) -> None:
    if not isinstance(condition, dict) or len(condition) == 0:
        raise PackError(f"{where}: a condition must be an object")
    for group in ("all", "any"):
        if group in condition:
            if not isinstance(condition[group], list) or not condition[group]:
                raise PackError(f"{where}: {group!r} needs a non-empty list")
            for part in condition[group]:
                _check_condition(part, answered, fields, where)
            return
    if "not" in condition:
        _check_condition(condition["not"], answered, fields, where)
        return
    name = condition.get("field")
    if name not in fields:
        raise PackError(f"{where}: condition names unknown field {name!r}")
    if name not in answered:
        raise PackError(f"{where}: field {name!r} may not be answered on every path to here")
    operators = [op for op in CONDITION_OPERATORS if op in condition]
    if len(operators) != 1:
        raise PackError(f"{where}: a condition needs exactly one of {CONDITION_OPERATORS}")
    op = operators[0]
    field = fields[name]
    values = condition[op] if op in ("in", "contains_any") else [condition[op]]
    if op in ("contains", "contains_any") and field.kind != "checkboxes":
        raise PackError(f"{where}: {op!r} only applies to checkboxes, not {name!r}")
    if op in ("equals", "in") and field.kind == "checkboxes":
        raise PackError(f"{where}: {op!r} never matches checkboxes {name!r}; use 'contains'")
    if field.choices:
        allowed = {c.value for c in field.choices}
        unknown = [v for v in values if v not in allowed]
        if unknown:
            raise PackError(f"{where}: {name!r} has no choice {unknown[0]!r}")
