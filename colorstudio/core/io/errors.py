"""Readable errors for bad files. Every message says what is wrong in words a person understands."""

from __future__ import annotations


class FileFormatError(Exception):
    """Base class: a file could not be read or written. ``str(err)`` is shown to the user."""


class UnreadableImageError(FileFormatError):
    """Empty, truncated, corrupt or not an image at all."""


class UnsupportedImageError(FileFormatError):
    """An image mode or format ColorStudio does not handle."""


class ImageTooLargeError(FileFormatError):
    """Over the pixel budget (a decompression bomb) or wider/taller than the editor can hold."""


class ProjectFileError(FileFormatError):
    """A broken or hostile OpenRaster project file."""
