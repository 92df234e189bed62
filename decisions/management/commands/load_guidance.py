"""Load (or check) the guidance packs in fixtures/guidance/ into the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from decisions.guidance.schema import PackError
from decisions.guidance.store import pack_load_files


class Command(BaseCommand):
    help = "Validate and store the guidance packs; the newest edition becomes current."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="*", type=Path, help="pack files (default: all)")
        parser.add_argument("--check", action="store_true", help="validate only, store nothing")

    def handle(self, *args: Any, paths: list[Path], check: bool, **options: Any) -> None:
        files = paths or sorted(Path(settings.GUIDANCE_DIR).glob("*.json"))
        if not files:
            raise CommandError(f"No guidance packs found in {settings.GUIDANCE_DIR}")
        try:
            results = pack_load_files(files, store=not check)
        except PackError as exc:
            raise CommandError(f"Guidance pack refused: {exc}") from exc
        for line in results:
            self.stdout.write(line)
