"""Layer stack → RGBA, following the W3C Compositing and Blending Level 1 spec.

Colours are straight (non-premultiplied) sRGB values in 0..1 while blending, as in Krita, GIMP
and CSS. For a source layer (colour Cs, alpha as = pixel alpha × layer opacity) over a backdrop
(Cb, ab)::

    Cs' = (1 - ab) · Cs + ab · B(Cb, Cs)
    ao  = as + ab · (1 - as)
    Co  = (as · Cs' + ab · Cb · (1 - as)) / ao

Blending runs in row bands so a 24 MP image never needs more than a few hundred MB of floats.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from colorstudio.core.geometry import BBox, slices
from colorstudio.core.layer import BlendMode, Layer

_BAND_PIXELS = 1 << 21  # ~2 M pixels per band: ~32 MB per float RGBA buffer

# Rec. 601 luma weights used by the spec's non-separable modes.
_LUM = np.array([0.3, 0.59, 0.11], np.float32)


def _lum(c: np.ndarray) -> np.ndarray:
    return c @ _LUM


def _clip_color(c: np.ndarray) -> np.ndarray:
    lum = _lum(c)[..., None]
    lo = c.min(axis=-1, keepdims=True)
    hi = c.max(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        low_fix = lum + (c - lum) * lum / (lum - lo)
        high_fix = lum + (c - lum) * (1.0 - lum) / (hi - lum)
    c = np.where(lo < 0.0, low_fix, c)
    c = np.where(hi > 1.0, high_fix, c)
    return np.nan_to_num(c, nan=0.0)


def _set_lum(c: np.ndarray, lum: np.ndarray) -> np.ndarray:
    return _clip_color(c + (lum - _lum(c))[..., None])


def blend(mode: BlendMode, cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    """B(Cb, Cs) for straight colours in 0..1, arrays of shape (..., 3) float32."""
    if mode is BlendMode.NORMAL:
        return cs
    if mode is BlendMode.MULTIPLY:
        return cb * cs
    if mode is BlendMode.SCREEN:
        return cb + cs - cb * cs
    if mode is BlendMode.OVERLAY:  # HardLight(Cs, Cb): Cb decides the branch
        return np.where(cb <= 0.5, 2.0 * cb * cs, 1.0 - 2.0 * (1.0 - cb) * (1.0 - cs))
    if mode is BlendMode.COLOR:
        return _set_lum(cs, _lum(cb))
    if mode is BlendMode.LUMINOSITY:
        return _set_lum(cb, _lum(cs))
    raise ValueError(f"unknown blend mode {mode!r}")


def composite_over(
    backdrop: np.ndarray, source: np.ndarray, opacity: float, mode: BlendMode
) -> np.ndarray:
    """Composite straight-alpha ``source`` over ``backdrop``.

    Both (..., 4) float32 RGBA in 0..1; returns a new (..., 4) float32 straight RGBA.
    """
    cb, ab = backdrop[..., :3], backdrop[..., 3:4]
    cs, as_ = source[..., :3], source[..., 3:4] * np.float32(opacity)
    mixed = (1.0 - ab) * cs + ab * blend(mode, cb, cs)
    ao = as_ + ab * (1.0 - as_)
    premult = as_ * mixed + ab * cb * (1.0 - as_)
    with np.errstate(divide="ignore", invalid="ignore"):
        co = np.where(ao > 0.0, premult / ao, 0.0)
    return np.concatenate([co, ao], axis=-1).astype(np.float32, copy=False)


def composite(
    layers: Sequence[Layer],
    height: int,
    width: int,
    bbox: BBox | None = None,
    background: tuple[int, int, int, int] | None = None,
) -> np.ndarray:
    """Composite visible ``layers`` (bottom first) into H x W x 4 uint8 RGBA.

    With ``bbox`` only that box is computed and returned (shape of the box). ``background``
    (RGBA 0..255) is what lies below the bottom layer; transparent by default.
    """
    box = bbox if bbox is not None else (0, 0, height, width)
    y0, x0, y1, x1 = box
    visible = [layer for layer in layers if layer.visible and layer.opacity > 0.0]
    if (
        background is None
        and len(visible) == 1
        and visible[0].blend_mode is BlendMode.NORMAL
        and visible[0].opacity >= 1.0
    ):  # one plain layer (a photo just opened) is its own composite: no float round trip
        out = visible[0].pixels[y0:y1, x0:x1].copy()
        out[out[..., 3] == 0] = 0  # fully clear pixels have no colour, as below
        return out
    out = np.empty((y1 - y0, x1 - x0, 4), np.uint8)
    band_rows = max(1, _BAND_PIXELS // max(1, x1 - x0))
    for by in range(y0, y1, band_rows):
        band = (by, x0, min(by + band_rows, y1), x1)
        out[by - y0 : band[2] - y0] = _composite_band(visible, band, background)
    return out


def _composite_band(
    layers: Sequence[Layer], band: BBox, background: tuple[int, int, int, int] | None
) -> np.ndarray:
    h, w = band[2] - band[0], band[3] - band[1]
    if background is None:
        acc = np.zeros((h, w, 4), np.float32)
    else:
        acc = np.empty((h, w, 4), np.float32)
        acc[...] = np.asarray(background, np.float32) / 255.0
    for layer in layers:
        src = layer.pixels[slices(band)]
        if not src[..., 3].any():
            continue
        if layer.blend_mode is BlendMode.NORMAL and layer.opacity >= 1.0 and not acc[..., 3].any():
            # Nothing below yet: the layer is the result (colour of fully clear pixels is 0,
            # as the general formula gives).
            acc = src.astype(np.float32) / 255.0
            acc[src[..., 3] == 0] = 0.0
            continue
        acc = composite_over(acc, src.astype(np.float32) / 255.0, layer.opacity, layer.blend_mode)
    return to_uint8(acc)


def to_uint8(values: np.ndarray) -> np.ndarray:
    """Float 0..1 → uint8 0..255 with round-half-up and clipping."""
    return np.clip(values * 255.0 + 0.5, 0, 255).astype(np.uint8)


def flatten_on(rgba: np.ndarray, color: tuple[int, int, int] = (255, 255, 255)) -> np.ndarray:
    """H x W x 4 uint8 RGBA over an opaque colour → H x W x 3 uint8 RGB (for JPEG export)."""
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    rgb = rgba[..., :3].astype(np.float32) * alpha + np.asarray(color, np.float32) * (1 - alpha)
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
