"""OpenRaster (.ora) project files — the layered format Krita, GIMP and MyPaint read.

Layout written (per the OpenRaster 0.0.x spec)::

    mimetype                      "image/openraster", first member, stored uncompressed
    stack.xml                     <image w h version><stack><layer .../>... (topmost layer first)
    data/layer-<n>.png            one PNG per raster layer, cropped to its content (x, y offsets)
    mergedimage.png               the full-size composite
    Thumbnails/thumbnail.png      composite scaled to at most 256 px
    colorstudio/project.json      ColorStudio's own data: ids, hint layer, masks, references,
    colorstudio/hint.png          editor state. Other programs ignore this folder.
    colorstudio/masks/<id>.png
    colorstudio/references/<id>.png (+ <id>-mask.png)

Reading is defensive: member names that escape the archive, missing stack.xml, undecodable
layers, oversized members (zip bombs) and XML entity tricks each raise a ProjectFileError whose
message says what is wrong. A plain .ora from another program (groups, offsets) opens too.
"""

from __future__ import annotations

import io
import json
import logging
import os
import posixpath
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from colorstudio.core.compositing import composite
from colorstudio.core.document import Document, DocumentError
from colorstudio.core.io.atomic import atomic_write
from colorstudio.core.io.errors import FileFormatError, ProjectFileError
from colorstudio.core.io.images import DEFAULT_MAX_PIXELS, check_dimensions, decode_image
from colorstudio.core.layer import BlendMode, Layer, LayerKind, Reference, ReferenceRole

log = logging.getLogger(__name__)

MIMETYPE = b"image/openraster"
NS = "https://colorstudio.app/ns/ora/1"
ET.register_namespace("colorstudio", NS)
PROJECT_JSON = "colorstudio/project.json"
FORMAT_VERSION = 1

MAX_MEMBERS = 10_000
MAX_MEMBER_BYTES = 1 << 30  #: 1 GiB uncompressed for any one member
MAX_TOTAL_BYTES = 4 << 30  #: 4 GiB uncompressed for the whole archive
MAX_XML_BYTES = 16 << 20

_OPS = {
    BlendMode.NORMAL: "svg:src-over",
    BlendMode.MULTIPLY: "svg:multiply",
    BlendMode.SCREEN: "svg:screen",
    BlendMode.OVERLAY: "svg:overlay",
    BlendMode.COLOR: "svg:color",
    BlendMode.LUMINOSITY: "svg:luminosity",
}
_MODES = {op: mode for mode, op in _OPS.items()}


@dataclass
class LoadedProject:
    document: Document
    warnings: list[str] = field(default_factory=list)


# ====================================================================== writing
def _png_bytes(pixels: np.ndarray, mode: str, level: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels), mode).save(buffer, "PNG", compress_level=level)
    return buffer.getvalue()


