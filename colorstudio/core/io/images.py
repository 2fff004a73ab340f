"""Image import and export.

Import: PNG, JPEG, TIFF (8/16 bit), WebP, BMP — an explicit allowlist, recognised by content
(never by the file's extension), so no other Pillow plugin ever runs: PostScript/EPS would start
Ghostscript, and GIF, ICO, TGA, PSD… are refused with a message naming what the file is. Modes
1, L, LA, P, RGB, RGBA, CMYK, I;16 (and other Pillow modes that convert cleanly). EXIF
orientation is applied, embedded ICC profiles are converted to sRGB, and everything becomes
H x W x 4 uint8 straight-alpha sRGB. Of an animated or multi-page file the first frame is used,
and the import says so.

Export: PNG, JPEG (quality), TIFF, WebP with an sRGB ICC profile and the source EXIF (orientation
reset to 1, since pixels are stored upright). Writes are atomic.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from colorstudio.core.compositing import flatten_on
from colorstudio.core.io.atomic import atomic_write_bytes
from colorstudio.core.io.errors import (
    FileFormatError,
    ImageTooLargeError,
    UnreadableImageError,
    UnsupportedImageError,
)

log = logging.getLogger(__name__)

DEFAULT_MAX_PIXELS = 150_000_000  #: about 150 MP: 600 MB per RGBA layer
MAX_SIDE = 32_768  #: the longest side the editor handles (Qt's raster painter limit)

EXPORT_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
}
IMPORT_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp")
#: Pillow's plugin ids of the formats we decode; "JPEG" includes its multi-picture variant MPO.
IMPORT_FORMATS = ("PNG", "JPEG", "TIFF", "WEBP", "BMP")
ACCEPTED = "PNG, JPEG, TIFF, WebP or BMP"

#: Leading bytes of formats we refuse, to name them in the message (never to decode them).
_REFUSED_SIGNATURES = (
    (b"GIF8", "a GIF image"),
    (b"%!PS", "a PostScript/EPS file"),
    (b"\xc5\xd0\xd3\xc6", "a PostScript/EPS file"),
    (b"%PDF", "a PDF document"),
    (b"\x00\x00\x01\x00", "an icon (ICO)"),
    (b"8BPS", "a Photoshop (PSD) file"),
    (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000 image"),
    (b"\xff\x4f\xff\x51", "a JPEG 2000 image"),
    (b"<?xml", "an XML/SVG file"),
    (b"<svg", "an SVG drawing"),
    (b"PK\x03\x04", "a zip archive, not an image"),
)

_ORIENTATION_TAG = 0x0112


@dataclass(frozen=True)
class ImportedImage:
    """A decoded image: ``rgba`` is H x W x 4 uint8 straight-alpha sRGB, upright."""

    rgba: np.ndarray
    exif: bytes | None
    source_format: str
    source_mode: str
    bits_per_channel: int
    converted_from_icc: bool
    #: what the user should know about the import (first frame of an animation…), one line each
    notes: tuple[str, ...] = ()

    @property
    def has_alpha(self) -> bool:
        return bool((self.rgba[..., 3] < 255).any())


def srgb_profile_bytes() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def check_dimensions(width: int, height: int, max_pixels: int, what: str) -> None:
    """Raise :class:`ImageTooLargeError` for images the editor cannot hold."""
    if width > MAX_SIDE or height > MAX_SIDE:
        raise ImageTooLargeError(
            f"{what} is {width:,} x {height:,} px; ColorStudio handles at most "
            f"{MAX_SIDE:,} px on a side. Scale it down in another program first."
        )
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"{what} has {width * height / 1e6:,.0f} megapixels, over the limit of "
            f"{max_pixels / 1e6:,.0f} MP (it may be a decompression bomb). The limit can be "
            f"raised in the editor (File ▸ Settings… ▸ Largest image) if the file is genuine."
        )


def load_image(path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS) -> ImportedImage:
    """Decode an image file. Raises a :class:`FileFormatError` subclass with a readable message."""
    path = Path(path)
    size = regular_file_size(path)
    if size > max_file_bytes(max_pixels):
        raise ImageTooLargeError(
            f"{path.name} is {size / 2**30:.1f} GiB, larger than any image within the limit of "
            f"{max_pixels / 1e6:,.0f} MP could be"
        )
    try:
        data = path.read_bytes()
    except MemoryError:
        raise ImageTooLargeError(f"{path.name} is too large to read into memory") from None
    except OSError as err:
        raise UnreadableImageError(f"{path.name} cannot be read: {err.strerror or err}") from None
    return decode_image(data, path.name, max_pixels)


def max_file_bytes(max_pixels: int) -> int:
    """The largest file an image within ``max_pixels`` can be: uncompressed 16-bit RGBA (TIFF,
    BMP) and a margin for metadata."""
    return 8 * max_pixels + (64 << 20)


def regular_file_size(path: Path) -> int:
    """The size of ``path``; an UnreadableImageError unless it is a regular file (a FIFO or a
    device would block or never end)."""
    try:
        status = path.stat()
    except FileNotFoundError:
        raise UnreadableImageError(f"{path.name}: file not found") from None
    except OSError as err:
        raise UnreadableImageError(f"{path.name} cannot be read: {err.strerror or err}") from None
    if stat.S_ISDIR(status.st_mode):
        raise UnreadableImageError(f"{path.name} is a folder, not an image")
    if not stat.S_ISREG(status.st_mode):
        raise UnreadableImageError(f"{path.name} is not a regular file (a pipe or a device?)")
    return status.st_size


def decode_image(data: bytes, name: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImportedImage:
    """Decode image bytes (see :func:`load_image`); ``name`` is used in messages.

    Pillow's decoders meet untrusted bytes here, and a damaged file can make them raise almost
    anything (TypeError, struct.error, IndexError…): every failure becomes one
    FileFormatError line; Pillow's warnings about damaged metadata go to the debug log."""
    if not data:
        raise UnreadableImageError(f"{name} is empty (0 bytes)")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            imported = _decode(data, name, max_pixels)
        for warning in caught:
            log.debug("%s: %s", name, warning.message)
        return imported
    except FileFormatError:
        raise
    except UnidentifiedImageError:
        raise _unrecognised(data, name) from None
    except Image.DecompressionBombError as err:
        raise _bomb_error(name, err) from None
    except MemoryError:
        raise ImageTooLargeError(f"{name} is too large to decode in the memory available") from None
    except Exception as err:
        detail = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        raise UnreadableImageError(f"{name} is truncated or damaged ({detail})") from None


