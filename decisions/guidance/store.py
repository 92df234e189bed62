"""Storing guidance packs: each version kept, unchanged, for the decisions that used it,
and which one is current (offered for new decisions). A superseded edition (one that states
repealed law) is stored for reading old records but is never made current."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from django.db import transaction

from decisions.audit import AuditAction, record_event
from decisions.guidance.model import Pack
from decisions.guidance.schema import PackError, pack_digest, read_pack_file
from decisions.models import GuidancePack, User


@transaction.atomic
def pack_load_files(
    files: Iterable[Path], *, store: bool = True, actor: User | None = None
) -> list[str]:
    """Validate every file first; store none unless all are good. Returns lines to report."""
    parsed = [(path, *read_pack_file(path)) for path in files]
    lines: list[str] = []
    if not store:
        return [f"ok   {path.name}: {_describe(pack)}" for path, _, pack in parsed]
    for path, data, pack in parsed:
        digest = pack_digest(data)
        existing = GuidancePack.objects.filter(pack_id=pack.id, version=pack.version).first()
        if existing and existing.digest != digest:
            raise PackError(
                f"{path.name}: {pack.id} v{pack.version} is already stored with different "
                "content. Stored packs are evidence and never change: raise 'version'."
            )
        stored = existing or GuidancePack.objects.create(
            pack_id=pack.id,
            version=pack.version,
            edition=pack.edition,
            title=pack.title,
            digest=digest,
            data=data,
        )
        if not existing:
            record_event(
                AuditAction.PACK_LOADED,
                actor=actor,
                obj=stored,
                actor_email="system",
                details={"pack": pack.id, "version": pack.version},
            )
        lines.append(f"{'kept' if existing else 'new '} {path.name}: {_describe(pack)}")
    # Of everything stored, so that loading an old version (to read old records) never
    # demotes the current edition.
    candidates = [p for p in GuidancePack.objects.all() if not is_superseded(p)]
    newest = max(candidates, key=lambda p: (p.edition, p.version), default=None)
    if newest is not None and not newest.is_current:
        GuidancePack.objects.filter(is_current=True).update(is_current=False)
        GuidancePack.objects.filter(pk=newest.pk).update(is_current=True)
        record_event(
            AuditAction.PACK_MADE_CURRENT,
            actor=actor,
            obj=newest,
            actor_email="system",
            details={"pack": newest.pack_id, "version": newest.version},
        )
        lines.append(f"current: {newest.title} (v{newest.version})")
    return lines


def _describe(pack: Pack) -> str:
    return f"{pack.title} (v{pack.version}){' [superseded]' if pack.superseded else ''}"


def is_superseded(stored: GuidancePack) -> bool:
    return bool(isinstance(stored.data, dict) and stored.data.get("superseded") is True)


class NoGuidancePack(Exception):
    """No pack is current: new decisions cannot start until one is loaded."""

    def __init__(self) -> None:
        super().__init__(
            "No guidance pack is loaded. Ask your administrator to run 'manage.py load_guidance'."
        )


def current_pack_or_none() -> GuidancePack | None:
    """The newest current pack that is not superseded, or None."""
    for stored in GuidancePack.objects.filter(is_current=True).order_by("-loaded_at"):
        if not is_superseded(stored):
            return stored
    return None


def superseded_only_pack() -> GuidancePack | None:
    """The newest stored edition when every stored edition is superseded (the wizard shows a
    notice: that edition states repealed law); None when a current edition exists."""
    stored = list(GuidancePack.objects.all())
    if not stored or not all(is_superseded(p) for p in stored):
        return None
    return max(stored, key=lambda p: (p.edition, p.version))


def current_pack() -> GuidancePack:
    """The pack offered for new decisions; NoGuidancePack if none is loaded."""
    pack = current_pack_or_none()
    if pack is None:
        raise NoGuidancePack()
    return pack
