"""Guidance packs as stored: each version kept for ever, so a decision can show what it saw."""

from __future__ import annotations

from django.db import models

from decisions.guidance.engine import Pack
from decisions.guidance.schema import load_pack


class GuidancePack(models.Model):
    pack_id = models.SlugField(max_length=80)
    version = models.PositiveIntegerField()
    edition = models.CharField(max_length=20)
    title = models.CharField(max_length=200)
    digest = models.CharField(max_length=64, help_text="SHA-256 of the canonical JSON")
    data = models.JSONField()
    is_current = models.BooleanField(
        default=False, help_text="Offered for new decisions (one current pack at a time)."
    )
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_current", "pack_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["pack_id", "version"], name="unique_pack_version"),
        ]

    def __str__(self) -> str:
        return f"{self.title} (v{self.version})"

    @property
    def pack(self) -> Pack:
        # Stored packs never change, so parse each version once per process.
        if self.digest not in _parsed:
            _parsed[self.digest] = load_pack(self.data)
        return _parsed[self.digest]


_parsed: dict[str, Pack] = {}
