"""OpenRaster (.ora) project files — the layered format Krita, GIMP and MyPaint read.

Layout written (per the OpenRaster 0.0.x spec)::

    mimetype                      "image/openraster", first member, stored uncompressed
    stack.xml                     <image w h version><stack><layer .../>... (topmost layer first)
    data/layer-<n>.png            one PNG per raster layer, cropped to its content (x, y offsets)
    mergedimage.png               the full-size composite
    Thumbnails/thumbnail.png      composite scaled to at most 256 px
    colorstudio/project.json      ColorStudio's own data: ids, hint layer, masks, references,
    colorstudio/hint.png          editor state. Other programs ignore this folder.
    colorstudio/masks/mask-<n>.png
    colorstudio/references/reference-<n>.png (+ reference-<n>-mask.png)

Member names are numbered, never made from names or ids. Names and ids may be any Unicode
string: stack.xml holds the text XML can hold and, where that differs, the exact string as an
escaped JSON literal in a ``colorstudio:name-exact`` / ``id-exact`` attribute; project.json
escapes everything. Every save is verified (:func:`~colorstudio.core.io.ora_read.verify_ora`)
before it replaces the previous file. Reading is defensive: see :mod:`ora_read`.
"""

from __future__ import annotations

import io
import json
import logging
import os
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from colorstudio.core.compositing import composite
from colorstudio.core.document import Document, DocumentError, Node
from colorstudio.core.io.atomic import atomic_write
from colorstudio.core.io.errors import FileFormatError, ProjectFileError
from colorstudio.core.io.fields import exact_json, to_json_text, xml_safe
from colorstudio.core.io.images import DEFAULT_MAX_PIXELS, decode_image
from colorstudio.core.io.ora_read import (
    FORMAT_VERSION,
    MIMETYPE,
    NS,
    PROJECT_JSON,
    Archive,
    ImageMember,
    NodePlan,
    ProjectPlan,
    check_budget,
    open_archive,
    read_plan,
    verify_ora,
)
from colorstudio.core.layer import (
    BlendMode,
    Layer,
    LayerKind,
    MaskRole,
    Reference,
    ReferenceRole,
    new_id,
)

__all__ = ["NS", "LoadedProject", "load_ora", "save_ora", "verify_ora", "write_ora"]

log = logging.getLogger(__name__)

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
    # numpy's stubs type any(axis=...) as a scalar or an array: they do not know the shape
    nonzero: np.ndarray = pixels.any(axis=2) if pixels.ndim == 3 else pixels != 0  # type: ignore[assignment]
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
    """Write ``doc`` to ``path`` atomically and verified: the written file is re-read
    (:func:`verify_ora`) and compared with ``doc`` before it replaces the previous one. On any
    failure the previous file is untouched and the error propagates (OSError for the disk,
    ProjectFileError when the written file does not read back)."""

    def verify(written: Path) -> None:
        # the structure only: the user's work is saved even past the limits for opening files
        plan = verify_ora(written, max_pixels=1 << 62, budget=1 << 62)
        _check_matches(plan, doc, Path(path).name)

    with atomic_write(path, verify=verify) as handle:
        write_ora(doc, handle, compress_level)


def _check_matches(plan: ProjectPlan, doc: Document, name: str) -> None:
    """What was read back names the same nodes, in the same order, as ``doc``."""
    written = [(n.id, n.name) for n in (*plan.layers, *plan.masks, *plan.references)]
    nodes: tuple[Node, ...] = (*doc.layers, *doc.masks, *doc.references)
    expected = [(n.id, n.name) for n in nodes]
    hint = plan.hint is not None and (plan.hint.id, plan.hint.name) == (doc.hint.id, doc.hint.name)
    if written != expected or not hint or (plan.width, plan.height) != (doc.width, doc.height):
        raise ProjectFileError(f"{name}: the written file does not read back as the document")


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
            element = ET.SubElement(
                stack,
                "layer",
                {
                    "name": xml_safe(layer.name),
                    "src": src,
                    "x": str(x),
                    "y": str(y),
                    "opacity": f"{layer.opacity:.6g}",
                    "visibility": "visible" if layer.visible else "hidden",
                    "composite-op": _OPS[layer.blend_mode],
                    f"{{{NS}}}id": xml_safe(layer.id),
                },
            )
            for attribute, text in (("name-exact", layer.name), ("id-exact", layer.id)):
                exact = exact_json(text)
                if exact is not None:
                    element.set(f"{{{NS}}}{attribute}", exact)
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
    for index, mask in enumerate(doc.masks):
        src = f"colorstudio/masks/mask-{index:03d}.png"
        mcrop, mx, my = _cropped(mask.pixels)
        zf.writestr(src, _png_bytes(mcrop, "L", level), zipfile.ZIP_STORED)
        masks.append(
            {
                "id": to_json_text(mask.id),
                "name": to_json_text(mask.name),
                "src": src,
                "x": mx,
                "y": my,
                "opacity": mask.opacity,
                "visible": mask.visible,
                "role": mask.role.value,
            }
        )
    references = []
    for index, ref in enumerate(doc.references):
        src = f"colorstudio/references/reference-{index:03d}.png"
        zf.writestr(src, _png_bytes(ref.image, "RGB", level), zipfile.ZIP_STORED)
        entry = {
            "id": to_json_text(ref.id),
            "name": to_json_text(ref.name),
            "src": src,
            "role": ref.role.value,
            "strength": ref.strength,
            "enabled": ref.enabled,
            "mask_src": None,
        }
        if ref.mask is not None:
            mask_src = f"colorstudio/references/reference-{index:03d}-mask.png"
            entry["mask_src"] = mask_src
            zf.writestr(mask_src, _png_bytes(ref.mask, "L", level), zipfile.ZIP_STORED)
        references.append(entry)
    project = {
        "format": "colorstudio-project",
        "format_version": FORMAT_VERSION,
        "hint": {
            "id": to_json_text(doc.hint.id),
            "name": to_json_text(doc.hint.name),
            "src": "colorstudio/hint.png",
            "x": x,
            "y": y,
            "opacity": doc.hint.opacity,
            "visible": doc.hint.visible,
        },
        "masks": masks,
        "references": references,
        "editor_state": {
            key: to_json_text(value) if isinstance(value, str) else value
            for key, value in doc.editor_state.items()
        },
    }
    zf.writestr(PROJECT_JSON, json.dumps(project, indent=1), zipfile.ZIP_DEFLATED)


