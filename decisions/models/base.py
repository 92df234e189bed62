"""Evidence rows: once written they can be neither changed nor deleted, one by one or in bulk.

The ORM guards here are the first line; on PostgreSQL, triggers on each table refuse UPDATE
and DELETE whatever the client. Neither stops a session that may bypass triggers (any session
can set `pgtrigger.ignore`; a table owner can disable them): the application's database role
has no UPDATE or DELETE privilege on these tables at all (docs/security-database.md).
"""

from __future__ import annotations

from typing import Any

import pgtrigger
from django.db import models


def refuse_update_and_delete() -> pgtrigger.Protect:
    """The trigger that refuses UPDATE and DELETE of an evidence row (PostgreSQL)."""
    return pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete)


def refuse_truncate() -> pgtrigger.Trigger:
    """The trigger that refuses TRUNCATE, which row triggers never see (PostgreSQL)."""
    return pgtrigger.Trigger(
        name="no_truncate",
        level=pgtrigger.Statement,
        when=pgtrigger.Before,
        operation=pgtrigger.Truncate,
        func="RAISE EXCEPTION 'pgtrigger: Cannot truncate % table', TG_TABLE_NAME;",
    )


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
