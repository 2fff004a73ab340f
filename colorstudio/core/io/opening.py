"""Open any file the editor accepts — an image or an OpenRaster project — told apart by content.

Qt-free so the editor can run it on a background thread and the CLI and tests can call it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from colorstudio.core.document import Document
from colorstudio.core.io.errors import ProjectFileError, UnreadableImageError
from colorstudio.core.io.images import DEFAULT_MAX_PIXELS, load_image, regular_file_size
from colorstudio.core.io.ora import load_ora

_ZIP_SIGNATURE = b"PK\x03\x04"


@dataclass
class OpenedFile:
    """A new document made from a file; ``project_path`` is set for projects (save goes there),
    ``exif`` for images (kept on export); ``notes`` are what the user should be told."""

    document: Document
    project_path: Path | None = None
    exif: bytes | None = None
    notes: list[str] = field(default_factory=list)


def open_file(path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS) -> OpenedFile:
    """Read ``path`` into a new Document. Raises a FileFormatError subclass (one line)."""
    path = Path(path)
    regular_file_size(path)  # a FIFO would block the open below
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
    except OSError as err:
        raise UnreadableImageError(f"{path.name} cannot be read: {err.strerror or err}") from None
    if head == _ZIP_SIGNATURE:
        loaded = load_ora(path, max_pixels)
        return OpenedFile(loaded.document, project_path=path, notes=list(loaded.warnings))
    try:
        imported = load_image(path, max_pixels)
    except UnreadableImageError:
        if path.suffix.lower() == ".ora":  # the more helpful message for a damaged project
            raise ProjectFileError(
                f"{path.name} is not an OpenRaster project (not a zip archive, or damaged)"
            ) from None
        raise
    document = Document.from_rgba(imported.rgba, name=path.stem or "Background")
    return OpenedFile(document, exif=imported.exif, notes=list(imported.notes))
