"""Template filters for showing guidance citations by their sources' titles."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template

register = template.Library()


@register.filter
def source_title(sources: Mapping[str, Mapping[str, Any]], key: str) -> str:
    """The human title of a pack's source key (the key itself if the pack lacks it)."""
    source = sources.get(key) if sources else None
    return source["title"] if source else key
