"""Load (or check, or compare) the guidance editions in fixtures/guidance/.

Each edition file there is an overlay on the base flowchart in fixtures/guidance/base/; it
is resolved into the whole pack before it is validated and stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from decisions.guidance.overlay import pack_diff, resolve_file
from decisions.guidance.schema import PackError
from decisions.guidance.store import pack_load_files


class Command(BaseCommand):
    help = (
        "Validate and store the guidance editions; the newest edition that is not superseded "
        "becomes current. --diff OLD NEW prints what changed between two editions."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="*", type=Path, help="edition files (default: all)")
        parser.add_argument("--check", action="store_true", help="validate only, store nothing")
        parser.add_argument(
            "--diff",
            nargs=2,
            metavar=("OLD", "NEW"),
            help="compare two editions: an edition (2018), a pack id or a file",
        )

    def handle(
        self, *args: Any, paths: list[Path], check: bool, diff: list[str] | None, **options: Any
    ) -> None:
        if diff:
            self._diff(*diff)
            return
        files = paths or edition_files()
        if not files:
            raise CommandError(f"No guidance packs found in {settings.GUIDANCE_DIR}")
        try:
            results = pack_load_files(files, store=not check)
        except PackError as exc:
            raise CommandError(f"Guidance pack refused: {exc}") from exc
        for line in results:
            self.stdout.write(line)

    def _diff(self, old: str, new: str) -> None:
        try:
            lines = pack_diff(resolve_file(find_edition(old)), resolve_file(find_edition(new)))
        except PackError as exc:
            raise CommandError(f"Guidance pack refused: {exc}") from exc
        for line in lines:
            self.stdout.write(line)


def edition_files() -> list[Path]:
    return sorted(Path(settings.GUIDANCE_DIR).glob("*.json"))


def find_edition(name: str) -> Path:
    """An edition file by path, by pack id (key-questions-2024) or by edition (2024)."""
    path = Path(name)
    if path.suffix == ".json" and path.is_file():
        return path
    for candidate in edition_files():
        data = resolve_file(candidate)
        if name in (str(data.get("edition")), data.get("id"), candidate.stem):
            return candidate
    raise CommandError(f"No guidance edition {name!r} in {settings.GUIDANCE_DIR}")
