"""From the document to a frozen request, and from a result back to an undoable edit.

Qt-free. The GUI copies what a job needs (the composite, hints, mask, strength map, references)
into a request; the worker never touches the live document. A result comes back as a
PatchEdit on the active layer, or a new layer holding it (one undo step either way).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

from colorstudio.core.compositing import composite, flatten_on
from colorstudio.core.document import Document
from colorstudio.core.edits import CompoundEdit, Edit, InsertNode, PatchEdit
from colorstudio.core.layer import MaskRole, ReferenceRole
from colorstudio.ml.requests import (
    AdjustRequest,
    ColorizeRequest,
    DetectDamageRequest,
    RecolourRequest,
    ReferenceImage,
    RestoreRequest,
    Result,
    StylizeRequest,
    SuggestRequest,
)


class Mode(str, Enum):
    COLOURIZE = "Colourize"
    RECOLOUR = "Recolour region (local edit)"
    STYLIZE = "Stylize"
    COLOURIZE_STYLIZE = "Colourize + stylize"
    ADJUST = "Adjust colour"
    RESTORE = "Repair damage (fill the mask)"


DAMAGE_MASK_NAME = "Damage (detected)"

#: How engines are named to people (results carry the engine's id).
ENGINE_NAMES = {
    "gan": "GAN",
    "levin": "Levin",
    "reinhard": "Reinhard",
    "adjust": "Adjust",
    "inpainter": "GAN inpainter",
}


def engine_name(engine: str) -> str:
    """The engine as the user reads it: "GAN", "Levin"…"""
    return ENGINE_NAMES.get(engine, engine.replace("_", " ").capitalize())


PREVIEW_MAX_SIDE = 800  #: previews are computed at most this large, shown scaled (Apply: full size)


class RequestError(Exception):
    """What the user must do before generating (shown in the banner)."""


@dataclass
class GenerateSettings:
    mode: Mode = Mode.COLOURIZE
    engine: str = "auto"
    strength: float = 1.0
    only_in_mask: bool = False
    working_size: int = 256
    live_preview: bool = True
    as_new_layer: bool = True
    alpha: float = 1.0
    detail: float = 1.0  #: stylize: how much of the photo's fine detail to keep
    keep_colour: bool = False
    hue: float = 0.0
    saturation: float = 1.0
    lightness: float = 0.0
    provenance: bool = False
    sensitivity: float = 0.5  #: damage detection: higher finds fainter damage


def document_rgb(doc: Document) -> np.ndarray:
    """The visible image as H x W x 3 uint8 (transparent parts over white)."""
    rgba = composite(doc.layers, doc.height, doc.width)
    return flatten_on(rgba) if (rgba[..., 3] < 255).any() else np.ascontiguousarray(rgba[..., :3])


def _references(doc: Document, role: ReferenceRole) -> tuple[ReferenceImage, ...]:
    return tuple(
        ReferenceImage(ref.image, role.value, ref.strength, ref.mask)
        for ref in doc.references
        if ref.enabled and ref.role is role
    )


class CompositeCache:
    """The document's flattened RGB (and its preview-size copy), recomputed only when raster
    layers change — hint and mask strokes, the common case while previewing, reuse it. Keeps
    the GUI thread from compositing a 24 MP image for every preview."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self._full: np.ndarray | None = None
        self._small: dict[tuple[int, int], np.ndarray] = {}
        doc.events.pixels_changed.connect(self._on_pixels_changed)
        doc.events.structure_changed.connect(self.invalidate)
        doc.events.properties_changed.connect(self._on_properties_changed)

    def invalidate(self, *_args) -> None:
        self._full = None
        self._small.clear()

    def _on_pixels_changed(self, target_id: str, _bbox) -> None:
        if any(layer.id == target_id for layer in self.doc.layers):
            self.invalidate()

    def _on_properties_changed(self, target_id: str) -> None:
        self._on_pixels_changed(target_id, None)

    def full(self) -> np.ndarray:
        if self._full is None:
            self._full = document_rgb(self.doc)
        return self._full

    def at(self, size: tuple[int, int] | None) -> np.ndarray:
        if size is None:
            return self.full()
        if size not in self._small:
            self._small[size] = _shrink(self.full(), size)
        return self._small[size]


def _shrink(array: np.ndarray | None, size: tuple[int, int] | None) -> np.ndarray | None:
    """Box-average ``array`` to ``size`` (width, height); RGBA is averaged premultiplied so a
    thin hint stroke keeps its colour (and stays marked as hinted)."""
    if array is None or size is None:
        return array
    from PIL import Image

    if array.ndim == 3 and array.shape[2] == 4:
        small = (
            Image.fromarray(np.ascontiguousarray(array), "RGBA")
            .convert("RGBa")
            .resize(size, Image.Resampling.BOX)
        )
        return np.asarray(small.convert("RGBA"))
    return np.asarray(
        Image.fromarray(np.ascontiguousarray(array)).resize(size, Image.Resampling.BOX)
    )


def preview_size(doc: Document, max_side: int = PREVIEW_MAX_SIDE) -> tuple[int, int] | None:
    """(width, height) for previews of a large document; None when it is small enough."""
    longest = max(doc.width, doc.height)
    if longest <= max_side:
        return None
    scale = max_side / longest
    return max(1, round(doc.width * scale)), max(1, round(doc.height * scale))


