"""Overlapping tiles with feathered (raised-cosine) blending, for nets that change every pixel."""

from __future__ import annotations

from collections.abc import Callable

import torch


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    if length <= tile:
        return [0]
    step = tile - overlap
    starts = [*range(0, length - tile, step), length - tile]
    return sorted(set(starts))


def feather_window(
    height: int, width: int, overlap: int, edges: tuple[bool, bool, bool, bool]
) -> torch.Tensor:
    """(height, width) weights ramping over ``overlap`` px on the edges shared with neighbours.

    ``edges`` = (top, bottom, left, right): True where another tile overlaps.
    """

    def ramp(n: int, start: bool, end: bool) -> torch.Tensor:
        w = torch.ones(n)
        k = min(overlap, n // 2)
        if k > 0:
            r = 0.5 - 0.5 * torch.cos(torch.linspace(0, torch.pi, k + 2)[1:-1])
            if start:
                w[:k] = r
            if end:
                w[-k:] = r.flip(0)
        return w

    top, bottom, left, right = edges
    return ramp(height, top, bottom)[:, None] * ramp(width, left, right)[None, :]


def run_tiled(
    image: torch.Tensor,
    fn: Callable[[torch.Tensor], torch.Tensor],
    tile: int,
    overlap: int,
    check: Callable[[float], None] | None = None,
) -> torch.Tensor:
    """Apply ``fn`` ((1, C, h, w) → (1, C', h, w)) over overlapping tiles of ``image`` (1, C, H, W)
    and blend. ``check(fraction)`` is called before each tile (progress; may raise to cancel)."""
    _, _, h, w = image.shape
    ys, xs = tile_starts(h, tile, overlap), tile_starts(w, tile, overlap)
    out: torch.Tensor | None = None
    weight = torch.zeros(1, 1, h, w)
    total = len(ys) * len(xs)
    done = 0
    for y in ys:
        for x in xs:
            if check is not None:
                check(done / total)
            th, tw = min(tile, h), min(tile, w)
            piece = fn(image[:, :, y : y + th, x : x + tw]).float().cpu()
            if out is None:
                out = torch.zeros(1, piece.shape[1], h, w)
            win = feather_window(th, tw, overlap, (y > 0, y + th < h, x > 0, x + tw < w))[
                None, None
            ]
            out[:, :, y : y + th, x : x + tw] += piece * win
            weight[:, :, y : y + th, x : x + tw] += win
            done += 1
    assert out is not None
    return out / weight.clamp(min=1e-8)
