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
        """The parsed pack, from this process's cache by digest; `data` is read only on a miss.

        Safe because a stored pack never changes: the digest is the SHA-256 of its content and
        loading different content under an existing version is refused, so the same digest
        always means the same pack. Read decisions with `GuidancePack.objects.defer("data")`
        (or `defer("pack__data")`) and the 60 kB JSON column is fetched (one query) and parsed
        at most once per process per pack, not on every request.
        """
        parsed = _parsed.get(self.digest)
        if parsed is None:
            parsed = _parsed[self.digest] = load_pack(self.data)  # a deferred `data`: one query
        return parsed


# Parsed packs by digest, for the life of the process (a handful of versions, never evicted).
_parsed: dict[str, Pack] = {}
