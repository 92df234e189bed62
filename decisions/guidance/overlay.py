"""One base flowchart, one small overlay per edition: resolving them, and diffing editions.

An edition file names its `base` (a path relative to the edition file) and gives what the
edition changes: its id, version, title, golden rules, and patches to steps, fields and
outcomes (docs/guidance-packs.md, "Editions"). The resolved pack is what is validated and
stored, whole, so a record keeps exactly what was shown. Pure Python.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from decisions.guidance.errors import PackError

# Keys of an edition file that are not pack content.
OVERLAY_ONLY = ("base",)
# The order a resolved pack lists its keys in (any others follow).
KEY_ORDER = (
    "id",
    "version",
    "edition",
    "title",
    "summary",
    "superseded",
    "sources",
    "golden_rules",
    "sections",
    "start",
    "steps",
    "outcomes",
)
# How the items of a list are matched when diffing (first key that every item has).
IDENTITY_KEYS = ("id", "name", "number", "value")


def resolve_file(path: Path) -> dict[str, Any]:
    """The whole pack a file describes: itself, or its base with it applied."""
    from decisions.guidance.schema import read_json

    data = read_json(path)
    if not isinstance(data, dict) or "base" not in data:
        return data
    base_path = path.parent / str(data["base"])
    base = read_json(base_path)
    try:
        return resolve(base, data)
    except PackError as exc:
        raise PackError(f"{path.name}: {exc}") from exc


def resolve(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """The base with the overlay applied (neither argument is changed).

    Top-level keys replace the base's, except `steps` and `outcomes`: objects keyed by id
    whose patches change only the keys they give. Inside a patch, an object given for a list
    (`fields`, `choices`) patches its items by name or value; a key written `+name` appends to
    the list `name` instead of replacing it.
    """
    if not isinstance(base, dict) or not isinstance(overlay, dict):
        raise PackError("a base and an edition must both be JSON objects")
    data = copy.deepcopy(base)
    for key, value in overlay.items():
        if key in OVERLAY_ONLY:
            continue
        if key in ("steps", "outcomes"):
            _patch_items(data, key, value)
        else:
            _set(data, key, value, "pack")
    ordered = {key: data[key] for key in KEY_ORDER if key in data}
    return {**ordered, **{key: value for key, value in data.items() if key not in ordered}}


def _patch_items(data: dict[str, Any], key: str, patches: Any) -> None:
    if not isinstance(patches, dict):
        raise PackError(f"an edition's {key} must be an object keyed by id")
    items = {item.get("id"): item for item in data.get(key, []) if isinstance(item, dict)}
    for item_id, patch in patches.items():
        if item_id not in items:
            raise PackError(f"the edition patches {key[:-1]} {item_id!r}, which the base lacks")
        _patch(items[item_id], patch, f"{key[:-1]} {item_id!r}")


def _patch(target: dict[str, Any], patch: Any, where: str) -> None:
    if not isinstance(patch, dict):
        raise PackError(f"{where}: a patch must be an object")
    for key, value in patch.items():
        items = target.get(key)
        if isinstance(value, dict) and isinstance(items, list):
            _patch_list(items, value, f"{where}, {key}")
        else:
            _set(target, key, value, where)


def _patch_list(items: list[Any], patches: dict[str, Any], where: str) -> None:
    """Patch the items of a list (fields, choices...) keyed by their id, name or value."""
    key = _identity(items)
    if key is None:
        raise PackError(f"{where}: these items cannot be patched one by one")
    by_key = {str(item[key]): item for item in items}
    for ident, patch in patches.items():
        if ident not in by_key:
            raise PackError(f"{where}: the edition patches {ident!r}, which the base lacks")
        _patch(by_key[ident], patch, f"{where} {ident!r}")


def _set(target: dict[str, Any], key: str, value: Any, where: str) -> None:
    if key.startswith("+"):
        existing = target.setdefault(key[1:], [])
        if not isinstance(existing, list) or not isinstance(value, list):
            raise PackError(f"{where}: {key!r} appends a list to a list")
        existing.extend(copy.deepcopy(value))
    else:
        target[key] = copy.deepcopy(value)


def pack_diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What changed from one resolved pack to another, one line per change."""
    lines = [
        f"--- {old.get('id')} v{old.get('version')} ({old.get('edition')})",
        f"+++ {new.get('id')} v{new.get('version')} ({new.get('edition')})",
    ]
    _diff(old, new, "", lines)
    if len(lines) == 2:
        lines.append("no differences")
    return lines


def _identity(items: list[Any]) -> str | None:
    for key in IDENTITY_KEYS:
        if items and all(isinstance(item, dict) and key in item for item in items):
            return key
    return None


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _diff(old: Any, new: Any, where: str, lines: list[str]) -> None:
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            here = f"{where}.{key}" if where else str(key)
            if key not in new:
                lines.append(f"{here}: removed (was {_show(old[key])})")
            elif key not in old:
                lines.append(f"{here}: added {_show(new[key])}")
            else:
                _diff(old[key], new[key], here, lines)
        return
    if isinstance(old, list) and isinstance(new, list):
        key = _identity(old + new)
        if key is not None:
            olds = {item[key]: item for item in old}
            news = {item[key]: item for item in new}
            for ident in list(olds) + [i for i in news if i not in olds]:
                here = f"{where}[{ident}]"
                if ident not in news:
                    lines.append(f"{here}: removed")
                elif ident not in olds:
                    lines.append(f"{here}: added {_show(news[ident])}")
                else:
                    _diff(olds[ident], news[ident], here, lines)
            return
        for item in old:
            if item not in new:
                lines.append(f"{where}: - {_show(item)}")
        for item in new:
            if item not in old:
                lines.append(f"{where}: + {_show(item)}")
        return
    lines.append(f"{where}: {_show(old)} -> {_show(new)}")
