"""Soft masks and strength maps → per-pixel blend weights (numpy + scipy.ndimage)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from colorstudio.core.geometry import BBox


def as_unit(values: np.ndarray) -> np.ndarray:
    """uint8 0..255 or float 0..1 → float32 0..1."""
    if values.dtype == np.uint8:
        return values.astype(np.float32) / 255.0
    return np.clip(values.astype(np.float32), 0.0, 1.0)


def feather_inside(mask: np.ndarray, radius: float) -> np.ndarray:
    """Soften a mask's edge *inwards*: the result is 0 wherever ``mask`` is 0.

    ``mask``: H x W float32 0..1. The mask is eroded by ``radius`` then blurred by it, so the
    weight ramps from ~0 at the mask boundary to the mask's value ``2 * radius`` inside.
    """
    if radius <= 0:
        return mask
    r = int(np.ceil(radius))
    eroded = ndimage.grey_erosion(mask, size=(2 * r + 1, 2 * r + 1), mode="constant", cval=0.0)
    return np.minimum(ndimage.gaussian_filter(eroded, sigma=radius / 2.0), mask).astype(np.float32)


def blend_weights(
    shape: tuple[int, int],
    mask: np.ndarray | None = None,
    strength: float = 1.0,
    strength_map: np.ndarray | None = None,
    feather: float = 0.0,
) -> np.ndarray | None:
    """H x W float32 weights = mask × strength × strength map (``None``: everywhere fully)."""
    if mask is None and strength_map is None and strength >= 1.0:
        return None
    weights = np.full(shape, float(np.clip(strength, 0.0, 1.0)), np.float32)
    if mask is not None:
        weights *= feather_inside(as_unit(mask), feather)
    if strength_map is not None:
        weights *= as_unit(strength_map)
    return weights


def bbox_of(weights: np.ndarray | None, shape: tuple[int, int], margin: int = 0) -> BBox | None:
    """Box around weights > 0 grown by ``margin`` (whole image when ``weights`` is None)."""
    h, w = shape
    if weights is None:
        return (0, 0, h, w)
    rows = np.flatnonzero(weights.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(weights.any(axis=0))
    return (
        max(0, int(rows[0]) - margin),
        max(0, int(cols[0]) - margin),
        min(h, int(rows[-1]) + 1 + margin),
        min(w, int(cols[-1]) + 1 + margin),
    )


def apply_weighted(
    original: np.ndarray, edited: np.ndarray, weights: np.ndarray | None
) -> np.ndarray:
    """Blend uint8 images: original where the weight is 0 (bit for bit), edited where 1."""
    if weights is None:
        return edited
    w = weights[..., None] if original.ndim == 3 else weights
    mixed = original.astype(np.float32) + (edited.astype(np.float32) - original) * w
    out = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
    return np.where(w > 0, out, original)
