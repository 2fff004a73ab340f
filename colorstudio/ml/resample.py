"""Resampling of float32 planes in numpy: exact area averages, bilinear, box means.

Arrays are (..., H, W) float32: any leading axes (channels, a batch) ride along. The formulas
match PyTorch's (``adaptive_avg_pool2d``, ``interpolate(mode="bilinear", align_corners=False)``
without antialiasing, ``avg_pool2d(count_include_pad=False)``), which the networks were trained
with, so results do not depend on which runtime produced them.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import ndimage


def _bins(src: int, dst: int) -> tuple[np.ndarray, np.ndarray]:
    """Adaptive pooling's bins: output i averages source [start_i, end_i)."""
    i = np.arange(dst)
    return (i * src) // dst, -((-(i + 1) * src) // dst)


def _area_axis(x: np.ndarray, axis: int, dst: int) -> np.ndarray:
    src = x.shape[axis]
    if src == dst:
        return x
    start, end = _bins(src, dst)
    if src % dst == 0:  # equal, disjoint bins: a reshape and a mean
        moved = np.moveaxis(x, axis, -1)
        pooled = moved.reshape(*moved.shape[:-1], dst, src // dst).mean(-1, dtype=np.float64)
        return np.moveaxis(pooled, -1, axis).astype(np.float32)
    # overlapping bins: differences of a running sum (float64: exact enough at any size)
    total = np.cumsum(x, axis=axis, dtype=np.float64)
    pad = [(0, 0)] * x.ndim
    pad[axis] = (1, 0)
    total = np.pad(total, pad)
    sums = np.take(total, end, axis=axis) - np.take(total, start, axis=axis)
    count = (end - start).astype(np.float64)
    count_shape = [1] * x.ndim
    count_shape[axis] = dst
    return (sums / count.reshape(count_shape)).astype(np.float32)


def area_resize(x: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(..., H, W) → (..., h, w) float32: each output pixel the mean of its source bin
    (adaptive average pooling: the right way down, and exact block means when H/h is whole)."""
    x = np.asarray(x, np.float32)
    return _area_axis(_area_axis(x, x.ndim - 2, shape[0]), x.ndim - 1, shape[1])


def axis_weights(src: int, dst: int, start: int = 0, stop: int | None = None):
    """Bilinear sample positions (align_corners=False) for output indices start..stop-1: the
    two source indices (int64) and the weight of the second (float32, 0..1)."""
    stop = dst if stop is None else stop
    pos = (np.arange(start, stop, dtype=np.float64) + 0.5) * (src / dst) - 0.5
    pos = np.clip(pos, 0, src - 1)
    i0 = np.floor(pos).astype(np.int64)
    i1 = np.minimum(i0 + 1, src - 1)
    return i0, i1, (pos - i0).astype(np.float32)


def _lerp_axis(x: np.ndarray, axis: int, weights) -> np.ndarray:
    i0, i1, frac = weights
    first = np.take(x, i0, axis=axis)
    shape = [1] * x.ndim
    shape[axis] = len(frac)
    return first + (np.take(x, i1, axis=axis) - first) * frac.reshape(shape)


def bilinear(x: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(..., h, w) → (..., H, W) float32, bilinear (align_corners=False, no antialiasing:
    for enlarging and for small changes of size)."""
    x = np.asarray(x, np.float32)
    h, w = x.shape[-2:]
    if (h, w) != tuple(shape):
        if h != shape[0]:
            x = _lerp_axis(x, x.ndim - 2, axis_weights(h, shape[0]))
        if w != shape[1]:
            x = _lerp_axis(x, x.ndim - 1, axis_weights(w, shape[1]))
    return x


def resize_rows(
    src: np.ndarray, height: int, width: int, y0: int, y1: int, x0: int = 0, x1: int | None = None
) -> np.ndarray:
    """Rows y0..y1, columns x0..x1 of ``src`` (C, h, w) bilinearly resized to (C, height,
    width), computed without building the whole resized image."""
    x1 = width if x1 is None else x1
    rows = _lerp_axis(src, 1, axis_weights(src.shape[1], height, y0, y1))
    return _lerp_axis(rows, 2, axis_weights(src.shape[2], width, x0, x1))


def box_mean(x: np.ndarray, radius: int) -> np.ndarray:
    """(..., h, w) → the mean over each (2r+1)² window, counting only pixels inside the
    image (float32)."""
    size = [1] * (x.ndim - 2) + [2 * radius + 1] * 2
    total = ndimage.uniform_filter(np.asarray(x, np.float64), size, mode="constant")
    total /= _window_share(*x.shape[-2:], radius)
    return total.astype(np.float32)


@functools.lru_cache(maxsize=8)
def _window_share(h: int, w: int, radius: int) -> np.ndarray:
    """The share of each (2r+1)² window inside an h x w image (float64, read-only)."""
    size = 2 * radius + 1
    share = ndimage.uniform_filter(np.ones((h, w)), (size, size), mode="constant")
    share.setflags(write=False)
    return share


def pad_to(x: np.ndarray, multiple: int) -> np.ndarray:
    """(N, C, H, W) padded at the bottom and right to multiples of ``multiple`` (mirrored, or
    the edge repeated where the image is too small to mirror)."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if not (ph or pw):
        return x
    widths = ((0, 0), (0, 0), (0, ph), (0, pw))
    if min(h, w) > max(ph, pw):
        return np.pad(x, widths, mode="reflect")
    return np.pad(x, widths, mode="edge")
