"""The canvas's overlays as pixels: the hint layer over the active mask's red tint (numpy)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from colorstudio.core.geometry import BBox, slices
from colorstudio.core.masks import bbox_of

MASK_TINT = np.array([255, 40, 60], np.float32)
MASK_OPACITY = 0.45
#: a mask value's RGBA as one uint32 (a lookup: a 63 MP mask takes 0.3 s, not 1.5 s in float)
_MASK_RGBA = np.zeros((256, 4), np.uint8)
_MASK_RGBA[1:, :3] = MASK_TINT.astype(np.uint8)
_MASK_RGBA[:, 3] = (np.arange(256, dtype=np.float32) * MASK_OPACITY + 0.5).astype(np.uint8)
_MASK_RGBA32 = _MASK_RGBA.view(np.uint32).ravel()


#: the narrowest band drawn for a mask shown as its outline, document pixels (the canvas widens it
#: when zoomed out, to about 2 screen pixels)
OUTLINE_WIDTH = 2


def mask_outline(mask: np.ndarray, box: BBox, width: int = OUTLINE_WIDTH) -> np.ndarray:
    """uint8 (y1 - y0, x1 - x0), 255 on the band ``width`` pixels wide just *outside*
    ``mask`` (H x W uint8) inside ``box``, 0 elsewhere: the mask's outline that leaves what is
    in the mask to be seen (a crack's fill between two thin lines). Looks past the box, so a
    box's cut never draws an edge; works only around the mask's content."""
    y0, x0, y1, x1 = box
    h, w = mask.shape
    g0, f0, g1, f1 = max(0, y0 - width), max(0, x0 - width), min(h, y1 + width), min(w, x1 + width)
    near = mask[g0:g1, f0:f1] > 0
    band = np.zeros(near.shape, bool)
    content = bbox_of(near, near.shape, margin=width)
    if content is not None:
        inside = near[slices(content)]
        band[slices(content)] = ndimage.binary_dilation(inside, iterations=width) & ~inside
    return band[y0 - g0 : y1 - g0, x0 - f0 : x1 - f0] * np.uint8(255)


def overlay_rgba(
    box: BBox,
    hint: np.ndarray | None,
    hint_opacity: float,
    mask: np.ndarray | None,
    outline: int = 0,
) -> np.ndarray:
    """uint8 RGBA (y1 - y0, x1 - x0, 4) overlay for ``box`` (y0, x0, y1, x1): the active
    ``mask`` (H x W uint8, or None) as a red tint under the ``hint`` layer (H x W x 4 uint8, or
    None; drawn at ``hint_opacity`` 0..1); ``outline`` > 0: a band that many pixels wide around
    the mask instead (over a repair's preview, so the fill shows). Only the part of the box
    where either has content is computed, so a full refresh of a 24 MP document with a small
    hint stroke stays cheap."""
    y0, x0, y1, x1 = box
    out = np.zeros((y1 - y0, x1 - x0, 4), np.uint8)
    if mask is not None:
        mask = mask_outline(mask, box, outline) if outline else mask[y0:y1, x0:x1]
    for source, is_mask in (
        (mask, True),
        (hint[y0:y1, x0:x1, 3] if hint is not None else None, False),
    ):
        if source is None:
            continue
        rows = np.flatnonzero(source.any(axis=1))
        if rows.size == 0:
            continue
        cols = np.flatnonzero(source.any(axis=0))
        sub = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        target = out[sub]
        if is_mask:  # the mask is drawn first, on nothing: each pixel is its value's RGBA
            out.view(np.uint32)[..., 0][sub] = _MASK_RGBA32[source[sub]]
        else:
            assert hint is not None
            pixels = hint[y0:y1, x0:x1][sub]
            a = pixels[..., 3:4].astype(np.float32) / 255.0 * hint_opacity
            below = target[..., 3:4].astype(np.float32) / 255.0
            alpha = a + below * (1 - a)
            color = (pixels[..., :3] * a + target[..., :3] * below * (1 - a)) / np.maximum(
                alpha, 1e-6
            )
            target[..., :3] = (color + 0.5).astype(np.uint8)
            target[..., 3] = (alpha[..., 0] * 255 + 0.5).astype(np.uint8)
    return out
