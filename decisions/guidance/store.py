"""Storing guidance packs: each version kept, unchanged, for the decisions that used it,
and which one is current (offered for new decisions)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from django.db import transaction

from decisions.audit import AuditAction, record_event
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
        return [f"ok   {path.name}: {pack.title} (v{pack.version})" for path, _, pack in parsed]
    newest: GuidancePack | None = None
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
        lines.append(
            f"{'kept' if existing else 'new '} {path.name}: {pack.title} (v{pack.version})"
        )
        if newest is None or (stored.edition, stored.version) > (newest.edition, newest.version):
            newest = stored
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


class NoGuidancePack(Exception):
    """No pack is current: new decisions cannot start until one is loaded."""

    def __init__(self) -> None:
        super().__init__(
            "No guidance pack is loaded. Ask your administrator to run 'manage.py load_guidance'."
        )


def current_pack_or_none() -> GuidancePack | None:
    return GuidancePack.objects.filter(is_current=True).order_by("-loaded_at").first()


def current_pack() -> GuidancePack:
    """The pack offered for new decisions; NoGuidancePack if none is loaded."""
    pack = current_pack_or_none()
    if pack is None:
        raise NoGuidancePack()
    return pack