def _content_box(pixels: np.ndarray) -> tuple[int, int, int, int] | None:
    """Box around every non-zero pixel (zeros outside it are restored exactly on load)."""
    nonzero = pixels.any(axis=2) if pixels.ndim == 3 else pixels != 0
    rows = np.flatnonzero(nonzero.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(nonzero.any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def _cropped(pixels: np.ndarray) -> tuple[np.ndarray, int, int]:
    box = _content_box(pixels)
    if box is None:
        return pixels[:1, :1], 0, 0
    return pixels[box[0] : box[2], box[1] : box[3]], box[1], box[0]


def save_ora(doc: Document, path: str | os.PathLike[str], compress_level: int = 3) -> None:
    """Write ``doc`` to ``path`` atomically (the previous file survives any failure)."""
    with atomic_write(path) as handle:
        write_ora(doc, handle, compress_level)


def write_ora(doc: Document, handle, compress_level: int = 3) -> None:
    """Write the OpenRaster archive into a seekable binary ``handle``."""
    with zipfile.ZipFile(handle, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), MIMETYPE, compress_type=zipfile.ZIP_STORED)
        image = ET.Element("image", {"version": "0.0.3", "w": str(doc.width), "h": str(doc.height)})
        stack = ET.SubElement(image, "stack")
        for index, layer in reversed(list(enumerate(doc.layers))):  # topmost first
            src = f"data/layer-{index:03d}.png"
            crop, x, y = _cropped(layer.pixels)
            zf.writestr(src, _png_bytes(crop, "RGBA", compress_level), zipfile.ZIP_STORED)
            ET.SubElement(
                stack,
                "layer",
                {
                    "name": layer.name,
                    "src": src,
                    "x": str(x),
                    "y": str(y),
                    "opacity": f"{layer.opacity:.6g}",
                    "visibility": "visible" if layer.visible else "hidden",
                    "composite-op": _OPS[layer.blend_mode],
                    f"{{{NS}}}id": layer.id,
                },
            )
        xml = ET.tostring(image, encoding="UTF-8", xml_declaration=True)
        zf.writestr("stack.xml", xml, zipfile.ZIP_DEFLATED)

        merged = composite(doc.layers, doc.height, doc.width)
        zf.writestr(
            "mergedimage.png", _png_bytes(merged, "RGBA", compress_level), zipfile.ZIP_STORED
        )
        thumb = Image.fromarray(merged, "RGBA")
        thumb.thumbnail((256, 256), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        thumb.save(buffer, "PNG")
        zf.writestr("Thumbnails/thumbnail.png", buffer.getvalue(), zipfile.ZIP_STORED)

        _write_colorstudio_part(doc, zf, compress_level)


def _write_colorstudio_part(doc: Document, zf: zipfile.ZipFile, level: int) -> None:
    crop, x, y = _cropped(doc.hint.pixels)
    zf.writestr("colorstudio/hint.png", _png_bytes(crop, "RGBA", level), zipfile.ZIP_STORED)
    masks = []
    for mask in doc.masks:
        src = f"colorstudio/masks/{mask.id}.png"
        mcrop, mx, my = _cropped(mask.pixels)
        zf.writestr(src, _png_bytes(mcrop, "L", level), zipfile.ZIP_STORED)
        masks.append(
            {
                "id": mask.id,
                "name": mask.name,
                "src": src,
                "x": mx,
                "y": my,
                "opacity": mask.opacity,
                "visible": mask.visible,
            }
        )
    references = []
    for ref in doc.references:
        src = f"colorstudio/references/{ref.id}.png"
        zf.writestr(src, _png_bytes(ref.image, "RGB", level), zipfile.ZIP_STORED)
        entry = {
            "id": ref.id,
            "name": ref.name,
            "src": src,
            "role": ref.role.value,
            "strength": ref.strength,
            "enabled": ref.enabled,
            "mask_src": None,
        }
        if ref.mask is not None:
            entry["mask_src"] = f"colorstudio/references/{ref.id}-mask.png"
            zf.writestr(entry["mask_src"], _png_bytes(ref.mask, "L", level), zipfile.ZIP_STORED)
        references.append(entry)
    project = {
        "format": "colorstudio-project",
        "format_version": FORMAT_VERSION,
        "hint": {
            "id": doc.hint.id,
            "name": doc.hint.name,
            "src": "colorstudio/hint.png",
            "x": x,
            "y": y,
            "opacity": doc.hint.opacity,
            "visible": doc.hint.visible,
        },
        "masks": masks,
        "references": references,
        "editor_state": doc.editor_state,
    }
    zf.writestr(PROJECT_JSON, json.dumps(project, indent=1), zipfile.ZIP_DEFLATED)


# ====================================================================== reading
class _Archive:
    """Bounded, name-checked access to the members of a zip."""

    def __init__(self, zf: zipfile.ZipFile, name: str) -> None:
        self.zf = zf
        self.name = name
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise ProjectFileError(f"{name} holds {len(infos):,} files, too many for a project")
        total = 0
        self.members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            _check_member_name(info.filename, name)
            if info.file_size > MAX_MEMBER_BYTES:
                raise ProjectFileError(
                    f"{name}: member {info.filename!r} would unpack to "
                    f"{info.file_size / 2**30:.1f} GiB — refusing (zip bomb?)"
                )
            total += info.file_size
            self.members[info.filename] = info
        if total > MAX_TOTAL_BYTES:
            raise ProjectFileError(
                f"{name} would unpack to {total / 2**30:.1f} GiB — refusing (zip bomb?)"
            )
        self._read_total = 0

    def has(self, member: str) -> bool:
        return member in self.members

    def read(self, member: str, limit: int = MAX_MEMBER_BYTES) -> bytes:
        _check_member_name(member, self.name)
        if member not in self.members:
            raise ProjectFileError(f"{self.name} is missing {member}")
        try:
            with self.zf.open(self.members[member]) as stream:
                data = stream.read(limit + 1)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
            # zlib errors surface as zipfile.BadZipFile / zlib.error (subclass of Exception)
            raise ProjectFileError(f"{self.name}: {member} is damaged ({err})") from None
        except Exception as err:  # zlib.error
            raise ProjectFileError(f"{self.name}: {member} is damaged ({err})") from None
        if len(data) > limit:
            raise ProjectFileError(f"{self.name}: {member} unpacks beyond its limit (zip bomb?)")
        self._read_total += len(data)
        if self._read_total > MAX_TOTAL_BYTES:
            raise ProjectFileError(f"{self.name} unpacks beyond {MAX_TOTAL_BYTES >> 30} GiB")
        return data


def _check_member_name(member: str, name: str) -> None:
    normal = posixpath.normpath(member.replace("\\", "/"))
    if (
        member.startswith(("/", "\\"))
        or "\\" in member
        or (len(member) > 1 and member[1] == ":")
        or normal == ".."
        or normal.startswith("../")
        or "\x00" in member
    ):
        raise ProjectFileError(
            f"{name} contains a file named {member!r} that points outside the project "
            f"(path traversal) — the file is unsafe and was not opened"
        )


def load_ora(path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedProject:
    """Read a project. Returns a *new* Document; nothing else is touched on failure."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ProjectFileError(f"{path.name}: file not found") from None
    if size == 0:
        raise ProjectFileError(f"{path.name} is empty (0 bytes)")
    try:
        with zipfile.ZipFile(path) as zf:
            return _read(_Archive(zf, path.name), max_pixels)
    except zipfile.BadZipFile:
        raise ProjectFileError(
            f"{path.name} is not an OpenRaster project (not a zip archive, or truncated)"
        ) from None
    except FileFormatError as err:
        if isinstance(err, ProjectFileError):
            raise
        raise ProjectFileError(f"{path.name}: {err}") from None


def _read(archive: _Archive, max_pixels: int) -> LoadedProject:
    name = archive.name
    warnings: list[str] = []
    if archive.has("mimetype"):
        mimetype = archive.read("mimetype", 256).strip()
        if mimetype != MIMETYPE:
            raise ProjectFileError(
                f"{name} is a {mimetype.decode(errors='replace')!r} file, not OpenRaster"
            )
    if not archive.has("stack.xml"):
        raise ProjectFileError(
            f"{name} has no stack.xml: it is not an OpenRaster project or it is damaged"
        )
    root = _parse_stack(archive.read("stack.xml", MAX_XML_BYTES), name)
    try:
        width, height = int(root.get("w", "")), int(root.get("h", ""))
    except ValueError:
        raise ProjectFileError(f"{name}: stack.xml has no valid image size (w, h)") from None
    if width <= 0 or height <= 0:
        raise ProjectFileError(f"{name}: the image size {width} x {height} is invalid")
    check_dimensions(width, height, max_pixels, name)
    try:
        doc = Document(width, height)
    except DocumentError as err:
        raise ProjectFileError(f"{name}: {err}") from None

    stack = root.find("stack")
    if stack is None:
        raise ProjectFileError(f"{name}: stack.xml has no <stack> element")
    entries: list[tuple[ET.Element, float, bool]] = []
    _flatten_stack(stack, 1.0, True, entries, warnings)
    for element, parent_opacity, parent_visible in reversed(entries):  # bottom first
        doc.layers.append(
            _read_layer(archive, element, doc, parent_opacity, parent_visible, warnings, max_pixels)
        )

    if archive.has(PROJECT_JSON):
        _read_colorstudio_part(archive, doc, warnings, max_pixels)
    return LoadedProject(doc, warnings)


def _parse_stack(xml: bytes, name: str) -> ET.Element:
    if b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:
        raise ProjectFileError(
            f"{name}: stack.xml declares entities, which projects never need — refusing"
        )
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as err:
        raise ProjectFileError(f"{name}: stack.xml is not valid XML ({err})") from None
    if root.tag != "image":
        raise ProjectFileError(f"{name}: stack.xml does not describe an image")
    return root


def _flatten_stack(stack, opacity, visible, out, warnings) -> None:
    """Collect <layer> elements top-first; nested <stack> groups are flattened."""
    for child in stack:
        if child.tag == "layer":
            out.append((child, opacity, visible))
        elif child.tag == "stack":
            if "flattened layer groups" not in warnings:
                warnings.append("flattened layer groups")
            group_opacity = _float(child.get("opacity"), 1.0)
            group_visible = child.get("visibility", "visible") != "hidden"
            _flatten_stack(child, opacity * group_opacity, visible and group_visible, out, warnings)


def _float(text: str | None, default: float) -> float:
    try:
        value = float(text) if text is not None else default
    except ValueError:
        return default
    return min(max(value, 0.0), 1.0) if np.isfinite(value) else default


def _int(text, default: int = 0) -> int:
    try:
        return int(float(text)) if text is not None else default
    except (ValueError, OverflowError):
        return default


def _decode_png(archive: _Archive, src: str, what: str, max_pixels: int) -> np.ndarray:
    data = archive.read(src)
    try:
        return decode_image(data, src, max_pixels).rgba
    except FileFormatError as err:
        raise ProjectFileError(
            f"{archive.name}: {what} ({src}) cannot be decoded — {err}"
        ) from None


def _place(canvas: np.ndarray, pixels: np.ndarray, x: int, y: int) -> None:
    """Paste ``pixels`` at (x, y) into ``canvas``, clipping what lies outside."""
    h, w = canvas.shape[:2]
    ph, pw = pixels.shape[:2]
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + pw, w), min(y + ph, h)
    if x1 > x0 and y1 > y0:
        canvas[y0:y1, x0:x1] = pixels[y0 - y : y1 - y, x0 - x : x1 - x]


def _read_layer(
    archive, element, doc, parent_opacity, parent_visible, warnings, max_pixels
) -> Layer:
    label = element.get("name") or "Layer"
    src = element.get("src")
    if not src:
        raise ProjectFileError(f"{archive.name}: layer {label!r} names no image file")
    rgba = _decode_png(archive, src, f"layer {label!r}", max_pixels)
    canvas = doc.blank_rgba()
    _place(canvas, rgba, _int(element.get("x")), _int(element.get("y")))
    op = element.get("composite-op", "svg:src-over")
    mode = _MODES.get(op)
    if mode is None:
        warnings.append(f"layer {label!r}: blend mode {op} is not supported, shown as normal")
        mode = BlendMode.NORMAL
    layer = Layer(
        label,
        canvas,
        opacity=_float(element.get("opacity"), 1.0) * parent_opacity,
        visible=element.get("visibility", "visible") != "hidden" and parent_visible,
        blend_mode=mode,
    )
    layer_id = element.get(f"{{{NS}}}id")
    if layer_id:
        layer.id = layer_id
    return layer


def _read_colorstudio_part(archive, doc: Document, warnings: list[str], max_pixels: int) -> None:
    try:
        project = json.loads(archive.read(PROJECT_JSON, MAX_XML_BYTES))
        if not isinstance(project, dict):
            raise ValueError("not an object")
    except (ValueError, UnicodeDecodeError) as err:
        raise ProjectFileError(
            f"{archive.name}: ColorStudio data (project.json) is damaged ({err})"
        ) from None
    if project.get("format_version", 0) > FORMAT_VERSION:
        warnings.append("saved by a newer ColorStudio: some settings may be ignored")
    try:
        hint = project.get("hint") or {}
        if hint.get("src"):
            rgba = _decode_png(archive, hint["src"], "the colour-hint layer", max_pixels)
            _place(doc.hint.pixels, rgba, _int(hint.get("x")), _int(hint.get("y")))
            doc.hint.id = str(hint.get("id") or doc.hint.id)
            doc.hint.visible = bool(hint.get("visible", True))
            doc.hint.opacity = _float(str(hint.get("opacity", 1.0)), 1.0)
        for entry in project.get("masks", []):
            rgba = _decode_png(archive, entry["src"], f"mask {entry.get('name')!r}", max_pixels)
            pixels = doc.blank_mask()
            _place(pixels, rgba[..., 0], _int(entry.get("x")), _int(entry.get("y")))
            mask = Layer(
                str(entry.get("name", "Mask")),
                pixels,
                kind=LayerKind.MASK,
                opacity=_float(str(entry.get("opacity", 1.0)), 1.0),
                visible=bool(entry.get("visible", True)),
            )
            mask.id = str(entry.get("id") or mask.id)
            doc.masks.append(mask)
        for entry in project.get("references", []):
            rgba = _decode_png(
                archive, entry["src"], f"reference {entry.get('name')!r}", max_pixels
            )
            ref_mask = None
            if entry.get("mask_src"):
                ref_mask = _decode_png(archive, entry["mask_src"], "a reference mask", max_pixels)[
                    ..., 0
                ]
                ref_mask = np.ascontiguousarray(ref_mask)
            ref = Reference(
                str(entry.get("name", "Reference")),
                np.ascontiguousarray(rgba[..., :3]),
                role=ReferenceRole(entry.get("role", "palette")),
                strength=_float(str(entry.get("strength", 1.0)), 1.0),
                mask=ref_mask,
                enabled=bool(entry.get("enabled", True)),
            )
            ref.id = str(entry.get("id") or ref.id)
            doc.references.append(ref)
        state = project.get("editor_state", {})
        doc.editor_state = state if isinstance(state, dict) else {}
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ProjectFileError(
            f"{archive.name}: ColorStudio data (project.json) is inconsistent ({err})"
        ) from None
