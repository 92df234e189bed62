"""Where finished export files are kept, and opening one for its download.

Export files are kept through a Django storage backend (export_storage), so every web node
and worker sees the same files: a local folder by default (settings.ISG_EXPORTS_DIR, which
the nodes must then share), or the backend named by settings.STORAGES["exports"]: S3-compatible
object storage through django-storages (ISG_EXPORTS_S3_BUCKET, docs/scaling.md). Nothing here
assumes a local path, and a file is named by its export's id only (no personal data).

Export files hold personal data (or partnership figures), so they are private to the ISG
process: the local folder is 0700 and each file is created 0600, never readable by other users
of the server (PrivateFileSystemStorage); a bucket must be private, and ISG never hands out an
object's URL: every download streams through the download view, after its checks.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages

from decisions.models import Export

logger = logging.getLogger(__name__)


class ExportFileUnavailable(Exception):
    """The storage holding an export's file could not be reached or read just now."""


def exports_dir() -> Path:
    """The local exports folder (the default storage): outside static and media URLs, never
    served directly."""
    return Path(settings.ISG_EXPORTS_DIR)


class PrivateFileSystemStorage(FileSystemStorage):
    """The local exports folder: 0700, each file created 0600 without following a planted
    link, written under a ".part" name and renamed, so no reader sees half a file."""

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        return name  # named by the export's id: a rebuilt export replaces its own file

    def _save(self, name: str, content: File) -> str:
        folder = private_folder(Path(self.location))
        partial = folder / f"{name}.part"
        try:
            with create_private(partial) as handle:
                for chunk in content.chunks():
                    handle.write(chunk)
            os.replace(partial, folder / name)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return name


def export_storage() -> Storage:
    """Where finished exports are kept: STORAGES["exports"] when configured (object storage
    shared by every node), otherwise the private local folder ISG_EXPORTS_DIR."""
    if "exports" in settings.STORAGES:
        return storages["exports"]
    return PrivateFileSystemStorage(location=exports_dir())


class StoredFile:
    """An export's file in a storage without local paths, with the few methods of a Path
    that readers of export_path() use (is_file, open, read_bytes, read_text, unlink)."""

    def __init__(self, storage: Storage, name: str) -> None:
        self.storage, self.name = storage, name

    def is_file(self) -> bool:
        return bool(self.name) and self.storage.exists(self.name)

    exists = is_file

    def open(self, mode: str = "rb") -> IO[bytes]:
        return self.storage.open(self.name, mode)

    def read_bytes(self) -> bytes:
        with self.open("rb") as handle:
            return handle.read()

    def read_text(self, encoding: str = "utf-8") -> str:
        return self.read_bytes().decode(encoding)

    def unlink(self, missing_ok: bool = False) -> None:
        self.storage.delete(self.name)


def export_path(export: Export) -> Path | StoredFile:
    """An export's file: a Path in the local folder, or a StoredFile in object storage."""
    storage = export_storage()
    if isinstance(storage, FileSystemStorage):
        return Path(storage.path(export.file_name))
    return StoredFile(storage, export.file_name)


def export_file_open(export: Export) -> IO[bytes] | None:
    """A ready export's file opened for its download; None when there is no file to send.

    Raises ExportFileUnavailable when the storage fails (a bucket that does not answer, a
    refused request): the download page says so instead of failing with a 500.
    """
    if not export.is_ready or not export.file_name:
        return None
    try:
        place = export_path(export)
        if not place.is_file():
            return None
        handle = place.open("rb")
        try:
            # Object storage fetches the object on first use (django-storages' S3File, into
            # a spooled temporary file): do that here, where a failure can still be shown as
            # a message, rather than half-way through the response.
            handle.seek(0, os.SEEK_END)
            handle.seek(0)
        except BaseException:
            handle.close()
            raise
    except Exception as exc:
        # Whatever the backend raises (botocore's errors are not OSErrors); the export's id
        # and the error's type only: a message can quote an endpoint, bucket or key.
        logger.warning("export %s: file not readable: %s", export.public_id, type(exc).__name__)
        raise ExportFileUnavailable from exc
    return handle


def private_folder(folder: Path | None = None) -> Path:
    """The exports folder, created 0700 (mkdir's mode is masked by the umask, so set again)."""
    folder = folder or exports_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        folder.chmod(0o700)
    except PermissionError:
        # A folder made by someone else (an operator); say so rather than fail every export.
        logger.warning("cannot make the exports folder private (0700): %s", folder)
    return folder


def create_private(path: Path) -> IO[bytes]:
    """A new file only its owner can read (0600), refusing to follow a planted link."""
    path.unlink(missing_ok=True)  # a partial file left by a worker that stopped
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    return os.fdopen(os.open(path, flags, 0o600), "wb")
