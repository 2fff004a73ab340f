"""Overlapping tiles with feathered (raised-cosine) blending, for nets that change every pixel.

Arrays are float32 numpy, (1, C, H, W)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def tile_spans(length: int, tile: int, overlap: int) -> list[tuple[int, int]]:
    """(start, size) of the fewest tiles no longer than ``tile`` that cover ``length`` with
    neighbours overlapping by at least ``overlap`` (at most half a tile); all the same size,
    spread evenly.

    Equal tiles rather than full-size ones pinned to the end: 602 px in 512 px tiles is two tiles
    of 333, not two of 512 that overlap by 422 (a network costs by the pixels it sees). A tile is
    never much under half of ``tile`` plus the overlap (fewer tiles would not cover the length),
    so each still sees more context than the networks' training crops (192–256 px)."""
    if length <= tile:
        return [(0, length)]
    overlap = min(overlap, tile // 2)
    count = -(-(length - overlap) // (tile - overlap))
    size = min(tile, -(-(length + (count - 1) * overlap) // count))
    last = length - size
    return [(round(i * last / (count - 1)), size) for i in range(count)]


def feather_window(
    height: int, width: int, overlap: int, edges: tuple[bool, bool, bool, bool]
) -> np.ndarray:
    """(height, width) float32 weights ramping over ``overlap`` px on the edges shared with
    neighbours. ``edges`` = (top, bottom, left, right): True where another tile overlaps."""

    def ramp(n: int, start: bool, end: bool) -> np.ndarray:
        w = np.ones(n, np.float32)
        k = min(overlap, n // 2)
        if k > 0:
            r = (0.5 - 0.5 * np.cos(np.linspace(0, np.pi, k + 2)[1:-1])).astype(np.float32)
            if start:
                w[:k] = r
            if end:
                w[-k:] = r[::-1]
        return w

    top, bottom, left, right = edges
    return ramp(height, top, bottom)[:, None] * ramp(width, left, right)[None, :]


def run_tiled(
    image: np.ndarray,
    fn: Callable[[np.ndarray], np.ndarray],
    tile: int,
    overlap: int,
    check: Callable[[float], None] | None = None,
) -> np.ndarray:
    """Apply ``fn`` ((1, C, h, w) → (1, C', h, w)) over overlapping tiles of ``image``
    (1, C, H, W) and blend. ``check(fraction)`` is called before each tile (progress; may raise
    to cancel)."""
    _, _, h, w = image.shape
    ys, xs = tile_spans(h, tile, overlap), tile_spans(w, tile, overlap)
    out: np.ndarray | None = None
    weight = np.zeros((1, 1, h, w), np.float32)
    total = len(ys) * len(xs)
    done = 0
    for y, th in ys:
        for x, tw in xs:
            if check is not None:
                check(done / total)
            piece = fn(image[:, :, y : y + th, x : x + tw])
            if out is None:
                out = np.zeros((1, piece.shape[1], h, w), np.float32)
            win = feather_window(th, tw, overlap, (y > 0, y + th < h, x > 0, x + tw < w))
            out[:, :, y : y + th, x : x + tw] += piece * win
            weight[:, :, y : y + th, x : x + tw] += win
            done += 1
    assert out is not None
    return out / np.maximum(weight, 1e-8)
