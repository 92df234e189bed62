"""Check that requirements.lock (pinned, with hashes) still satisfies pyproject.toml.

`make` installs from the lock file with `pip --require-hashes`, so a dependency added to or
narrowed in pyproject.toml without `make lock` would be silently missing or wrong: this fails
instead, naming each requirement the lock does not satisfy.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)")


def pins(lock: Path) -> dict[str, str]:
    found = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            found[canonicalize_name(match[1])] = match[2]
    return found


def requirements(pyproject: Path) -> list[Requirement]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    listed = project["dependencies"] + project.get("optional-dependencies", {}).get("dev", [])
    return [Requirement(text) for text in listed]


def problems(pyproject: Path, lock: Path) -> list[str]:
    pinned = pins(lock)
    found = []
    for requirement in requirements(pyproject):
        version = pinned.get(canonicalize_name(requirement.name))
        if version is None:
            found.append(f"{requirement}: not in {lock.name}")
        elif not requirement.specifier.contains(version, prereleases=True):
            found.append(f"{requirement}: {lock.name} pins {version}")
    return found


def main() -> int:
    found = problems(ROOT / "pyproject.toml", ROOT / "requirements.lock")
    for problem in found:
        print(f"lock: {problem}", file=sys.stderr)
    if found:
        print("lock: run `make lock` to update requirements.lock", file=sys.stderr)
        return 1
    print("lock: requirements.lock satisfies pyproject.toml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
