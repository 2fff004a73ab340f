"""Brush engine: round anti-aliased dabs, stroke interpolation, eraser, mask painting, fill.

A stroke paints live into the target array and records what it touched, so the drag ends as one
:class:`~colorstudio.core.edits.PatchEdit`. Coverage accumulates per stroke in "wash" mode (as
Krita): overlapping dabs of one stroke never exceed the brush opacity, while flow controls how fast
soft edges build up. Pixels are always recomputed from the originals, so no rounding creeps in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np
from scipy import ndimage

from colorstudio.core.edits import PatchEdit
from colorstudio.core.geometry import BBox, clip, union

TILE = 128


class PaintMode(str, Enum):
    PAINT = "paint"  #: RGBA source-over with the brush colour (paint and hint layers)
    ERASE = "erase"  #: lower RGBA alpha
    MASK_ADD = "mask_add"  #: raise a mask towards 255
    MASK_REMOVE = "mask_remove"  #: lower a mask towards 0


@dataclass(frozen=True)
class BrushSettings:
    """``size``: diameter in px; ``hardness``, ``opacity``, ``flow`` in 0..1; ``spacing``:
    distance between dabs as a fraction of the diameter. Pressure (0..1, from a tablet) scales
    size and/or opacity when the matching flag is on."""

    size: float = 24.0
    hardness: float = 0.8
    opacity: float = 1.0
    flow: float = 1.0
    spacing: float = 0.1
    size_pressure: bool = True
    opacity_pressure: bool = False

    def __post_init__(self) -> None:
        if not 0.5 <= self.size <= 5000:
            raise ValueError(f"brush size must be 0.5..5000 px, got {self.size}")
        for name in ("hardness", "opacity", "flow"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"brush {name} must be within 0..1")
        if not 0.01 <= self.spacing <= 10:
            raise ValueError("brush spacing must be within 0.01..10")


def dab(diameter: float, hardness: float, cx: float, cy: float) -> tuple[np.ndarray, int, int]:
    """Coverage of a round dab centred at pixel coordinates (cx, cy).

    Pixel (x, y) covers [x, x+1) so its centre is (x + 0.5, y + 0.5). Returns
    ``(coverage, y0, x0)``: a float32 array in 0..1 and its top-left position (may be negative:
    callers clip). Fully hard dabs get a one-pixel anti-aliased rim.
    """
    r = max(diameter / 2.0, 0.5)
    x0, y0 = math.floor(cx - r), math.floor(cy - r)
    x1, y1 = math.ceil(cx + r), math.ceil(cy + r)
    ys = np.arange(y0, y1, dtype=np.float32) + 0.5 - cy
    xs = np.arange(x0, x1, dtype=np.float32) + 0.5 - cx
    dist = np.sqrt(ys[:, None] ** 2 + xs[None, :] ** 2)
    rim = np.clip(r - dist + 0.5, 0.0, 1.0)  # anti-aliased edge
    inner = r * hardness
    if hardness < 1.0:
        t = np.clip((dist - inner) / max(r - inner, 1e-6), 0.0, 1.0)
        soft = 1.0 - t * t * (3.0 - 2.0 * t)  # smoothstep falloff
        cov = np.minimum(soft, rim)
    else:
        cov = rim
    return cov.astype(np.float32), y0, x0


class Stroke:
    """One drag of a brush over ``pixels`` (the live array: H x W x 4 uint8 or H x W uint8).

    Call :meth:`add_point` for every input event (it interpolates dabs between events at the
    brush spacing, so fast strokes have no gaps) and :meth:`finish` when the button is released.
    """

    def __init__(
        self,
        pixels: np.ndarray,
        settings: BrushSettings,
        mode: PaintMode = PaintMode.PAINT,
        color: tuple[int, int, int] | tuple[int, int, int, int] = (0, 0, 0),
    ) -> None:
        if mode in (PaintMode.MASK_ADD, PaintMode.MASK_REMOVE):
            if pixels.ndim != 2:
                raise ValueError("mask modes paint on H x W masks")
        elif pixels.ndim != 3 or pixels.shape[2] != 4:
            raise ValueError("paint and erase modes need H x W x 4 RGBA pixels")
        self.pixels = pixels
        self.settings = settings
        self.mode = mode
        rgba = tuple(color) + (255,) * (4 - len(color))
        self._color = np.asarray(rgba[:3], np.float32) / 255.0
        self._color_alpha = rgba[3] / 255.0
        self._coverage: dict[tuple[int, int], np.ndarray] = {}
        self._backup: dict[tuple[int, int], np.ndarray] = {}
        self._last: tuple[float, float, float] | None = None
        self._carry = 0.0  # distance already walked towards the next dab
        self.bbox: BBox | None = None
        self.dab_count = 0

    # ------------------------------------------------------------------ input
    def add_point(self, x: float, y: float, pressure: float = 1.0) -> BBox | None:
        """Add an input position (image pixel coordinates). Returns the box repainted."""
        pressure = float(min(max(pressure, 0.0), 1.0))
        dirty: BBox | None = None
        if self._last is None:
            dirty = self._stamp(x, y, pressure)
            self._last = (x, y, pressure)
            return dirty
        lx, ly, lp = self._last
        length = math.hypot(x - lx, y - ly)
        walked = 0.0
        while True:
            p_here = lp + (pressure - lp) * (walked / length if length else 1.0)
            step = max(0.5, self.settings.spacing * self._diameter(p_here))
            needed = step - self._carry
            if walked + needed > length:
                self._carry += length - walked
                break
            walked += needed
            self._carry = 0.0
            t = walked / length
            dirty = union(
                dirty, self._stamp(lx + (x - lx) * t, ly + (y - ly) * t, lp + (pressure - lp) * t)
            )
        self._last = (x, y, pressure)
        return dirty

    def finish(self, target_id: str, label: str = "Paint") -> PatchEdit | None:
        """End the stroke: one PatchEdit holding exactly the touched pixels (None if nothing)."""
        if self.bbox is None:
            return None
        y0, x0, y1, x1 = self.bbox
        before = self.pixels[y0:y1, x0:x1].copy()
        for (ty, tx), tile in self._backup.items():
            ty0, tx0 = ty * TILE, tx * TILE
            sub = (
                max(ty0, y0),
                max(tx0, x0),
                min(ty0 + tile.shape[0], y1),
                min(tx0 + tile.shape[1], x1),
            )
            before[sub[0] - y0 : sub[2] - y0, sub[1] - x0 : sub[3] - x0] = tile[
                sub[0] - ty0 : sub[2] - ty0, sub[1] - tx0 : sub[3] - tx0
            ]
        after = self.pixels[y0:y1, x0:x1]
        return PatchEdit.from_arrays(target_id, self.bbox, before, after, label)

    # ------------------------------------------------------------------ internals
    def _diameter(self, pressure: float) -> float:
        scale = pressure if self.settings.size_pressure else 1.0
        return max(0.5, self.settings.size * scale)

    def _stamp(self, cx: float, cy: float, pressure: float) -> BBox | None:
        s = self.settings
        cov, dy0, dx0 = dab(self._diameter(pressure), s.hardness, cx, cy)
        h, w = self.pixels.shape[:2]
        box = clip((dy0, dx0, dy0 + cov.shape[0], dx0 + cov.shape[1]), h, w)
        if box is None:
            return None
        self.dab_count += 1
        cap = s.opacity * self._color_alpha * (pressure if s.opacity_pressure else 1.0)
        for ty in range(box[0] // TILE, (box[2] - 1) // TILE + 1):
            for tx in range(box[1] // TILE, (box[3] - 1) // TILE + 1):
                self._stamp_tile(ty, tx, box, cov, dy0, dx0, cap)
        self.bbox = union(self.bbox, box)
        return box

    def _stamp_tile(self, ty, tx, box, cov, dy0, dx0, cap) -> None:
        h, w = self.pixels.shape[:2]
        ty0, tx0 = ty * TILE, tx * TILE
        ty1, tx1 = min(ty0 + TILE, h), min(tx0 + TILE, w)
        sub = (max(box[0], ty0), max(box[1], tx0), min(box[2], ty1), min(box[3], tx1))
        if sub[2] <= sub[0] or sub[3] <= sub[1]:
            return
        key = (ty, tx)
        if key not in self._backup:
            self._backup[key] = self.pixels[ty0:ty1, tx0:tx1].copy()
            self._coverage[key] = np.zeros((ty1 - ty0, tx1 - tx0), np.float32)
        tile_cov = self._coverage[key][sub[0] - ty0 : sub[2] - ty0, sub[1] - tx0 : sub[3] - tx0]
        d = cov[sub[0] - dy0 : sub[2] - dy0, sub[1] - dx0 : sub[3] - dx0]
        np.maximum(tile_cov, tile_cov + (cap - tile_cov) * d * self.settings.flow, out=tile_cov)
        orig = self._backup[key][sub[0] - ty0 : sub[2] - ty0, sub[1] - tx0 : sub[3] - tx0]
        self.pixels[sub[0] : sub[2], sub[1] : sub[3]] = self._shade(orig, tile_cov)

    def _shade(self, orig: np.ndarray, a: np.ndarray) -> np.ndarray:
        """New pixels from the originals and the stroke coverage ``a`` (float32 0..1)."""
        if self.mode is PaintMode.MASK_ADD:
            m = orig.astype(np.float32)
            return np.clip(m + (255.0 - m) * a + 0.5, 0, 255).astype(np.uint8)
        if self.mode is PaintMode.MASK_REMOVE:
            return np.clip(orig.astype(np.float32) * (1.0 - a) + 0.5, 0, 255).astype(np.uint8)
        out = orig.copy()
        ab = orig[..., 3].astype(np.float32) / 255.0
        if self.mode is PaintMode.ERASE:
            out[..., 3] = np.clip(ab * (1.0 - a) * 255.0 + 0.5, 0, 255).astype(np.uint8)
            return out
        ao = a + ab * (1.0 - a)
        cb = orig[..., :3].astype(np.float32) / 255.0
        premult = a[..., None] * self._color + (ab * (1.0 - a))[..., None] * cb
        with np.errstate(divide="ignore", invalid="ignore"):
            co = np.where(ao[..., None] > 0, premult / ao[..., None], 0.0)
        out[..., :3] = np.clip(co * 255.0 + 0.5, 0, 255).astype(np.uint8)
        out[..., 3] = np.clip(ao * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return out


def fill_region(
    sample: np.ndarray, x: int, y: int, tolerance: int, contiguous: bool = True
) -> np.ndarray:
    """Pixels similar to the seed (x, y): H x W bool.

    ``sample``: H x W x C or H x W uint8 (usually the composite or the target layer). A pixel is
    similar when every channel differs from the seed by at most ``tolerance`` (0..255). With
    ``contiguous`` only the 4-connected region holding the seed is returned.
    """
    h, w = sample.shape[:2]
    if not (0 <= x < w and 0 <= y < h):
        raise ValueError(f"fill seed ({x}, {y}) lies outside the {w} x {h} image")
    data = sample.astype(np.int16)
    if data.ndim == 2:
        data = data[..., None]
    similar = (np.abs(data - data[y, x]) <= int(tolerance)).all(axis=2)
    if not contiguous:
        return similar
    labels, _ = ndimage.label(similar)
    return labels == labels[y, x]


def flood_fill(
    pixels: np.ndarray,
    target_id: str,
    x: int,
    y: int,
    color: tuple[int, ...],
    tolerance: int = 32,
    opacity: float = 1.0,
    sample: np.ndarray | None = None,
    contiguous: bool = True,
) -> PatchEdit | None:
    """Fill the region around (x, y) with ``colour`` and return the applied edit.

    ``pixels``: the live target (H x W x 4 RGBA, or H x W mask where ``colour`` is one value).
    ``sample``: what decides the region (defaults to ``pixels``).
    """
    region = fill_region(pixels if sample is None else sample, x, y, tolerance, contiguous)
    ys, xs = np.nonzero(region)
    box = (int(ys.min()), int(xs.min()), int(ys.max()) + 1, int(xs.max()) + 1)
    sel = region[box[0] : box[2], box[1] : box[3]]
    before = pixels[box[0] : box[2], box[1] : box[3]].copy()
    after = before.copy()
    value = np.asarray(color, np.float32)
    if opacity >= 1.0:
        after[sel] = value.astype(np.uint8)
    else:
        mixed = before[sel].astype(np.float32) * (1 - opacity) + value * opacity
        after[sel] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
    edit = PatchEdit.from_arrays(target_id, box, before, after, "Fill")
    if edit is not None:
        pixels[box[0] : box[2], box[1] : box[3]] = after
    return edit