def _decode(data: bytes, name: str, max_pixels: int) -> ImportedImage:
    im: Image.Image = Image.open(io.BytesIO(data), formats=IMPORT_FORMATS)
    check_dimensions(im.width, im.height, max_pixels, name)
    fmt = im.format or "unknown"
    mode = im.mode
    if fmt in ("JPEG", "MPO"):
        _check_scans(data, name)
    if mode == "I" and _tiff_bits(im) == 32:  # clipped at 16 bits it would come out white
        raise UnsupportedImageError(
            f"{name} holds 32-bit integers per pixel; export it as 8- or 16-bit first"
        )
    bits = _bits_per_channel(im, data)
    notes = _frame_notes(im)
    if bits == 16:
        notes = (*notes, "16 bits per channel, edited and saved at 8")
    im.load()
    try:
        im = ImageOps.exif_transpose(im) or im
    except Exception as err:  # malformed EXIF must not block opening the pixels
        log.warning("%s: ignoring unreadable EXIF orientation (%s)", name, err)
    exif = _exif_bytes(im)  # after the transpose: its orientation no longer applies
    icc = im.info.get("icc_profile")
    rgba, used_icc = _to_srgb_rgba(im, icc, name)
    return ImportedImage(rgba, exif, fmt, mode, bits, used_icc, notes)


