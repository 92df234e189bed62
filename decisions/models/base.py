"""Evidence rows: once written they can be neither changed nor deleted, one by one or in bulk.

The ORM guards here are the first line; on PostgreSQL, triggers on each table refuse UPDATE
and DELETE whatever the client.
"""

from __future__ import annotations

from typing import Any

from django.db import models


class AppendOnlyQuerySet(models.QuerySet):
    """Bulk update and delete refused too (AppendOnly only guards save() and delete())."""

    def update(self, **kwargs: Any) -> int:
        raise PermissionError(f"{self.model.__name__} rows are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError(f"{self.model.__name__} rows cannot be deleted")


class AppendOnly(models.Model):
    """A row that, once written, is evidence: it can be neither changed nor deleted."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise PermissionError(f"{type(self).__name__} rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError(f"{type(self).__name__} rows cannot be deleted")
