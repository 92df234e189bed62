"""Loading and validating guidance packs (fixtures/guidance/*.json) into engine.Pack.

Pure Python, like the engine. A pack that could strand a practitioner (an unreachable
question, a dead end, a cycle, a path with no outcome) or cite an unknown source is refused
with a PackError that names the problem, so a bad pack never reaches the wizard. An edition
file that names a `base` is resolved first (decisions.guidance.overlay). The graph and the
conditions are checked in decisions.guidance.checks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from decisions.guidance.errors import PackError
from decisions.guidance.model import LEGACY_SECTIONS, Pack, Section
from decisions.guidance.parse import DEFAULT_MAX_LENGTH, citations, outcomes, steps, text

__all__ = [
    "DEFAULT_MAX_LENGTH",
    "KNOWN_SOURCE_FILES",
    "PackError",
    "load_pack",
    "pack_digest",
    "read_json",
    "read_pack_file",
]

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


def pack_digest(data: Mapping[str, Any]) -> str:
    """SHA-256 of the pack's canonical JSON: identifies exactly the content a decision saw."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PackError(f"{path.name}: cannot be read as JSON ({exc})") from exc


def read_pack_file(path: Path) -> tuple[dict[str, Any], Pack]:
    """Parse and validate one pack file; returns the data to store (an edition overlay
    resolved onto its base, so the whole pack is stored) and the Pack."""
    from decisions.guidance.overlay import resolve_file

    data = resolve_file(path)
    try:
        return data, load_pack(data)
    except PackError as exc:
        raise PackError(f"{path.name}: {exc}") from exc


def load_pack(data: Any) -> Pack:
    """Build a Pack from parsed JSON, refusing anything the engine could not walk safely."""
    from decisions.guidance.checks import check_pack

    if not isinstance(data, dict):
        raise PackError("a pack must be a JSON object")
    for key in ("id", "version", "edition", "title", "start", "sources", "steps", "outcomes"):
        if key not in data:
            raise PackError(f"missing top-level key {key!r}")
    version = data["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise PackError("version must be a positive whole number")
    if not isinstance(data.get("superseded", False), bool):
        raise PackError("superseded must be true or false")
    sources = _sources(data["sources"])
    sections = _sections(data.get("sections"))
    pack_steps = steps(data["steps"], sources, {s.id for s in sections})
    pack_outcomes = outcomes(data["outcomes"], sources)
    clash = set(pack_steps) & (set(pack_outcomes) | {"end"})
    if clash:
        raise PackError(f"ids used for both a step and an outcome or 'end': {sorted(clash)}")
    pack = Pack(
        id=text(data, "id", "pack"),
        version=data["version"],
        edition=str(data["edition"]),
        title=text(data, "title", "pack"),
        summary=str(data.get("summary", "")),
        sources=sources,
        golden_rules=tuple(_golden_rules(data.get("golden_rules", []), sources)),
        start=str(data["start"]),
        steps=pack_steps,
        outcomes=pack_outcomes,
        sections=sections,
        superseded=data.get("superseded", False),
    )
    check_pack(pack)
    return pack


def _sources(raw: Any) -> dict[str, dict[str, str]]:
    if not isinstance(raw, dict) or not raw:
        raise PackError("sources must be a non-empty object")
    for key, source in raw.items():
        if not isinstance(source, dict) or source.get("file") not in KNOWN_SOURCE_FILES:
            raise PackError(f"source {key!r} does not name a known guidance file")
        text(source, "title", f"source {key!r}")
    return raw


def _sections(raw: Any) -> tuple[Section, ...]:
    if raw is None:
        return tuple(Section(*s) for s in LEGACY_SECTIONS)
    if not isinstance(raw, list) or not raw:
        raise PackError("sections must be a non-empty list")
    sections = tuple(Section(text(s, "id", "section"), text(s, "title", "section")) for s in raw)
    ids = [s.id for s in sections]
    if len(set(ids)) != len(ids):
        raise PackError("section ids repeat")
    return sections


def _golden_rules(raw: Any, sources: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    if not isinstance(raw, list):
        raise PackError("golden_rules must be a list")
    for rule in raw:
        where = f"golden rule {rule.get('number') if isinstance(rule, dict) else rule!r}"
        if not isinstance(rule, dict):
            raise PackError(f"{where}: must be an object")
        text(rule, "text", where)
        citations([rule.get("citation")], sources, where)
        yield rule