def _unrecognised(data: bytes, name: str) -> UnsupportedImageError | UnreadableImageError:
    """The error for bytes no allowed decoder recognised: name the format when we know it."""
    head = data[:16].lstrip()
    if head.startswith(b"PK\x03\x04") and name.lower().endswith(".ora"):
        return UnsupportedImageError(
            f"{name} is a project (OpenRaster), not an image: open it with File ▸ Open, or "
            "export an image from it (File ▸ Export)"
        )
    for signature, what in _REFUSED_SIGNATURES:
        if head.startswith(signature):
            return UnsupportedImageError(
                f"{name} is {what}; ColorStudio opens {ACCEPTED} images only — "
                "convert it in another program first"
            )
    return UnreadableImageError(
        f"{name} is not an image ColorStudio can read ({ACCEPTED}), or it is damaged"
    )


#: a progressive JPEG has about ten scans; each scan is a pass over every pixel, so a file of
#: tens of thousands of tiny scans takes minutes to decode (libjpeg-turbo suggests 500 as a cap)
MAX_JPEG_SCANS = 500


def _check_scans(data: bytes, name: str) -> None:
    """UnreadableImageError for a JPEG with more than ``MAX_JPEG_SCANS`` scans, counted by
    walking its markers from the start of the image to its end (EOI): segments are skipped by
    their lengths, and inside a scan's coded data a FF byte is followed by 00 or a restart
    code, so the next marker is the first FF byte followed by anything else. Data after the
    image (a motion photo's video, an MPO's second picture) is not read."""
    scans, at, size = 0, 2, len(data)
    while at + 4 <= size and scans <= MAX_JPEG_SCANS:
        if data[at] != 0xFF:
            return  # not a marker where one should be: leave the damage to the decoder
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker == 0xD9:  # EOI
            return
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # no length
            at += 2
            continue
        at += 2 + int.from_bytes(data[at + 2 : at + 4], "big")
        if marker == 0xDA:  # a scan: its coded data runs to the next marker
            scans += 1
            while True:
                at = data.find(b"\xff", at)
                if at < 0 or at + 1 >= size:
                    return
                if data[at + 1] != 0x00 and not 0xD0 <= data[at + 1] <= 0xD7:
                    break
                at += 2
    if scans > MAX_JPEG_SCANS:
        raise UnreadableImageError(
            f"{name} is a JPEG of more than {MAX_JPEG_SCANS:,} scans (a photo has about ten): "
            "refused as damaged"
        )


def _frame_notes(im: Image.Image) -> tuple[str, ...]:
    """A note when only the first of several frames or pages is used (MPO's second picture
    is a camera preview, not worth a note). A TIFF's pages are not counted: Pillow walks the
    page list from the start for each page, so a file of 200,000 pages took minutes."""
    if im.format == "MPO" or not getattr(im, "is_animated", False):
        return ()
    if im.format == "TIFF":
        return ("it holds several pages; only the first is used",)
    frames = int(getattr(im, "n_frames", 1) or 1)
    return (f"it holds {frames} frames; only the first is used",)


def _bits_per_channel(im: Image.Image, data: bytes) -> int:
    """Bits per channel of the file ``im`` was opened from (Pillow decodes 16-bit RGB PNG and
    TIFF to 8-bit modes): the PNG header's bit depth, TIFF's BitsPerSample tag."""
    depth = 16 if im.mode.startswith("I;16") or im.mode == "I" else 8
    if im.format == "PNG" and len(data) > 24 and data[12:16] == b"IHDR":
        depth = int(data[24])  # IHDR: width, height, then the bit depth
    elif im.format == "TIFF":
        from PIL import TiffImagePlugin  # imported already: Pillow opened the file with it

        with contextlib.suppress(Exception):  # one value or one per channel
            bits = im.tag_v2.get(258) if isinstance(im, TiffImagePlugin.TiffImageFile) else None
            if bits is not None:  # without the tag, the depth read from the mode stands
                depth = int(max(bits) if isinstance(bits, tuple) else bits)
    return 16 if depth == 16 else 8


