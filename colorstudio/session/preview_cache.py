"""Preview-size copies of the document, kept current region by region on the GUI thread.

A preview request needs the photo, the hint layer and the masks at the preview's size. Making
them from the full-size arrays on every stroke cost the GUI thread about 230 ms per preview on
a 24 MP photo (the hint layer alone: premultiply and box-average 96 MB). :class:`CompositeCache`
keeps the flattened photo (recomputed when a raster layer changes — not for hint or mask
strokes, the common case while previewing) and a preview-size mirror of each hint/mask layer
that a stroke updates only where it painted: the cost follows the stroke, not the photo.
"""

from __future__ import annotations

import math
from typing import overload

import numpy as np
from PIL import Image

from colorstudio.core.compositing import composite, flatten_on
from colorstudio.core.document import Document
from colorstudio.core.geometry import BBox

Size = tuple[int, int]  #: (width, height)


def opaque_rgb(rgba: np.ndarray) -> np.ndarray:
    """H x W x 4 uint8 RGBA → H x W x 3 uint8, transparent parts over white."""
    return flatten_on(rgba) if (rgba[..., 3] < 255).any() else np.ascontiguousarray(rgba[..., :3])


def document_rgb(doc: Document) -> np.ndarray:
    """The visible image as H x W x 3 uint8 (transparent parts over white)."""
    return opaque_rgb(composite(doc.layers, doc.height, doc.width))


@overload
def shrink(array: np.ndarray, size: Size | None, box=None) -> np.ndarray: ...
@overload
def shrink(array: None, size: Size | None, box=None) -> None: ...
def shrink(array: np.ndarray | None, size: Size | None, box=None) -> np.ndarray | None:
    """Box-average ``array`` (H x W, H x W x 3 or H x W x 4 uint8) to ``size`` (width,
    height); ``box`` (left, top, right, bottom, floats) shrinks only that source region to
    ``size``. RGBA is averaged premultiplied so a thin hint stroke keeps its colour (and stays
    marked as hinted). None or no size: the array itself."""
    if array is None or size is None:
        return array
    image = Image.fromarray(np.ascontiguousarray(array))
    if array.ndim == 3 and array.shape[2] == 4:
        small = image.convert("RGBa").resize(size, Image.Resampling.BOX, box=box)
        return np.asarray(small.convert("RGBA"))
    return np.asarray(image.resize(size, Image.Resampling.BOX, box=box))


class CompositeCache:
    """The document at full and at preview size; hint and mask layers at preview size."""

    def __init__(self, doc: Document, listen: bool = True) -> None:
        """``listen=False``: a one-off view for a single request (no listeners, nothing kept
        current; dropped with the request)."""
        self.doc = doc
        self._listening = listen
        self._rgba: np.ndarray | None = None
        self._full: np.ndarray | None = None
        self._small: dict[Size, np.ndarray] = {}
        self._mirrors: dict[tuple[str, Size], np.ndarray] = {}
        if listen:
            doc.events.pixels_changed.connect(self._on_pixels_changed)
            doc.events.structure_changed.connect(self._on_structure_changed)
            doc.events.properties_changed.connect(self._on_properties_changed)

    def close(self) -> None:
        """Stop listening (the document is no longer the open one)."""
        if not self._listening:
            return
        self._listening = False
        self.doc.events.pixels_changed.disconnect(self._on_pixels_changed)
        self.doc.events.structure_changed.disconnect(self._on_structure_changed)
        self.doc.events.properties_changed.disconnect(self._on_properties_changed)

    def invalidate(self, *_args) -> None:
        self._rgba = self._full = None
        self._small.clear()

    def _is_raster(self, node_id: str) -> bool:
        return any(layer.id == node_id for layer in self.doc.layers)

    def _on_pixels_changed(self, target_id: str, bbox: BBox | None) -> None:
        if self._is_raster(target_id):
            self.invalidate()
            return
        for (node_id, size), mirror in list(self._mirrors.items()):
            if node_id == target_id:
                if bbox is None:
                    del self._mirrors[(node_id, size)]
                else:
                    self._update(mirror, self.doc.pixels_of(node_id), size, bbox)

    def _on_properties_changed(self, target_id: str) -> None:
        if self._is_raster(target_id):
            self.invalidate()

    def _on_structure_changed(self) -> None:
        self.invalidate()
        alive = {self.doc.hint.id, *(m.id for m in self.doc.masks)}
        self._mirrors = {k: v for k, v in self._mirrors.items() if k[0] in alive}

    # ------------------------------------------------------------------ the photo
    def _composite(self) -> np.ndarray:
        if self._rgba is None:
            doc = self.doc
            self._rgba = composite(doc.layers, doc.height, doc.width)
        return self._rgba

    def full(self) -> np.ndarray:
        """The photo, H x W x 3 uint8 (transparent parts over white)."""
        if self._full is None:
            self._full = opaque_rgb(self._composite())
        return self._full

    def at(self, size: Size | None) -> np.ndarray:
        """The photo at ``size`` (None: full size), H x W x 3 uint8: the composite shrunk
        (premultiplied) and then flattened, never flattening the full-size one for it."""
        if size is None:
            return self.full()
        if size not in self._small:
            small = shrink(self._composite(), size)
            opaque = not (small[..., 3] < 255).any()
            self._small[size] = (
                np.ascontiguousarray(small[..., :3]) if opaque else flatten_on(small)
            )
        return self._small[size]

    # ------------------------------------------------------------------ hints and masks
    def node(self, node_id: str, size: Size | None) -> np.ndarray:
        """A copy of the hint layer's or a mask's pixels at ``size`` (None: full size)."""
        pixels = self.doc.pixels_of(node_id)
        if size is None:
            return pixels.copy()
        key = (node_id, size)
        if key not in self._mirrors:
            self._mirrors[key] = np.array(shrink(pixels, size))
        return self._mirrors[key].copy()

    def _update(self, mirror: np.ndarray, pixels: np.ndarray, size: Size, bbox: BBox) -> None:
        """Recompute the mirror's pixels that cover ``bbox`` (y0, x0, y1, x1) of ``pixels``."""
        height, width = pixels.shape[:2]
        sx, sy = width / size[0], height / size[1]
        y0, x0, y1, x1 = bbox
        j0, j1 = max(0, math.floor(x0 / sx)), min(size[0], math.ceil(x1 / sx))
        i0, i1 = max(0, math.floor(y0 / sy)), min(size[1], math.ceil(y1 / sy))
        if j1 <= j0 or i1 <= i0:
            return
        # the source region of those mirror pixels, cut at whole pixels around it
        left, top, right, bottom = j0 * sx, i0 * sy, j1 * sx, i1 * sy
        cx0, cy0 = math.floor(left), math.floor(top)
        cx1, cy1 = min(width, math.ceil(right)), min(height, math.ceil(bottom))
        crop = pixels[cy0:cy1, cx0:cx1]
        box = (left - cx0, top - cy0, right - cx0, bottom - cy0)
        mirror[i0:i1, j0:j1] = shrink(crop, (j1 - j0, i1 - i0), box)
