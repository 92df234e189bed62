"""Parsing the parts of a guidance pack (fields, steps, outcomes) into the engine's types.

Used by decisions.guidance.schema.load_pack, which checks the pack as a whole afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from decisions.guidance.errors import PackError
from decisions.guidance.model import (
    CHOICE_KINDS,
    FIELD_KINDS,
    OUTCOME_KINDS,
    SIGN_OFF_KINDS,
    YESNO_CHOICES,
    Choice,
    Citation,
    Field,
    Outcome,
    Prefill,
    Prompt,
    Refusal,
    Rule,
    SignOff,
    Step,
)

DEFAULT_MAX_LENGTH = {"text": 200, "textarea": 4000}


def text(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key) if isinstance(obj, Mapping) else None
    if not isinstance(value, str) or not value.strip():
        raise PackError(f"{where}: {key!r} must be non-empty text")
    return value


def _list(raw: Any, where: str, what: str) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise PackError(f"{where}: {what} must be a list")
    return raw


def _condition(raw: Any, where: str) -> dict[str, Any] | None:
    """Shape only; checks.py checks the fields and values each condition names."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or not raw:
        raise PackError(f"{where}: a condition must be an object")
    return raw


def citations(raw: Any, sources: Mapping[str, Any], where: str) -> tuple[Citation, ...]:
    if not isinstance(raw, list):
        raise PackError(f"{where}: citations must be a list")
    citations = []
    for item in raw:
        if not isinstance(item, dict) or item.get("source") not in sources:
            raise PackError(f"{where}: citation {item!r} names an unknown source")
        citations.append(Citation(item["source"], text(item, "section", where)))
    return tuple(citations)


def _choices(raw: Any, kind: str, where: str) -> tuple[Choice, ...]:
    if kind == "yesno":
        return tuple(Choice(value, label) for value, label in YESNO_CHOICES)
    if kind not in CHOICE_KINDS:
        return ()
    if not isinstance(raw, list) or not raw:
        raise PackError(f"{where}: a {kind} field needs choices")
    choices = []
    for c in raw:
        exclusive = c.get("exclusive", False) if isinstance(c, dict) else False
        if exclusive is not False and (kind != "checkboxes" or exclusive is not True):
            raise PackError(f"{where}: only a checkbox choice may be exclusive (true)")
        choices.append(
            Choice(
                text(c, "value", where),
                text(c, "label", where),
                str(c.get("hint", "")),
                exclusive,
            )
        )
    values = [c.value for c in choices]
    if len(set(values)) != len(values):
        raise PackError(f"{where}: choice values repeat")
    return tuple(choices)


def _field(raw: Any, where: str) -> Field:
    if not isinstance(raw, dict):
        raise PackError(f"{where}: each field must be an object")
    name = text(raw, "name", where)
    where = f"{where}, field {name!r}"
    kind = raw.get("kind")
    if kind not in FIELD_KINDS:
        raise PackError(f"{where}: unknown kind {kind!r}")
    max_length = raw.get("max_length", DEFAULT_MAX_LENGTH.get(kind))
    if kind in DEFAULT_MAX_LENGTH and (not isinstance(max_length, int) or max_length < 1):
        raise PackError(f"{where}: max_length must be a positive whole number")
    required_when = _condition(raw.get("required_when"), f"{where}, required_when")
    if required_when is not None and raw.get("required", False) is not False:
        raise PackError(f"{where}: a field with required_when must not be required: true")
    settles = raw.get("settles", "")
    if not isinstance(settles, str):
        raise PackError(f"{where}: settles must name a field")
    return Field(
        name=name,
        kind=kind,
        label=text(raw, "label", where),
        hint=str(raw.get("hint", "")),
        required=bool(raw.get("required", True)) and required_when is None,
        max_length=max_length if kind in DEFAULT_MAX_LENGTH else None,
        choices=_choices(raw.get("choices"), kind, where),
        error=str(raw.get("error", "")),
        required_when=required_when,
        show_when=_condition(raw.get("show_when"), f"{where}, show_when"),
        settles=settles,
        exclusive_error=str(raw.get("exclusive_error", "")),
    )


def _rules(raw: Any, sources: Mapping[str, Any], where: str) -> tuple[Rule, ...]:
    if not isinstance(raw, list) or not raw:
        raise PackError(f"{where}: 'next' must be a non-empty list of rules")
    rules = []
    for number, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            raise PackError(f"{where}: rule {number} must be an object")
        rules.append(
            Rule(
                goto=text(item, "goto", f"{where}, rule {number}"),
                when=_condition(item.get("when"), f"{where}, rule {number}"),
                reason=str(item.get("reason", "")),
                citations=citations(item.get("citations", []), sources, f"{where}, rule {number}"),
            )
        )
    if rules[-1].when is not None:
        raise PackError(f"{where}: the last rule must have no 'when', or answers could dead-end")
    return tuple(rules)


def _refusals(raw: Any, where: str) -> tuple[Refusal, ...]:
    refusals = []
    for number, item in enumerate(_list(raw, where, "refuse"), start=1):
        here = f"{where}, refuse {number}"
        if not isinstance(item, dict) or item.get("when") is None:
            raise PackError(f"{here}: needs 'when', 'field' and 'message'")
        refusals.append(
            Refusal(
                field=text(item, "field", here),
                message=text(item, "message", here),
                when=_condition(item["when"], here) or {},
            )
        )
    return tuple(refusals)


