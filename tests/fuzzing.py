"""Fuzzing helpers for tests/test_fuzz_forms.py: what is posted (hypothesis strategies),
requests counted, and answers that reach every step of a guidance pack, built by walking the
pack with the engine (no step or field name is written here)."""

from __future__ import annotations

import itertools
import os
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from typing import Any

from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as fuzz_settings
from hypothesis import strategies as st

from decisions import services
from decisions.forms.fields import has_control_characters
from decisions.guidance import engine
from decisions.models import (
    Approval,
    AuditEvent,
    Decision,
    DecisionRecord,
    GuidancePack,
)

# ISG_FUZZ_SCALE=10 runs ten times as many examples (a longer hunt, not for every run).
SCALE = max(1, int(os.environ.get("ISG_FUZZ_SCALE", "1")))
FUZZ = fuzz_settings(
    max_examples=10 * SCALE,
    deadline=None,
    database=None,  # nothing written into the checkout
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
STATS: dict[str, Any] = {"requests": 0, "errors": 0, "statuses": Counter()}

# ---- What is posted ------------------------------------------------------------------------

CONTROL = ["\x00", "\x01", "\x07", "\x0b", "\x0c", "\x1b", "\x7f", "\u2028", "\u202e", "\ufeff"]
text = st.characters(exclude_categories=("Cs",))  # lone surrogates cannot be sent as UTF-8
nasty_text = st.one_of(
    st.text(text, max_size=40),
    st.lists(st.one_of(st.sampled_from(CONTROL), text), max_size=20).map("".join),
    st.builds(
        lambda piece, n: piece * n,
        st.sampled_from(["x", "é", "\x00", "=1+1", "<script>", "'; --"]),
        st.integers(0, 12_000),
    ),
)
date_part = st.one_of(
    st.just(""),
    st.integers(1, 31).map(str),
    st.integers(1990, 2035).map(str),
    st.integers(-(10**25), 10**25).map(str),
    st.sampled_from(["0", "-1", "00", " 7 ", "1e5", "٣", "12.5", "NaN", "9" * 40]),
    nasty_text,
)


def date_parts(name: str) -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries({f"{name}_{i}": date_part for i in range(3)})


# ---- Requests, counted ---------------------------------------------------------------------


def send(client: Client, method: str, url: str, data: Mapping[str, Any]) -> int:
    """One request; its status, with a server error counted (and an exception one too)."""
    STATS["requests"] += 1
    try:
        response = getattr(client, method)(url, data)
        if getattr(response, "streaming", False):
            # Errors inside a streamed body count too. Reading it to the end lets the test
            # client close it (a close() of our own would end the test's database connection).
            b"".join(response.streaming_content)
    except Exception:
        STATS["errors"] += 1
        raise
    if response.status_code >= 500:
        STATS["errors"] += 1
    STATS["statuses"][response.status_code] += 1
    return response.status_code


def no_record_without_its_event() -> None:
    """Every DecisionRecord and Approval written has its audit event (nothing half-saved)."""
    for record in DecisionRecord.objects.select_related("decision"):
        assert AuditEvent.objects.filter(
            action="decision.submitted",
            object_id=str(record.decision.public_id),
            details__round=record.round,
        ).exists(), record
    for approval in Approval.objects.select_related("decision"):
        assert AuditEvent.objects.filter(
            action=f"decision.{approval.action}", object_id=str(approval.decision.public_id)
        ).exists(), approval


# ---- Answers that reach every step, built by walking the pack ------------------------------


def pack_conditions(pack: engine.Pack) -> dict[str, list[Mapping[str, Any]]]:
    """Node (step or outcome) -> the conditions it evaluates, in whatever form the pack has."""
    found: dict[str, list[Mapping[str, Any]]] = {}
    for step in pack.steps.values():
        whens = [rule.when for rule in step.next]
        for field in step.fields:
            whens += [getattr(field, "show_when", None), getattr(field, "required_when", None)]
        whens += [refusal.when for refusal in getattr(step, "refuse", ())]
        found[step.id] = [w for w in whens if isinstance(w, Mapping)]
    for outcome in pack.outcomes.values():
        whens = [rule.when for rule in getattr(outcome, "sign_off", ())]
        whens += [prompt.when for prompt in getattr(outcome, "prompts", ())]
        whens.append(getattr(outcome, "needs_approval", None))
        found[outcome.id] = [w for w in whens if isinstance(w, Mapping)]
    return found


def condition_fields(condition: Any) -> set[str]:
    if isinstance(condition, list | tuple):
        return set().union(*(condition_fields(c) for c in condition)) if condition else set()
    if not isinstance(condition, Mapping):
        return set()
    names = {condition["field"]} if "field" in condition else set()
    for key in ("all", "any", "not"):
        names |= condition_fields(condition.get(key))
    return names


def satisfying(condition: Any) -> list[dict[str, Any]]:
    """Assignments (field -> value) that make a condition hold, as far as it can tell."""
    if not isinstance(condition, Mapping):
        return [{}]
    if "all" in condition:
        combos = itertools.product(*(satisfying(c) for c in condition["all"]))
        return [_merge(*parts) for parts in itertools.islice(combos, 8)]
    if "any" in condition:
        return [a for c in condition["any"] for a in satisfying(c)]
    name = condition.get("field")
    if "equals" in condition:
        return [{name: condition["equals"]}]
    if "in" in condition:
        return [{name: v} for v in condition["in"]]
    if "contains" in condition:
        return [{name: [condition["contains"]]}]
    if "contains_any" in condition:
        return [{name: [v]} for v in condition["contains_any"]]
    return [{}]  # "not", or a kind of condition this file does not know


def _merge(*parts: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for part in parts:
        for name, value in part.items():
            if isinstance(value, list) and isinstance(merged.get(name), list):
                value = merged[name] + [v for v in value if v not in merged[name]]
            merged[name] = value
    return merged


def choice_values(field: engine.Field) -> list[str]:
    return [c.value for c in field.choices] or (["yes", "no"] if field.kind == "yesno" else [])


def plain_value(field: engine.Field) -> Any:
    """An answer the wizard would save, for answering steps on the way."""
    values = choice_values(field)
    if field.kind in ("radio", "yesno"):
        return values[0] if values else ""
    if field.kind == "checkboxes":
        return values[:1]
    if field.kind == "date":
        return date.today().isoformat()
    return "Fuzz answer"


def step_answers(step: engine.Step, assignments: list[dict[str, Any]]) -> Iterator[dict]:
    """Answer sets for one step: plain, each choice of each field, and each assignment."""
    names = {f.name: f for f in step.fields}
    base = {f.name: plain_value(f) for f in step.fields}
    yield base
    for field in step.fields:
        for value in choice_values(field):
            yield {**base, field.name: [value] if field.kind == "checkboxes" else value}
    for assignment in assignments:
        mine = {k: v for k, v in assignment.items() if k in names}
        if mine:
            for name, value in mine.items():
                if names[name].kind == "checkboxes" and not isinstance(value, list):
                    mine[name] = [value]
            yield {**base, **mine}


class Paths:
    """Answers that reach each step of a pack, and complete answers by whether they need
    sign-off.

    For each step and outcome not yet reached, a breadth-first search over answer sets that
    can still lead there, trying at each step its choices and whatever makes the pack's
    conditions hold. Two answer sets at the same next step that agree on every field read by a
    condition still between it and the target lead to the same places, so one is kept.
    """

    def __init__(self, pack: engine.Pack, budget: int = 4000) -> None:
        self.pack = pack
        self.conditions = pack_conditions(pack)
        self.assignments = [a for cs in self.conditions.values() for c in cs for a in satisfying(c)]
        # Only the steps' rules route; the other conditions (reveals, sign-off) do not.
        self.routing = {
            s.id: condition_fields([r.when for r in s.next]) for s in pack.steps.values()
        }
        nodes = [*pack.steps, *pack.outcomes]
        self.ahead = {node: engine.reachable(pack, node) for node in nodes}
        self._read: dict[tuple[str, str], list[str]] = {}
        self.reaching: dict[str, dict[str, dict]] = {}  # step -> answers that open it
        self.complete: dict[bool, dict[str, dict]] = {}  # needs sign-off -> complete answers
        for target in nodes:
            if target not in self.reaching:
                self._search(target, budget)

    def _key(self, node: str, target: str, values: Mapping[str, Any]) -> tuple:
        if (node, target) not in self._read:
            between = [n for n in self.ahead[node] if target in self.ahead[n]]
            read = set().union(*(self.routing.get(n, set()) for n in between))
            self._read[node, target] = sorted(read)
        return node, repr([values.get(name) for name in self._read[node, target]])

    def _search(self, target: str, budget: int) -> None:
        queue: deque[dict[str, dict]] = deque([{}])
        seen: set[tuple] = set()
        while queue and budget > 0:
            answers = queue.popleft()
            budget -= 1
            walked = engine.walk(self.pack, answers)
            if walked.outcome is not None and walked.outcome.id == target:
                self._finish(answers)
                return
            if walked.next_step is None or target not in self.ahead[walked.next_step]:
                continue
            self.reaching.setdefault(walked.next_step, answers)
            if walked.next_step == target:
                return
            values = engine.flat_answers({s: answers[s] for s in walked.path})
            key = self._key(walked.next_step, target, values)
            if key in seen:
                continue
            seen.add(key)
            step = self.pack.steps[walked.next_step]
            for values_here in step_answers(step, self.assignments):
                queue.append({**answers, step.id: values_here})

    def _finish(self, answers: dict[str, dict]) -> None:
        """Answer the rest plainly, to the end, noting every step met on the way."""
        answers = dict(answers)
        walked = engine.walk(self.pack, answers)
        while walked.next_step is not None:
            self.reaching.setdefault(walked.next_step, dict(answers))
            step = self.pack.steps[walked.next_step]
            answers[step.id] = {f.name: plain_value(f) for f in step.fields}
            walked = engine.walk(self.pack, answers)
        self.complete.setdefault(bool(walked.needs_approval), answers)


_paths: dict[str, Paths] = {}


def paths_of(stored: GuidancePack) -> Paths:
    if stored.digest not in _paths:
        _paths[stored.digest] = Paths(stored.pack)
    return _paths[stored.digest]


def stored_packs() -> list[GuidancePack]:
    return list(GuidancePack.objects.order_by("pack_id", "version"))


# ---- The wizard: every step of every stored pack -------------------------------------------


def field_values(field: engine.Field) -> st.SearchStrategy[dict[str, Any]]:
    """Generated form data for one field."""
    if field.kind == "date":
        return date_parts(field.name)
    choices = choice_values(field)
    one = st.one_of(st.sampled_from(choices), nasty_text) if choices else nasty_text
    if field.kind == "checkboxes":
        return st.fixed_dictionaries({field.name: st.lists(one, max_size=4)})
    return st.fixed_dictionaries({field.name: one})


def plain_data(step: engine.Step) -> dict[str, Any]:
    """Form data the step accepts (as a rule), for fuzzing one field at a time."""
    data: dict[str, Any] = {}
    for field in step.fields:
        value = plain_value(field)
        if field.kind == "date":
            day = date.fromisoformat(value)
            data |= {f"{field.name}_0": day.day, f"{field.name}_1": day.month}
            data[f"{field.name}_2"] = day.year
        else:
            data[field.name] = value
    return data


def step_data(step: engine.Step) -> st.SearchStrategy[dict[str, Any]]:
    """Every field generated, or one field generated and the others answered plainly (so the
    page gets past the easy errors to the checks between fields, and saves)."""
    parts = [field_values(f) for f in step.fields]
    extra = st.dictionaries(st.sampled_from(["x", "csrfmiddlewaretoken", "0"]), nasty_text)
    every = st.tuples(*parts, extra).map(lambda ps: {k: v for p in ps for k, v in p.items()})
    one = st.sampled_from(parts).flatmap(lambda part: part.map(lambda d: plain_data(step) | d))
    return st.one_of(one, every)


def saved_problem(step: engine.Step, saved: Mapping[str, Any]) -> str:
    """What is wrong with a step's saved answers ("" when they are what the form allows)."""
    fields = {f.name: f for f in step.fields}
    if set(saved) - set(fields):
        return f"unknown fields saved: {set(saved) - set(fields)}"
    for name, value in saved.items():
        field, allowed = fields[name], choice_values(fields[name])
        if field.kind in ("radio", "yesno") and value not in [*allowed, ""]:
            return f"{name}: {value!r} is not a choice"
        if field.kind == "checkboxes" and not set(value) <= set(allowed):
            return f"{name}: {value!r} are not choices"
        if field.kind == "date" and value:
            date.fromisoformat(value)
        if field.kind in ("text", "textarea"):
            if has_control_characters(value):
                return f"{name}: control characters saved"
            if field.max_length and len(value) > field.max_length:
                return f"{name}: longer than {field.max_length}"
    return ""


# ---- Submitted decisions, for sign-off, amend and reconsider -------------------------------


def submitted(user, *, needs_approval: bool) -> Decision:
    """A decision of the current pack, submitted with complete answers the engine walked."""
    stored = GuidancePack.objects.get(is_current=True)
    answers = paths_of(stored).complete[needs_approval]
    decision = services.decision_start(user=user, pack=stored)
    Decision.objects.filter(pk=decision.pk).update(answers=answers)
    decision.refresh_from_db()
    services.decision_submit(decision=decision, user=user)
    decision.refresh_from_db()
    return decision


def run(examples: int, strategy: st.SearchStrategy, check: Callable[[Any], None]) -> None:
    fuzz_settings(FUZZ, max_examples=examples * SCALE)(given(strategy)(check))()


# ---- Audit log filters and its CSV ---------------------------------------------------------


def audit_params() -> st.SearchStrategy[dict[str, Any]]:
    return st.tuples(
        st.fixed_dictionaries(
            {},
            optional={
                "person": st.one_of(st.integers(-5, 10**20).map(str), nasty_text),
                "organisation": st.one_of(st.integers(-5, 10**20).map(str), nasty_text),
                "action": st.one_of(st.sampled_from(["decision.submitted", ""]), nasty_text),
                "reference": st.one_of(st.just("ISG-2026-000001"), nasty_text),
                "before": st.one_of(st.integers(-5, 10**30).map(str), nasty_text),
                "after": st.one_of(st.integers(-5, 10**30).map(str), nasty_text),
            },
        ),
        st.one_of(st.just({}), date_parts("date_from")),
        st.one_of(st.just({}), date_parts("date_to")),
    ).map(lambda parts: {k: v for p in parts for k, v in p.items()})


# ---- Report filters and the export form ----------------------------------------------------


def report_params() -> st.SearchStrategy[dict[str, Any]]:
    choice = st.one_of(st.just(""), nasty_text)
    return st.tuples(
        st.fixed_dictionaries(
            {},
            optional={
                "organisation": st.one_of(
                    st.sampled_from(["all", "leicester-city-council"]), choice
                ),
                "purpose": choice,
                "outcome": st.one_of(st.sampled_from(["do_not_share", "can_share"]), choice),
                "lawful_reason": choice,
                "direction": st.one_of(st.sampled_from(["proactive", "request"]), choice),
                "status": st.one_of(st.sampled_from(["submitted", "draft"]), choice),
            },
        ),
        st.one_of(st.just({}), date_parts("date_from")),
        st.one_of(st.just({}), date_parts("date_to")),
    ).map(lambda parts: {k: v for p in parts for k, v in p.items()})
