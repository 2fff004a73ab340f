"""From the document to a frozen request, and from a result back to an undoable edit.

Qt-free. The GUI copies what a job needs (the composite, hints, mask, strength map, references)
into a request; the worker never touches the live document. A result comes back as a
PatchEdit on the active layer, or a new layer holding it (one undo step either way).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TypedDict

import numpy as np

from colorstudio.core.document import Document
from colorstudio.core.edits import CompoundEdit, Edit, InsertNode, PatchEdit, SetProperties
from colorstudio.core.geometry import fit_long_side
from colorstudio.core.layer import MaskRole, ReferenceRole
from colorstudio.core.masks import bbox_of
from colorstudio.ml.requests import (
    STYLE_DETAIL,
    STYLE_WORKING_SIZE,
    AdjustRequest,
    ColorizeRequest,
    DetectDamageRequest,
    RecolorRequest,
    ReferenceImage,
    RestoreRequest,
    Result,
    StylizeRequest,
    SuggestRequest,
)
from colorstudio.session.preview_cache import CompositeCache, shrink


class Mode(str, Enum):
    COLORIZE = "Colourize"
    RECOLOR = "Recolour region (local edit)"
    STYLIZE = "Stylize"
    COLORIZE_STYLIZE = "Colourize + stylize"
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
    "adain": "Style transfer",
    "colourize+adain": "Colourize + style transfer",
}


def engine_name(engine: str) -> str:
    """The engine as the user reads it: "GAN", "Levin"…"""
    return ENGINE_NAMES.get(engine, engine.replace("_", " ").capitalize())


PREVIEW_MAX_SIDE = 800  #: previews are computed at most this large, shown scaled (Apply: full size)


class RequestError(Exception):
    """What the user must do before generating (shown in the banner)."""


class _CommonFields(TypedDict):
    """The fields that colourize, recolour, stylize and adjust requests share."""

    mask: np.ndarray | None
    strength: float
    strength_map: np.ndarray | None
    request_id: int
    preview: bool


@dataclass
class GenerateSettings:
    mode: Mode = Mode.COLORIZE
    engine: str = "auto"
    hint_reach: str = "object"  #: see ColorizeRequest.hint_reach
    strength: float = 1.0
    only_in_mask: bool = False
    working_size: int = 256  #: colourize and recolour
    style_working_size: int = STYLE_WORKING_SIZE  #: stylize, preview and Apply alike
    live_preview: bool = True
    as_new_layer: bool = True
    alpha: float = 1.0
    detail: float = STYLE_DETAIL  #: stylize: how much of the photo's own structure to keep
    keep_color: bool = False
    hue: float = 0.0
    saturation: float = 1.0
    lightness: float = 0.0
    provenance: bool = False
    sensitivity: float = 0.5  #: damage detection: higher finds fainter damage


def _references(doc: Document, role: ReferenceRole) -> tuple[ReferenceImage, ...]:
    return tuple(
        ReferenceImage(ref.image, role.value, ref.strength, ref.mask)
        for ref in doc.references
        if ref.enabled and ref.role is role
    )


def preview_size(doc: Document, max_side: int = PREVIEW_MAX_SIDE) -> tuple[int, int] | None:
    """(width, height) for previews of a large document; None when it is small enough."""
    if max(doc.width, doc.height) <= max_side:
        return None
    h, w = fit_long_side(doc.height, doc.width, max_side)
    return w, h


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
    styling = settings.mode in (Mode.STYLIZE, Mode.COLORIZE_STYLIZE)
    # a style preview is never smaller than its working size: on a smaller copy the brushwork
    # would be drawn at that copy's size, larger than Apply draws it
    largest = max(PREVIEW_MAX_SIDE, settings.style_working_size) if styling else PREVIEW_MAX_SIDE
    size = preview_size(doc, largest) if preview else None
    cache = cache or CompositeCache(doc, listen=False)
    image = shrink(image, size) if image is not None else cache.at(size)
    mask = None
    masks = {m.id: m for m in doc.masks if m.role is MaskRole.SELECTION}
    if settings.mode is Mode.RESTORE:
        if active_mask_id not in masks or not masks[active_mask_id].pixels.any():
            raise RequestError(
                "mark the damage first: Detect damage, or paint it with the mask brush"
            )
        return RestoreRequest(
            image,
            cache.node(active_mask_id, size),
            request_id=request_id,
            preview=preview,
        )
    if settings.only_in_mask or settings.mode is Mode.RECOLOR:
        if active_mask_id not in masks:
            raise RequestError(
                "paint a mask first (mask brush, or a selection) to limit the change to it"
            )
        mask = cache.node(active_mask_id, size)
    strength = next((m for m in doc.masks if m.role is MaskRole.STRENGTH and m.visible), None)
    strength_map = None if strength is None else cache.node(strength.id, size)
    hints = cache.node(doc.hint.id, size) if doc.hint.visible else None
    if hints is not None and not hints[..., 3].any():
        hints = None
    common = _CommonFields(
        mask=mask,
        strength=settings.strength,
        strength_map=strength_map,
        request_id=request_id,
        preview=preview,
    )
    if settings.mode in (Mode.COLORIZE, Mode.RECOLOR):
        kind = RecolorRequest if settings.mode is Mode.RECOLOR else ColorizeRequest
        return kind(
            image,
            hints=hints,
            references=_references(doc, ReferenceRole.PALETTE),
            working_size=settings.working_size,
            engine=settings.engine,
            provenance=settings.provenance and preview,
            hint_reach=settings.hint_reach,  # (a recolour keeps to its mask anyway)
            **common,
        )
    if styling:
        styles = _references(doc, ReferenceRole.STYLE)
        if not styles:
            raise RequestError("add a painting as a style reference first (References panel)")
        return StylizeRequest(
            image,
            style=styles[0],
            alpha=settings.alpha * styles[0].strength,
            detail=settings.detail,
            keep_color=settings.keep_color,
            colorize_first=settings.mode is Mode.COLORIZE_STYLIZE,
            hints=hints,
            working_size=settings.style_working_size,
            hint_reach=settings.hint_reach,
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
    image = (cache or CompositeCache(doc, listen=False)).full()
    return DetectDamageRequest(image, sensitivity=sensitivity, request_id=request_id)


def damage_mask_edit(
    doc: Document, mask: np.ndarray, active_mask_id: str | None = None
) -> tuple[Edit | None, str]:
    """The undoable edit that puts a detected damage mask into the document as an ordinary
    mask, and the mask's id. Detecting again (another sensitivity) replaces what an earlier
    detection's mask holds — the active one if it is one, refinements included — in one
    undoable step, and shows it if it was hidden, rather than adding a second mask of the same
    name; None when nothing would change."""
    found = np.array(mask, np.uint8)
    earlier = [
        m
        for m in doc.masks
        if m.name == DAMAGE_MASK_NAME
        and m.role is MaskRole.SELECTION
        and m.pixels.shape == found.shape
    ]
    if not earlier:
        node = doc.new_mask(DAMAGE_MASK_NAME, found)
        return InsertNode("masks", len(doc.masks), node, "Detect damage"), node.id
    target = next((m for m in earlier if m.id == active_mask_id), earlier[-1])
    edits: list[Edit] = []
    box = bbox_of(target.pixels != found, found.shape)
    if box is not None:
        y0, x0, y1, x1 = box
        before = target.pixels[y0:y1, x0:x1].copy()
        patch = PatchEdit.from_arrays(target.id, box, before, found[y0:y1, x0:x1], "")
        edits += [patch] if patch is not None else []
    if not target.visible:  # what was found must be seen
        edits.append(SetProperties.of(doc, target.id, "", visible=True))
    if not edits:
        return None, target.id
    return CompoundEdit(tuple(edits), "Detect damage"), target.id


def result_edit(
    doc: Document, result: Result, active_layer_id: str | None, as_new_layer: bool
) -> Edit | None:
    """The undoable edit that puts a result on the canvas (not yet applied)."""
    y0, x0, y1, x1 = result.bbox
    if y1 <= y0 or x1 <= x0:
        return None
    new_rgb = result.patch[..., :3]
    label = f"Generate ({engine_name(result.engine)})"
    if as_new_layer:  # the new layer holds what the job changed, found on the worker
        layer = doc.new_layer(f"{engine_name(result.engine)} result")
        changed = result.changed
        layer.pixels[y0:y1, x0:x1, :3] = new_rgb
        layer.pixels[y0:y1, x0:x1, 3] = np.where(changed, 255, 0)
        index = next(
            (i + 1 for i, lay in enumerate(doc.layers) if lay.id == active_layer_id),
            len(doc.layers),
        )
        return CompoundEdit((InsertNode("layers", index, layer, label),), label)
    target = next((lay for lay in doc.layers if lay.id == active_layer_id), None)
    if target is None:
        return None
    before = target.pixels[y0:y1, x0:x1]
    after = before.copy()
    after[..., :3] = new_rgb
    after[..., 3] = np.maximum(
        before[..., 3], np.where((new_rgb != before[..., :3]).any(axis=2), 255, 0)
    )
    return PatchEdit.from_arrays(target.id, (y0, x0, y1, x1), before, after, label)


def build_suggest_request(
    doc: Document, x: int, y: int, request_id: int, cache: CompositeCache | None = None
) -> SuggestRequest:
    """Ask for the colours the model finds likely at (x, y), given the other hints."""
    hints = doc.hint.pixels.copy()
    hints[max(0, y - 12) : y + 13, max(0, x - 12) : x + 13] = 0  # not the stroke being placed
    size = preview_size(doc)
    image = (cache or CompositeCache(doc, listen=False)).at(size)
    hints = shrink(hints, size)
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