def _prefills(raw: Any, where: str) -> tuple[Prefill, ...]:
    prefills = []
    for number, item in enumerate(_list(raw, where, "prefill"), start=1):
        here = f"{where}, prefill {number}"
        if not isinstance(item, dict) or ("from" in item) == ("value" in item):
            raise PackError(f"{here}: needs 'field' and one of 'from' or 'value'")
        mapping = item.get("map")
        if mapping is not None and (not isinstance(mapping, dict) or "from" not in item):
            raise PackError(f"{here}: 'map' must be an object, with 'from'")
        prefills.append(
            Prefill(
                field=text(item, "field", here),
                source=text(item, "from", here) if "from" in item else "",
                mapping=mapping,
                value=item.get("value"),
                when=_condition(item.get("when"), here),
            )
        )
    return tuple(prefills)


def steps(raw: Any, sources: Mapping[str, Any], section_ids: set[str]) -> dict[str, Step]:
    if not isinstance(raw, list) or not raw:
        raise PackError("steps must be a non-empty list")
    steps: dict[str, Step] = {}
    field_names: set[str] = set()
    for item in raw:
        if not isinstance(item, dict):
            raise PackError("each step must be an object")
        step_id = text(item, "id", "step")
        where = f"step {step_id!r}"
        if step_id in steps:
            raise PackError(f"{where}: id used twice")
        if item.get("section") not in section_ids:
            raise PackError(f"{where}: section must be one of {', '.join(sorted(section_ids))}")
        raw_fields = item.get("fields")
        if not isinstance(raw_fields, list) or not raw_fields:
            raise PackError(f"{where}: needs at least one field")
        fields = tuple(_field(f, where) for f in raw_fields)
        for f in fields:
            if f.name in field_names:
                raise PackError(f"{where}: field name {f.name!r} is used twice in the pack")
            field_names.add(f.name)
        recall = _list(item.get("recall"), where, "recall")
        if not all(isinstance(name, str) for name in recall):
            raise PackError(f"{where}: recall must list field names")
        if item.get("quote") is not None:
            quote = item["quote"]
            text(quote, "text", f"{where}, quote")
            citations([quote.get("citation")], sources, f"{where}, quote")
        steps[step_id] = Step(
            id=step_id,
            section=item["section"],
            title=text(item, "title", where),
            help=text(item, "help", where),
            fields=fields,
            next=_rules(item.get("next"), sources, where),
            citations=citations(item.get("citations", []), sources, where),
            quote=item.get("quote"),
            recall=tuple(recall),
            refuse=_refusals(item.get("refuse"), where),
            prefill=_prefills(item.get("prefill"), where),
        )
    return steps


def _sign_off(
    item: Mapping[str, Any], sources: Mapping[str, Any], where: str
) -> tuple[SignOff, ...]:
    if "sign_off" in item and "needs_approval" in item:
        raise PackError(f"{where}: give sign_off or needs_approval, not both")
    if "sign_off" not in item:
        # Version 1 packs: needs_approval is true, false or a condition; approval came first.
        legacy = item.get("needs_approval", False)
        if isinstance(legacy, bool):
            return (SignOff("before" if legacy else "none"),)
        if not isinstance(legacy, dict):
            raise PackError(f"{where}: needs_approval must be true, false or a condition")
        return (SignOff("before", _condition(legacy, where)), SignOff("none"))
    raw = item["sign_off"]
    if isinstance(raw, str):
        raw = [{"value": raw}]
    if not isinstance(raw, list) or not raw:
        raise PackError(f"{where}: sign_off must be one of {SIGN_OFF_KINDS} or a list of rules")
    rules = []
    for number, rule in enumerate(raw, start=1):
        here = f"{where}, sign_off {number}"
        if not isinstance(rule, dict) or rule.get("value") not in SIGN_OFF_KINDS:
            raise PackError(f"{here}: value must be one of {', '.join(SIGN_OFF_KINDS)}")
        rules.append(
            SignOff(
                value=rule["value"],
                when=_condition(rule.get("when"), here),
                reason=str(rule.get("reason", "")),
                citations=citations(rule.get("citations", []), sources, here),
            )
        )
    if rules[-1].when is not None:
        raise PackError(f"{where}: the last sign_off rule must have no 'when'")
    return tuple(rules)


def _prompts(raw: Any, sources: Mapping[str, Any], where: str) -> tuple[Prompt, ...]:
    prompts = []
    for number, item in enumerate(_list(raw, where, "prompts"), start=1):
        here = f"{where}, prompt {number}"
        if not isinstance(item, dict):
            raise PackError(f"{here}: must be an object")
        prompts.append(
            Prompt(
                text=text(item, "text", here),
                citations=citations(item.get("citations", []), sources, here),
                when=_condition(item.get("when"), here),
            )
        )
    return tuple(prompts)


def outcomes(raw: Any, sources: Mapping[str, Any]) -> dict[str, Outcome]:
    if not isinstance(raw, list) or not raw:
        raise PackError("outcomes must be a non-empty list")
    outcomes: dict[str, Outcome] = {}
    for item in raw:
        if not isinstance(item, dict):
            raise PackError("each outcome must be an object")
        outcome_id = text(item, "id", "outcome")
        where = f"outcome {outcome_id!r}"
        if outcome_id in outcomes:
            raise PackError(f"{where}: id used twice")
        if item.get("kind") not in OUTCOME_KINDS:
            raise PackError(f"{where}: kind must be one of {', '.join(OUTCOME_KINDS)}")
        outcomes[outcome_id] = Outcome(
            id=outcome_id,
            kind=item["kind"],
            title=text(item, "title", where),
            summary=text(item, "summary", where),
            next=text(item, "next", where),
            sign_off=_sign_off(item, sources, where),
            citations=citations(item.get("citations", []), sources, where),
            prompts=_prompts(item.get("prompts"), sources, where),
        )
    return outcomes
