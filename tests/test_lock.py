"""The lock file that `make` installs from (with hashes) must satisfy pyproject.toml."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from django.conf import settings

SCRIPT = Path(settings.BASE_DIR) / "scripts" / "check_lock.py"
spec = importlib.util.spec_from_file_location("check_lock", SCRIPT)
check_lock = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_lock)

PYPROJECT = """
[project]
name = "x"
dependencies = ["Django>=5.2.19,<5.3"]
[project.optional-dependencies]
dev = ["pytest>=8"]
"""


def test_the_shipped_lock_satisfies_pyproject():
    root = Path(settings.BASE_DIR)
    assert check_lock.problems(root / "pyproject.toml", root / "requirements.lock") == []


def test_every_pin_in_the_lock_carries_a_hash():
    lines = (Path(settings.BASE_DIR) / "requirements.lock").read_text().splitlines()
    pinned = [i for i, line in enumerate(lines) if check_lock.PIN.match(line)]
    assert len(pinned) > 50
    assert all("--hash=sha256:" in lines[i + 1] for i in pinned)


def test_a_pin_outside_the_range_is_reported(tmp_path):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "requirements.lock").write_text(
        "django==5.2.3 \\\n    --hash=sha256:ab\npytest==9.0.0\n"
    )
    assert check_lock.problems(tmp_path / "pyproject.toml", tmp_path / "requirements.lock") == [
        "Django<5.3,>=5.2.19: requirements.lock pins 5.2.3"
    ]


def test_a_dependency_missing_from_the_lock_is_reported(tmp_path):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "requirements.lock").write_text("django==5.2.19\n")
    assert check_lock.problems(tmp_path / "pyproject.toml", tmp_path / "requirements.lock") == [
        "pytest>=8: not in requirements.lock"
    ]