def build_request(
    doc: Document,
    settings: GenerateSettings,
    active_mask_id: str | None,
    request_id: int,
    preview: bool,
    image: np.ndarray | None = None,
    cache: CompositeCache | None = None,
):
    """A frozen request for the current document and settings (raises RequestError).

    Previews of large documents are computed on a downscaled copy (long side at most
    PREVIEW_MAX_SIDE) and shown scaled; Apply always runs at full resolution.
    """
    size = preview_size(doc) if preview else None
    if image is not None:
        image = _shrink(image, size)
    elif cache is not None:
        image = cache.at(size)
    else:
        image = _shrink(document_rgb(doc), size)
    mask = None
    masks = {m.id: m for m in doc.masks if m.role is MaskRole.SELECTION}
    if settings.mode is Mode.RESTORE:
        if active_mask_id not in masks or not masks[active_mask_id].pixels.any():
            raise RequestError(
                "mark the damage first: Detect damage, or paint it with the mask brush"
            )
        return RestoreRequest(
            image,
            _shrink(masks[active_mask_id].pixels, size),
            request_id=request_id,
            preview=preview,
        )
    if settings.only_in_mask or settings.mode is Mode.RECOLOUR:
        if active_mask_id not in masks:
            raise RequestError(
                "paint a mask first (mask brush, or a selection) to limit the change to it"
            )
        mask = _shrink(masks[active_mask_id].pixels, size)
    strength = next(
        (m.pixels for m in doc.masks if m.role is MaskRole.STRENGTH and m.visible), None
    )
    strength_map = _shrink(strength, size)
    has_hints = doc.hint.visible and bool(doc.hint.pixels[..., 3].any())
    hints = _shrink(doc.hint.pixels, size) if has_hints else None
    common = dict(
        mask=mask,
        strength=settings.strength,
        strength_map=strength_map,
        request_id=request_id,
        preview=preview,
    )
    if settings.mode in (Mode.COLOURIZE, Mode.RECOLOUR):
        kind = RecolourRequest if settings.mode is Mode.RECOLOUR else ColorizeRequest
        return kind(
            image,
            hints=hints,
            references=_references(doc, ReferenceRole.PALETTE),
            working_size=settings.working_size,
            engine=settings.engine,
            provenance=settings.provenance and preview,
            **common,
        )
    if settings.mode in (Mode.STYLIZE, Mode.COLOURIZE_STYLIZE):
        styles = _references(doc, ReferenceRole.STYLE)
        if not styles:
            raise RequestError("add a painting as a style reference first (References panel)")
        size = min(512, settings.working_size * 2) if preview else 1024
        return StylizeRequest(
            image,
            style=styles[0],
            alpha=settings.alpha * styles[0].strength,
            detail=settings.detail,
            keep_colour=settings.keep_colour,
            colorize_first=settings.mode is Mode.COLOURIZE_STYLIZE,
            hints=hints,
            working_size=size,
            **common,
        )
    return AdjustRequest(
        image,
        hue=settings.hue,
        saturation=settings.saturation,
        lightness=settings.lightness,
        **common,
    )


def build_detect_request(
    doc: Document, sensitivity: float, request_id: int, cache: CompositeCache | None = None
) -> DetectDamageRequest:
    """Find damage in the visible image at full resolution (the mask must fit the document)."""
    image = cache.full() if cache is not None else document_rgb(doc)
    return DetectDamageRequest(image, sensitivity=sensitivity, request_id=request_id)


def damage_mask_edit(doc: Document, mask: np.ndarray) -> tuple[Edit, str]:
    """The undoable edit adding a detected damage mask as an ordinary mask (and its id)."""
    node = doc.new_mask(DAMAGE_MASK_NAME, np.array(mask, np.uint8))
    return InsertNode("masks", len(doc.masks), node, "Detect damage"), node.id


def result_edit(
    doc: Document, result: Result, active_layer_id: str | None, as_new_layer: bool
) -> Edit | None:
    """The undoable edit that puts a result on the canvas (not yet applied)."""
    y0, x0, y1, x1 = result.bbox
    if y1 <= y0 or x1 <= x0:
        return None
    new_rgb = result.image[y0:y1, x0:x1, :3]
    label = f"Generate ({engine_name(result.engine)})"
    if as_new_layer:
        layer = doc.new_layer(f"{engine_name(result.engine)} result")
        before = document_rgb(doc)[y0:y1, x0:x1]
        changed = (new_rgb != before).any(axis=2)
        layer.pixels[y0:y1, x0:x1, :3] = new_rgb
        layer.pixels[y0:y1, x0:x1, 3] = np.where(changed, 255, 0)
        index = next(
            (i + 1 for i, lay in enumerate(doc.layers) if lay.id == active_layer_id),
            len(doc.layers),
        )
        return CompoundEdit((InsertNode("layers", index, layer, label),), label)
    layer = next((lay for lay in doc.layers if lay.id == active_layer_id), None)
    if layer is None:
        return None
    before = layer.pixels[y0:y1, x0:x1]
    after = before.copy()
    after[..., :3] = new_rgb
    after[..., 3] = np.maximum(
        before[..., 3], np.where((new_rgb != before[..., :3]).any(axis=2), 255, 0)
    )
    return PatchEdit.from_arrays(layer.id, (y0, x0, y1, x1), before, after, label)


def build_suggest_request(
    doc: Document, x: int, y: int, request_id: int, cache: CompositeCache | None = None
) -> SuggestRequest:
    """Ask for the colours the model finds likely at (x, y), given the other hints."""
    hints = doc.hint.pixels.copy()
    hints[max(0, y - 12) : y + 13, max(0, x - 12) : x + 13] = 0  # not the stroke being placed
    size = preview_size(doc)
    image = cache.at(size) if cache is not None else _shrink(document_rgb(doc), size)
    hints = _shrink(hints, size)
    if size is not None:
        x, y = x * size[0] // doc.width, y * size[1] // doc.height
    return SuggestRequest(
        image,
        x=x,
        y=y,
        hints=hints if hints[..., 3].any() else None,
        references=_references(doc, ReferenceRole.PALETTE),
        request_id=request_id,
    )
