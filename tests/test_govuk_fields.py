"""The wizard's fast GOV.UK field markup (decisions/forms/govuk.py) against crispy-forms-gds.

crispy-forms-gds is the reference: for every field of every step of every stored pack (current
editions and the archived v1 packs), empty, filled from stored answers, posted with good
answers, posted empty and posted with bad input, both renderings must have the same elements,
attributes and text (whitespace between and inside tags aside, which no browser or screen
reader reads).
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from crispy_forms.utils import render_crispy_form
from django.conf import settings

from decisions.forms.govuk import render_step_fields
from decisions.forms.wizard import StepForm, initial_for
from decisions.guidance import engine
from decisions.guidance.schema import read_pack_file

PACK_FILES = sorted(
    [
        *Path(settings.GUIDANCE_DIR).glob("*.json"),
        *Path(settings.GUIDANCE_DIR).glob("archive/*.json"),
    ]
)


class _Tokens(HTMLParser):
    """Elements, attributes and text, with runs of whitespace collapsed."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tokens: list[tuple[Any, ...]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tokens.append(
            ("<", tag, tuple(sorted((k, " ".join((v or "").split())) for k, v in attrs)))
        )

    def handle_endtag(self, tag: str) -> None:
        self.tokens.append((">", tag))

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if not text:
            return
        if self.tokens and self.tokens[-1][0] == "text":
            self.tokens[-1] = ("text", f"{self.tokens[-1][1]} {text}")
        else:
            self.tokens.append(("text", text))


def tokens(html: str) -> list[tuple[Any, ...]]:
    parser = _Tokens()
    parser.feed(html)
    parser.close()
    return parser.tokens


def _good(field: engine.Field) -> Any:
    if field.kind in ("radio", "yesno"):
        return field.choices[-1].value
    if field.kind == "checkboxes":
        return [c.value for c in field.choices if not c.exclusive][:2] or [field.choices[0].value]
    if field.kind == "date":
        return "2026-11-02"
    if field.kind == "textarea":
        return 'Line one & <b>two</b>\n"three"'
    return "AB <i>&</i>"[: field.max_length]


def _post(form_fields: list[engine.Field], values: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for field in form_fields:
        value = values.get(field.name)
        if field.kind == "date" and value:
            year, month, day = value.split("-")
            data.update({f"{field.name}_0": day, f"{field.name}_1": month, f"{field.name}_2": year})
        elif value is not None:
            data[field.name] = value
    return data


def _bad(field: engine.Field) -> Any:
    if field.kind in ("radio", "yesno"):
        return "not-a-choice"
    if field.kind == "checkboxes":
        return ["not-a-choice"]
    if field.kind == "date":
        return None
    return "x" * (field.max_length + 1)


def _cases() -> list[Any]:
    cases = []
    for path in PACK_FILES:
        _, pack = read_pack_file(path)
        for step in pack.steps.values():
            if step.fields:
                cases.append(pytest.param(pack, step, id=f"{path.stem}-{step.id}"))
    return cases


def _both(make: Any) -> tuple[list[Any], list[Any]]:
    # A fresh form for each: crispy-forms-gds changes a widget's attributes as it renders.
    fast_form, reference_form = make(), make()
    for form in (fast_form, reference_form):
        if form.is_bound:
            form.is_valid()
    return tokens(render_step_fields(fast_form)), tokens(render_crispy_form(reference_form))


@pytest.mark.parametrize(("pack", "step"), _cases())
def test_fast_fields_match_crispy_forms_gds_in_every_state(pack, step):
    visible = engine.visible_fields(pack, step, {})
    good = {field.name: _good(field) for field in visible}
    bad = {field.name: _bad(field) for field in visible}
    states = {
        "empty": lambda: StepForm(pack, step, {}),
        "filled from answers": lambda: StepForm(
            pack, step, {step.id: good}, initial=initial_for(pack, step, {step.id: good})
        ),
        "posted good": lambda: StepForm(pack, step, {}, data=_post(visible, good)),
        "posted empty": lambda: StepForm(pack, step, {}, data={}),
        "posted bad": lambda: StepForm(pack, step, {}, data=_post(visible, bad)),
    }
    for state, make in states.items():
        fast, reference = _both(make)
        assert fast == reference, f"{state}: differs from crispy-forms-gds"


def test_typed_text_is_escaped_and_pack_text_is_not_doubled():
    _, pack = read_pack_file(PACK_FILES[-1])
    step = next(s for s in pack.steps.values() if any(f.kind == "text" for f in s.fields))
    field = next(f for f in step.fields if f.kind == "text")
    form = StepForm(pack, step, {}, data={field.name: '"><script>alert(1)</script>'})
    form.is_valid()
    html = render_step_fields(form)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
