"""The wizard's question fields in GOV.UK markup, written in Python.

Why not crispy-forms-gds on this one page: it renders each field through five to eight nested
Django templates, which cost 4-5 ms of a question page's 11 ms (issue 12's profile; the rest of
the page is 3 ms of middleware and 2 ms of layout). This module writes the same markup for the
field kinds a pack can ask (radios, yes/no, checkboxes, text, textarea with a character count)
directly. crispy-forms-gds stays the reference: tests/test_govuk_fields.py renders every field
of every step of every stored pack both ways (empty, filled, with errors, with bad input) and
requires the same elements, attributes and text. Date fields, rarer and more intricate, are
still rendered by crispy-forms-gds itself, and every other form in ISG keeps using it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

if TYPE_CHECKING:
    from django.forms import BoundField

    from decisions.forms.wizard import StepForm


def render_step_fields(form: StepForm) -> SafeString:
    """The form's fields, as crispy-forms-gds would render its layout (no form tag, no token)."""
    if any(field.kind == "date" for field in form.shown) or form.non_field_errors():
        from crispy_forms.utils import render_crispy_form

        return mark_safe(render_crispy_form(form))  # noqa: S308 - crispy's own escaped output
    single = form.single_field
    size, tag = ("l", "h1") if single else ("m", "")
    parts: list[str] = []
    for field in form.shown:
        bound = form[field.name]
        if field.kind in ("radio", "yesno"):
            parts.append(_choices(bound, "radios", size, tag, inline=field.kind == "yesno"))
        elif field.kind == "checkboxes":
            parts.append(_choices(bound, "checkboxes", size, tag))
        elif field.kind == "textarea":
            parts.append(_textarea(bound, size, tag, field.max_length))
        else:
            parts.append(_text(bound, size, tag))
    return mark_safe("".join(parts))  # noqa: S308 - every value below is escaped


def _group(bound: BoundField, inner: str) -> str:
    error = " govuk-form-group--error" if bound.errors else ""
    return f'<div id="div_{bound.auto_id}" class="govuk-form-group{error}">{inner}</div>'


def _hint_and_errors(bound: BoundField) -> str:
    # Labels and hints are the pack's own text, trusted as crispy-forms-gds trusts them
    # (`|safe`); everything a user typed is escaped.
    hint = (
        f'<div id="{bound.auto_id}_hint" class="govuk-hint">{bound.help_text}</div>'
        if bound.help_text
        else ""
    )
    return hint + "".join(
        f'<span id="{bound.auto_id}_{n}_error" class="govuk-error-message">'
        f'<span class="govuk-visually-hidden">Error:</span> {escape(error)}</span>'
        for n, error in enumerate(bound.errors, start=1)
    )


def _described_by(bound: BoundField, *extra: str) -> str:
    ids = ([f"{bound.auto_id}_hint"] if bound.help_text else []) + list(extra)
    ids += [f"{bound.auto_id}_{n}_error" for n in range(1, len(bound.errors) + 1)]
    return " ".join(ids)


def _label(bound: BoundField, size: str, tag: str) -> str:
    label = (
        f'<label for="{bound.id_for_label}" class="govuk-label govuk-label--{size}">'
        f"{bound.label}</label>"
    )
    return f'<{tag} class="govuk-label-wrapper">{label}</{tag}>' if tag else label


def _attributes(values: Iterable[tuple[str, Any]]) -> str:
    return "".join(f' {name}="{escape(value)}"' for name, value in values if value is not None)


def _text(bound: BoundField, size: str, tag: str) -> str:
    value = bound.field.widget.format_value(bound.value())
    described = _described_by(bound)
    attributes = _attributes(
        [
            ("type", "text"),
            ("name", bound.html_name),
            ("value", value),
            ("maxlength", bound.field.max_length),
            ("aria-describedby", described or None),
            ("class", "govuk-input govuk-input--error" if bound.errors else "govuk-input"),
            ("aria-invalid", "true" if bound.errors else None),
            ("id", bound.auto_id),
        ]
    )
    return _group(
        bound, _label(bound, size, tag) + _hint_and_errors(bound) + f"<input{attributes}>"
    )


