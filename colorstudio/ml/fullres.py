"""Full-resolution pixel work in numpy, in row bands spread over the job's threads.

- :func:`rgb_to_lab` / :func:`lab_to_rgb` — exact sRGB ↔ Lab (the formulas of
  :mod:`colorstudio.ml.color`, run in bands); Lab → RGB fits out-of-gamut colours by reducing
  chroma only, so L* survives (within 8-bit rounding): the one gamut fit.
- :func:`guided_upsample` — the fast guided filter (He et al. 2015) fitted at low resolution and
  applied at full resolution: chroma edges snap to the full-resolution lightness edges.

Bands bound the memory (24 MP never needs gigabytes at once) and are the unit of parallel work:
numpy releases the GIL inside its loops, so :func:`map_bands` runs bands on a thread pool of
:func:`threads` workers (the engine sets it per job: previews on half the cores).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from colorstudio.ml.color import (
    _TO_RGB,
    _TO_XYZ,
    SRGB_U8_TO_LINEAR,
    WHITE_D65,
    lab_to_planes,
    planes_to_lab,
)
from colorstudio.ml.color import f_lab as _f
from colorstudio.ml.color import f_lab_inv as _f_inv
from colorstudio.ml.resample import box_mean, resize_rows

BAND_PIXELS = 1 << 22  #: ~4 M pixels per band at most
PARALLEL_PIXELS = 1 << 18  #: bands split over the threads down to ~256 k pixels each

_local = threading.local()


def threads() -> int:
    """The threads full-resolution work may use in this thread (default: every core)."""
    return getattr(_local, "threads", None) or os.cpu_count() or 1


@contextlib.contextmanager
def using_threads(count: int) -> Iterator[None]:
    """Full-resolution work in this thread uses ``count`` threads while the block runs."""
    before = getattr(_local, "threads", None)
    _local.threads = max(1, int(count))
    try:
        yield
    finally:
        _local.threads = before


_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _pool(count: int) -> ThreadPoolExecutor:
    with _pools_lock:
        if count not in _pools:
            _pools[count] = ThreadPoolExecutor(count, thread_name_prefix="colorstudio-bands")
        return _pools[count]


def bands(height: int, width: int, parts: int = 1) -> Iterator[tuple[int, int]]:
    """Row ranges covering ``height`` rows: at most BAND_PIXELS each, and at least ``parts``
    of them where each still holds PARALLEL_PIXELS."""
    rows = max(1, BAND_PIXELS // max(width, 1))
    if parts > 1:
        even = -(-height // parts)
        rows = min(rows, max(even, PARALLEL_PIXELS // max(width, 1), 1))
    for y0 in range(0, height, rows):
        yield y0, min(height, y0 + rows)


def map_bands(fn: Callable[[int, int], None], height: int, width: int) -> None:
    """``fn(y0, y1)`` for each band, on :func:`threads` threads (each band writes its own rows
    of an output array)."""
    count = threads()
    spans = list(bands(height, width, count))
    if count == 1 or len(spans) == 1:
        for y0, y1 in spans:
            fn(y0, y1)
        return
    for future in [_pool(count).submit(fn, y0, y1) for y0, y1 in spans]:
        future.result()


def _linear_planes(rgb: np.ndarray) -> np.ndarray:
    """H x W x 3 uint8 → (3, H, W) float32 linear light (a LUT lookup, no arithmetic)."""
    return SRGB_U8_TO_LINEAR[np.moveaxis(rgb, -1, 0)]


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """H x W x 3 uint8 sRGB → H x W x 3 float32 Lab."""
    h, w = rgb.shape[:2]
    out = np.empty((h, w, 3), np.float32)

    def band(y0: int, y1: int) -> None:
        out[y0:y1] = planes_to_lab(_linear_planes(rgb[y0:y1, :, :3]))

    map_bands(band, h, w)
    return out


def _lightness_planes(lin: np.ndarray) -> np.ndarray:
    m = _TO_XYZ[1]
    return 116.0 * _f(m[0] * lin[0] + m[1] * lin[1] + m[2] * lin[2]) - 16.0


#: L* of the 256 greys, computed by the general formula: a grey photo's L* is a table lookup
_GREY_LIGHTNESS = _lightness_planes(
    np.repeat(SRGB_U8_TO_LINEAR[np.arange(256)][None], 3, 0)
).astype(np.float32)


def lightness(rgb: np.ndarray) -> np.ndarray:
    """H x W x 3 uint8 sRGB → H x W float32 L* (a third of the work of :func:`rgb_to_lab`;
    for grey images, the usual input to colourization, a table lookup)."""
    h, w = rgb.shape[:2]
    red = rgb[..., 0]
    if np.array_equal(red, rgb[..., 1]) and np.array_equal(red, rgb[..., 2]):
        return _GREY_LIGHTNESS[red]
    out = np.empty((h, w), np.float32)

    def band(y0: int, y1: int) -> None:
        out[y0:y1] = _lightness_planes(_linear_planes(rgb[y0:y1, :, :3]))

    map_bands(band, h, w)
    return out


def _in_gamut(lin: np.ndarray) -> np.ndarray:
    return (lin.min(0) >= -1e-5) & (lin.max(0) <= 1 + 1e-5)


# the white point folded into the matrix: linear RGB = _RGB_FROM_F · (f⁻¹(fx), Y, f⁻¹(fz))
_RGB_FROM_F = [[m[0] * WHITE_D65[0], m[1], m[2] * WHITE_D65[2]] for m in _TO_RGB]


def _fitted_linear(lab: np.ndarray, iterations: int = 8) -> np.ndarray:
    """(..., 3) Lab → (3, ...) linear RGB in 0..1, out-of-gamut colours losing chroma (not L*,
    not hue).

    The chroma scale is found by bisection on the out-of-gamut pixels (with strong colour hints,
    a third of a photo): ``iterations`` halvings leave at most 1/256 of the chroma on the table.
    L*, and with it Y, stays fixed, so each step recomputes X and Z only."""
    lin = lab_to_planes(lab)
    flat = lin.reshape(3, -1)
    outside = np.flatnonzero(~_in_gamut(flat))
    if outside.size:
        sub = lab.reshape(-1, 3)[outside]
        fy = (sub[:, 0] + 16.0) / 116.0
        da, db = sub[:, 1] / 500.0, sub[:, 2] / -200.0
        y = _f_inv(fy)
        m = _RGB_FROM_F
        grey = [m[i][1] * y for i in range(3)]

        def channels(scale: np.ndarray) -> list[np.ndarray]:
            x, z = _f_inv(fy + da * scale), _f_inv(fy + db * scale)
            return [m[i][0] * x + grey[i] + m[i][2] * z for i in range(3)]

        lo = np.zeros(len(sub), np.float32)
        step = np.float32(1.0)
        for _ in range(iterations):
            step /= 2
            mid = lo + step
            ok = np.ones(len(sub), bool)
            for v in channels(mid):
                ok &= (v >= -1e-5) & (v <= 1 + 1e-5)
            np.copyto(lo, mid, where=ok)
        flat[:, outside] = channels(lo)
    return np.clip(lin, 0.0, 1.0, out=lin)


def _encode_u8(lin: np.ndarray) -> np.ndarray:
    """(3, ...) linear 0..1 → (..., 3) uint8 sRGB, rounded."""
    gamma = np.maximum(lin, 0.0031308)
    np.power(gamma, 1 / 2.4, out=gamma)
    gamma *= 1.055
    gamma -= 0.055
    srgb = np.where(lin <= 0.0031308, lin * 12.92, gamma)
    srgb *= 255.0
    srgb += 0.5
    return np.moveaxis(np.clip(srgb, 0, 255, out=srgb).astype(np.uint8), 0, -1)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """H x W x 3 float32 Lab → H x W x 3 uint8 sRGB (chroma fitted into the gamut)."""
    h, w = lab.shape[:2]
    out = np.empty((h, w, 3), np.uint8)

    def band(y0: int, y1: int) -> None:
        out[y0:y1] = _encode_u8(_fitted_linear(np.asarray(lab[y0:y1], np.float32)))

    map_bands(band, h, w)
    return out


def l_ab_to_rgb(lightness_full: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """H x W L* and H x W x 2 a*b* → H x W x 3 uint8 sRGB."""
    h, w = lightness_full.shape
    out = np.empty((h, w, 3), np.uint8)

    def band(y0: int, y1: int) -> None:
        lab = np.concatenate([lightness_full[y0:y1, :, None], ab[y0:y1]], -1, dtype=np.float32)
        out[y0:y1] = _encode_u8(_fitted_linear(lab))

    map_bands(band, h, w)
    return out


def guided_coefficients(guide: np.ndarray, src: np.ndarray, radius: int, eps: float):
    """Guided filter at low resolution: ``src ≈ a * guide + b`` locally.

    guide (1, 1, h, w) in 0..1, src (1, C, h, w) float32. Returns (a, b), each (C, h, w),
    box-smoothed."""
    mean_i = box_mean(guide, radius)
    mean_p = box_mean(src, radius)
    cov = box_mean(guide * src, radius) - mean_i * mean_p
    var = box_mean(guide * guide, radius) - mean_i * mean_i
    a = cov / (var + eps)
    b = mean_p - a * mean_i
    return box_mean(a, radius)[0], box_mean(b, radius)[0]


def guided_upsample(
    guide_small: np.ndarray,
    src_small: np.ndarray,
    guide_full: np.ndarray,
    radius: int = 2,
    eps: float = 1e-3,
    box: tuple[int, int, int, int] | None = None,
) -> np.ndarray:
    """Upsample ``src_small`` (1, C, h, w) to the size of ``guide_full`` (H x W float32, 0..1)
    following its edges. With ``box`` (y0, x0, y1, x1) only that region is computed.
    Returns (box or H x W) x C float32."""
    a, b = guided_coefficients(guide_small, src_small, radius, eps)
    height, width = guide_full.shape
    by0, bx0, by1, bx1 = box if box is not None else (0, 0, height, width)
    out = np.empty((by1 - by0, bx1 - bx0, src_small.shape[1]), np.float32)

    def band(y0: int, y1: int) -> None:
        rows = (by0 + y0, by0 + y1)
        a_band = resize_rows(a, height, width, *rows, bx0, bx1)
        b_band = resize_rows(b, height, width, *rows, bx0, bx1)
        guide = np.asarray(guide_full[rows[0] : rows[1], bx0:bx1], np.float32)
        a_band *= guide[None]
        a_band += b_band
        out[y0:y1] = np.moveaxis(a_band, 0, -1)

    map_bands(band, by1 - by0, (bx1 - bx0) * 4)
    return out