# ====================================================================== reading
def load_ora(path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedProject:
    """Read a project. Returns a *new* Document; nothing else is touched on failure, and every
    failure is one ProjectFileError (see :mod:`ora_read` for the limits)."""
    zf, name = open_archive(path)
    try:
        with zf:
            archive = Archive(zf, name)
            plan = read_plan(archive, max_pixels)
            limits = check_budget(archive, plan, max_pixels)
            return _build(archive, plan, limits, max_pixels)
    except ProjectFileError:
        raise
    except FileFormatError as err:  # an image's limits: say which file, once
        message = str(err)
        message = message if message.startswith(name) else f"{name}: {message}"
        raise ProjectFileError(message) from None
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise ProjectFileError(f"{name} is damaged ({err})") from None


def _pixels(archive: Archive, member: ImageMember, limits: dict[str, int], max_px: int):
    data = archive.read(member.src, limits[member.src])
    try:
        return decode_image(data, member.src, max_px).rgba
    except FileFormatError as err:
        raise ProjectFileError(
            f"{archive.name}: {member.what} ({member.src}) cannot be decoded — {err}"
        ) from None


def _place(canvas: np.ndarray, pixels: np.ndarray, x: int, y: int) -> None:
    """Paste ``pixels`` at (x, y) into ``canvas``, clipping what lies outside."""
    h, w = canvas.shape[:2]
    ph, pw = pixels.shape[:2]
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + pw, w), min(y + ph, h)
    if x1 > x0 and y1 > y0:
        canvas[y0:y1, x0:x1] = pixels[y0 - y : y1 - y, x0 - x : x1 - x]


def _build(archive: Archive, plan: ProjectPlan, limits: dict[str, int], max_px: int):
    """Step 3: decode every image into a new Document."""
    try:
        doc = Document(plan.width, plan.height)
    except DocumentError as err:
        raise ProjectFileError(f"{archive.name}: {err}") from None
    warnings = list(plan.warnings)

    def placed(node: NodePlan, blank: np.ndarray) -> np.ndarray:
        rgba = _pixels(archive, node.image, limits, max_px)
        _place(blank, rgba if blank.ndim == 3 else rgba[..., 0], node.image.x, node.image.y)
        return blank

    for node in plan.layers:
        mode = _MODES.get(node.blend_op)
        if mode is None:
            warnings.append(f"layer {node.name!r}: blend mode {node.blend_op} is not supported")
        layer = Layer(node.name, placed(node, doc.blank_rgba()), opacity=node.opacity,
                      visible=node.visible, blend_mode=mode or BlendMode.NORMAL)  # fmt: skip
        doc.layers.append(_with_id(layer, node))
    if plan.hint is not None:
        placed(plan.hint, doc.hint.pixels)
        doc.hint.opacity, doc.hint.visible = plan.hint.opacity, plan.hint.visible
        _with_id(doc.hint, plan.hint)
    for node in plan.masks:
        pixels = placed(node, doc.blank_mask())
        mask = Layer(node.name, pixels, kind=LayerKind.MASK, opacity=node.opacity,
                     visible=node.visible, role=MaskRole(node.role))  # fmt: skip
        doc.masks.append(_with_id(mask, node))
    for node in plan.references:
        rgb = np.ascontiguousarray(_pixels(archive, node.image, limits, max_px)[..., :3])
        ref_mask = None
        if node.mask is not None:
            ref_mask = np.ascontiguousarray(_pixels(archive, node.mask, limits, max_px)[..., 0])
            if ref_mask.shape != rgb.shape[:2]:
                raise ProjectFileError(f"{archive.name}: {node.mask.what} differs in size")
        ref = Reference(node.name, rgb, ReferenceRole(node.role), node.strength, ref_mask,
                        node.visible)  # fmt: skip
        doc.references.append(_with_id(ref, node))
    if _renumber_duplicate_ids(doc):
        warnings.append("duplicate layer ids were renumbered")
    doc.editor_state = dict(plan.editor_state)
    return LoadedProject(doc, warnings)


def _with_id(node, plan: NodePlan):
    if plan.id:
        node.id = plan.id
    return node


def _renumber_duplicate_ids(doc: Document) -> bool:
    """Give every node after the first with an id a new id (a crafted file's duplicates)."""
    seen: set[str] = set()
    renumbered = False
    nodes: tuple[Node, ...] = (doc.hint, *doc.layers, *doc.masks, *doc.references)
    for node in nodes:
        if node.id in seen:
            node.id = new_id()
            renumbered = True
        seen.add(node.id)
    return renumbered