def _bomb_error(name: str, err: Exception) -> ImageTooLargeError:
    """Pillow refused before we saw the size: say how large it claims to be."""
    match = re.search(r"\((\d+) pixels\)", str(err))
    size = f" claims {int(match.group(1)) / 1e6:,.0f} megapixels and" if match else ""
    return ImageTooLargeError(
        f"{name}{size} is far too large to open safely (it may be a decompression bomb)"
    )


def _exif_bytes(im: Image.Image) -> bytes | None:
    try:
        exif = im.getexif()
    except Exception:
        return None
    if not exif:
        return None
    if _ORIENTATION_TAG in exif:
        exif[_ORIENTATION_TAG] = 1
    try:
        return exif.tobytes()
    except Exception:
        return None


def _sixteen_to_eight(values: np.ndarray) -> np.ndarray:
    """0..65535 → 0..255, rounded."""
    v = np.clip(values.astype(np.int64), 0, 65535)
    return ((v * 255 + 32767) // 65535).astype(np.uint8)


def _tiff_bits(im: Image.Image) -> int | None:
    """A TIFF's bits per sample (its first channel's), else None."""
    tags = getattr(im, "tag_v2", None)
    bits = tags.get(258) if tags is not None else None
    if isinstance(bits, tuple):
        bits = bits[0] if bits else None
    return bits if isinstance(bits, int) else None


def _to_srgb_rgba(im: Image.Image, icc: bytes | None, name: str) -> tuple[np.ndarray, bool]:
    mode = im.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        values = np.asarray(im)
        if mode == "I" and values.max(initial=0) <= 255 and im.format not in ("PNG", "TIFF"):
            grey = values.astype(np.uint8)
        else:
            grey = _sixteen_to_eight(values)
        im = Image.fromarray(grey, "L")
        mode = "L"
    elif mode == "F":
        raise UnsupportedImageError(
            f"{name} holds floating-point data (mode F); export it as 8- or 16-bit first"
        )
    elif mode == "1":
        im = im.convert("L")
        mode = "L"
    elif mode in ("P", "PA"):
        im = im.convert("RGBA")
        mode = "RGBA"
        icc = None  # palette images carry the profile of the palette, already applied
    elif mode not in ("L", "LA", "RGB", "RGBA", "CMYK"):
        try:
            im = im.convert("RGBA")
        except (ValueError, OSError) as err:
            raise UnsupportedImageError(
                f"{name}: image mode {mode} is not supported ({err})"
            ) from None
        mode = "RGBA"

    used_icc = False
    if icc:
        try:
            im = _profile_to_srgb(im, ImageCms.ImageCmsProfile(io.BytesIO(icc)))
            used_icc = True
        except (ImageCms.PyCMSError, OSError, ValueError) as err:
            log.warning("%s: embedded colour profile ignored (%s)", name, err)
    # np.array (not asarray): a writable copy, since layers are painted in place.
    rgba = np.array(im.convert("RGBA"), dtype=np.uint8)
    return rgba, used_icc


_PROFILE_MODES = {"GRAY": "L", "RGB": "RGB", "CMYK": "CMYK"}


def _profile_to_srgb(im: Image.Image, profile: ImageCms.ImageCmsProfile) -> Image.Image:
    """Convert ``im`` from its embedded ``profile`` to sRGB (RGB or RGBA, alpha kept). The
    pixels are first put in the profile's own colour space, so a greyscale image tagged with
    an RGB profile (common) converts instead of failing."""
    space = str(profile.profile.xcolor_space).strip()
    if space not in _PROFILE_MODES:
        raise ValueError(f"a {space} profile")
    alpha = im.getchannel("A") if im.mode in ("LA", "RGBA") else None
    source = im.convert(_PROFILE_MODES[space]) if im.mode != _PROFILE_MODES[space] else im
    rgb = ImageCms.profileToProfile(
        source, profile, ImageCms.createProfile("sRGB"), outputMode="RGB"
    )
    assert rgb is not None  # None only when converting in place
    if alpha is None:
        return rgb
    rgb = rgb.convert("RGBA")
    rgb.putalpha(alpha)
    return rgb


def export_format(path: str | os.PathLike[str]) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise UnsupportedImageError(
            f"cannot export to {suffix or 'a file without extension'}: "
            "use .png, .jpg, .tif or .webp"
        )
    return EXPORT_FORMATS[suffix]


#: the largest side each export format can hold (the formats' own limits)
MAX_EXPORT_SIDE = {"WEBP": 16383, "JPEG": 65500}
#: the largest EXIF block a JPEG can carry (one APP1 segment)
MAX_JPEG_EXIF = 65533


def export_size_problem(fmt: str, width: int, height: int) -> str | None:
    """Why an image of ``width`` x ``height`` cannot be written as ``fmt``, or None."""
    limit = MAX_EXPORT_SIDE.get(fmt)
    if limit is not None and max(width, height) > limit:
        name = {"WEBP": "WebP"}.get(fmt, fmt)
        return (
            f"{name} holds at most {limit:,} px a side and this image is {width:,} x {height:,}: "
            "export as .png or .tif"
        )
    return None


def encode_image(
    rgba: np.ndarray,
    fmt: str,
    *,
    quality: int = 92,
    exif: bytes | None = None,
) -> bytes:
    """Encode H x W x 4 uint8 RGBA as PNG/JPEG/TIFF/WEBP bytes with an sRGB ICC profile, or an
    H x W uint8 array (a mask) as a greyscale image without one (an RGB profile does not
    describe grey pixels)."""
    if rgba.ndim == 2:
        buffer = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(rgba), "L").save(buffer, fmt)
        return buffer.getvalue()
    problem = export_size_problem(fmt, rgba.shape[1], rgba.shape[0])
    if problem:
        raise UnsupportedImageError(problem)
    has_alpha = bool((rgba[..., 3] < 255).any())
    if fmt == "JPEG" or not has_alpha:
        pixels = flatten_on(rgba) if has_alpha else rgba[..., :3]
        im = Image.fromarray(np.ascontiguousarray(pixels), "RGB")
    else:
        im = Image.fromarray(np.ascontiguousarray(rgba), "RGBA")
    options: dict[str, object] = {"icc_profile": srgb_profile_bytes()}
    if exif and fmt == "JPEG" and len(exif) > MAX_JPEG_EXIF:
        log.warning("the photo's EXIF (%d bytes) is too long for a JPEG: not kept", len(exif))
    elif exif:
        options["exif"] = exif
    if fmt == "JPEG":
        # No optimize=True: Pillow sizes its buffer from the pixel count and noisy images at
        # high quality overflow it ("Suspension not allowed here"); it saves only ~5 %.
        options.update(quality=int(quality), subsampling=0 if quality >= 90 else 2)
    elif fmt == "WEBP":
        options.update(quality=int(quality), lossless=quality >= 100, method=4)
    elif fmt == "TIFF":
        options.update(compression="tiff_lzw")
    elif fmt == "PNG":
        options.update(compress_level=6)
    buffer = io.BytesIO()
    try:
        im.save(buffer, fmt, **options)
    except (ValueError, OSError) as err:  # an encoder's own limit, said in its words
        raise UnsupportedImageError(f"the {fmt} encoder refused the image: {err}") from None
    return buffer.getvalue()


def save_image(
    path: str | os.PathLike[str],
    rgba: np.ndarray,
    *,
    quality: int = 92,
    exif: bytes | None = None,
) -> None:
    """Export RGBA (or a grey H x W mask) to ``path`` (format from the extension), atomically."""
    data = encode_image(rgba, export_format(path), quality=quality, exif=exif)
    atomic_write_bytes(path, data)