def _textarea(bound: BoundField, size: str, tag: str, max_characters: int) -> str:
    value = bound.field.widget.format_value(bound.value())
    # crispy-forms-gds points at the counter's message only when there is a hint or no error.
    info = f"{bound.auto_id}-info" if bound.help_text or not bound.errors else None
    described = _described_by(bound, *([info] if info else []))
    css = "govuk-textarea govuk-js-character-count"
    attributes = _attributes(
        [
            ("name", bound.html_name),
            ("cols", "40"),
            ("rows", "10"),
            ("maxlength", bound.field.max_length),
            ("class", css + " govuk-input--error" if bound.errors else css),
            ("aria-describedby", described or None),
            ("aria-invalid", "true" if bound.errors else None),
            ("id", bound.auto_id),
        ]
    )
    area = f"<textarea{attributes}>\n{escape(value or '')}</textarea>"
    message = (
        f'<span id="{bound.auto_id}-info" class="govuk-hint govuk-character-count__message" '
        f'aria-live="polite">You can enter up to {max_characters} characters</span>'
    )
    group = _group(bound, _label(bound, size, tag) + _hint_and_errors(bound) + area + message)
    return (
        f'<div class="govuk-character-count" data-module="govuk-character-count" '
        f'data-maxlength="{max_characters}">{group}</div>'
    )


def _choices(bound: BoundField, kind: str, size: str, tag: str, *, inline: bool = False) -> str:
    """Radios or checkboxes in a fieldset, the label as its legend (an h1 on a one-question
    page)."""
    item = "radios" if kind == "radios" else "checkboxes"
    value = bound.value()
    if kind == "radios":
        chosen = {str(value)}
    else:
        chosen = {str(v) for v in value} if isinstance(value, list | tuple) else set()
    described = _described_by(bound)
    heading = (
        f'<{tag} class="govuk-fieldset__heading">{bound.label}</{tag}>' if tag else bound.label
    )
    legend = (
        f'<legend class="govuk-fieldset__legend govuk-fieldset__legend--{size}">{heading}</legend>'
    )
    items = []
    for position, choice in enumerate(bound.field.choices, start=1):
        choice_id = f"id_{bound.html_name}_{position}"
        hint = getattr(choice, "hint", "")
        attributes = _attributes(
            [
                ("type", "radio" if kind == "radios" else "checkbox"),
                ("name", bound.html_name),
                ("class", f"govuk-{item}__input"),
                ("id", choice_id),
                ("value", choice[0]),
                ("checked", "checked" if str(choice[0]) in chosen else None),
                ("aria-describedby", f"{choice_id}_hint" if hint else None),
            ]
        )
        hint_html = (
            f'<span id="{choice_id}_hint" class="govuk-hint govuk-{item}__hint">'
            f"{escape(hint)}</span>"
            if hint
            else ""
        )
        items.append(
            f'<div class="govuk-{item}__item"><input{attributes}>'
            f'<label class="govuk-label govuk-{item}__label" for="{choice_id}">'
            f"{escape(choice[1])}</label>{hint_html}</div>"
        )
        divider = getattr(choice, "divider", "")
        if divider:
            items.append(f'<div class="govuk-{item}__divider">{escape(divider)}</div>')
    # crispy-forms-gds writes "govuk-radios--inline" in place of "govuk-radios" for inline radios.
    container = f"govuk-{item}--inline" if inline else f"govuk-{item}"
    fieldset_described = f' aria-describedby="{escape(described)}"' if described else ""
    fieldset = (
        f'<fieldset class="govuk-fieldset"{fieldset_described}>{legend}'
        f'{_hint_and_errors(bound)}<div class="{container}">{"".join(items)}</div></fieldset>'
    )
    return _group(bound, fieldset)
