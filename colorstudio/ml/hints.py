"""The hint model for strokes that stay on the object they are painted on ("object" reach).

The network predicts a*b* without hints (``base``). Each stroke asks for a correction where it
is painted (stroke colour − base). A pixel takes the kernel-weighted mean of the strokes'
corrections, and against them a phantom "no correction" sample at a fixed distance: a pixel
far from every stroke keeps the network's colour.

The distance is **geodesic**: the length of the shortest path from the stroke to the pixel
across the photo, each step costing how much the photo changes along it —

- **meaning**: the colourizer's own encoder features (stride 8 and 16, each unit length per
  pixel), the network's reading of *what* is there: a path from a cup onto the table it stands
  on crosses a change of meaning even where the grey level does not change;
- **lightness** L*: edges between objects are steps in L*;
- **position**, in long sides: a path is long in a flat area too, so a correction fades with
  distance even inside one large object.

A straight-line likeness in the same features (what the "photo" reach does,
:mod:`colorstudio.ml.fusion`) reaches every alike patch of the photo: a blue stroke on a cup
turned the table blue. A path has to cross the cup's outline to get there. The price: true
colours given as scattered points (the random-hint evaluation) no longer teach the whole
photo, so the "photo" reach stays available for that use. Measurements: docs/hint-model.md.

Hinted pixels take the hint colour exactly. Previews run the same model on the same grid (a
coarser grid would change it: path costs add up per step, and the blur is counted in cells).
Everything is numpy/scipy (no torch): paths by Dijkstra on an 8-neighbour grid graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, sparse
from scipy.sparse.csgraph import dijkstra

from colorstudio.core.geometry import fit_long_side


@dataclass(frozen=True)
class HintModel:
    """The hint model's parameters (each with its reason)."""

    #: meaning change (unit-length encoder features; 0..2 between two pixels) that costs one
    #: kernel width along a path: crossing from one object to another costs about one
    meaning: float = 0.8
    #: L* change that costs one kernel width (an edge of 30 L* is a wall; shading is not)
    lightness: float = 30.0
    #: path length in long sides that costs one kernel width in a flat area
    reach: float = 1.0
    #: the phantom "no correction" sample's distance: a pixel farther than this from every
    #: stroke keeps the network's colour
    prior: float = 3.0
    #: features are blurred over this many grid cells first: texture is not an edge, and a path
    #: across grass must not pay for every blade
    smooth: float = 1.0
    #: grid (long side) on which corrections are computed, previews included; they are smooth
    #: and the guided upsampling brings the edges back
    grid: int = 128
    #: strokes (connected hinted areas) followed separately at most (one shortest-path search
    #: each); beyond this many, nearby strokes are followed together
    max_strokes: int = 256


DEFAULT = HintModel()


def grid_shape(shape: tuple[int, ...], long_side: int) -> tuple[int, int]:
    """(h, w) with the long side at most ``long_side``, at least 4 each but never more than the
    photo's own."""
    h, w = fit_long_side(shape[0], shape[1], long_side, minimum=4)
    return min(h, shape[0]), min(w, shape[1])


def _linear(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) bilinear resampling weights, pixel centres aligned (half-pixel offsets)."""
    x = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    low = np.floor(x).astype(int)
    high = np.minimum(low + 1, n_in - 1)
    weights = np.zeros((n_out, n_in))
    np.add.at(weights, (np.arange(n_out), low), 1 - (x - low))
    np.add.at(weights, (np.arange(n_out), high), x - low)
    return weights


def _resize(a: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(C, h, w) float array resized bilinearly to ``shape`` (two small matrix products)."""
    if a.shape[1:] == tuple(shape):
        return a
    rows, cols = _linear(a.shape[1], shape[0]), _linear(a.shape[2], shape[1])
    return np.einsum("oh,chw,pw->cop", rows, a, cols, optimize=True)


def _area(a: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(C, H, W) → (C, h, w) by box averages (the grid's cells)."""
    _channels, big_h, big_w = a.shape
    ys = np.linspace(0, big_h, shape[0] + 1).round().astype(int)
    xs = np.linspace(0, big_w, shape[1] + 1).round().astype(int)
    sums = np.add.reduceat(np.add.reduceat(a, ys[:-1], axis=1), xs[:-1], axis=2)
    counts = np.outer(np.diff(ys), np.diff(xs))
    return sums / np.maximum(counts, 1)


def meaning_of(features: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """(C, h, w) float32 "meaning" at ``shape`` from encoder levels (each (C_i, h_i, w_i)):
    each resized and scaled to unit length per pixel, joined and divided by sqrt(levels), so
    the whole vector has unit length and distances lie in 0..2."""
    parts = []
    for f in features:
        f = _resize(np.asarray(f, np.float32), shape)
        parts.append(f / np.maximum(np.linalg.norm(f, axis=0, keepdims=True), 1e-6))
    return (np.concatenate(parts) / np.sqrt(len(parts))).astype(np.float32)


def step_graph(features: np.ndarray) -> sparse.csr_matrix:
    """The 8-neighbour grid graph of ``features`` (D, h, w): each edge as long as the features
    change between its two cells (plus a tiny floor, so a flat area still has length)."""
    d, h, w = features.shape
    flat = features.reshape(d, -1)
    rows, cols, lengths = [], [], []
    yy, xx = np.mgrid[0:h, 0:w]
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        ok = (yy + dy < h) & (xx + dx >= 0) & (xx + dx < w)
        p = (yy * w + xx)[ok]
        q = ((yy + dy) * w + xx + dx)[ok]
        rows.append(p)
        cols.append(q)
        lengths.append(np.linalg.norm(flat[:, p] - flat[:, q], axis=0) + 1e-6)
    n = h * w
    edges = (np.concatenate(lengths), (np.concatenate(rows), np.concatenate(cols)))
    return sparse.coo_matrix(edges, shape=(n, n)).tocsr()


def describe(
    lightness: np.ndarray, meaning: np.ndarray, model: HintModel, shape: tuple[int, int]
) -> np.ndarray:
    """(D, h, w) path features at the grid ``shape``: meaning, L* and position, each divided
    by its scale (``lightness`` (H, W) L* 0..100 at the working size, ``meaning`` (C, h', w'));
    meaning and L* blurred by ``model.smooth`` cells."""
    h, w = shape
    light = _area(np.asarray(lightness, np.float64)[None], shape)
    texture = np.concatenate(
        [_resize(meaning, shape).astype(np.float64) / model.meaning, light / model.lightness]
    )
    if model.smooth:
        texture = ndimage.gaussian_filter(texture, (0, model.smooth, model.smooth))
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w) / model.reach
    return np.concatenate([texture, yy[None], xx[None]])


def _strokes(hinted: np.ndarray, most: int) -> tuple[np.ndarray, int]:
    """Label the strokes (8-connected hinted cells) of ``hinted`` (bool h x w): int32 labels
    1..count, 0 elsewhere. With more than ``most``, strokes closer than a growing distance are
    grouped (their cells keep their own corrections; a group weighs as its nearest cell)."""
    grown = hinted
    while True:
        groups, count = ndimage.label(grown, structure=np.ones((3, 3)))
        if count <= most:
            return np.where(hinted, groups, 0).astype(np.int32), count
        grown = ndimage.binary_dilation(grown, structure=np.ones((3, 3)))


@dataclass(frozen=True)
class Paths:
    """A photo's step graph on the model's grid (it depends on the photo alone, so callers
    cache it while the user paints): ``graph`` the 8-neighbour grid graph
    (:func:`step_graph`), ``grid`` its (h, w), ``shape`` the working size (H, W)."""

    graph: sparse.csr_matrix
    grid: tuple[int, int]
    shape: tuple[int, int]


def paths(lightness: np.ndarray, meaning: np.ndarray, model: HintModel = DEFAULT) -> Paths:
    """The :class:`Paths` of a photo: ``lightness`` (H, W) L* 0..100 at the working size,
    ``meaning`` (C, h, w) from :func:`meaning_of`."""
    shape = tuple(lightness.shape)
    grid = grid_shape(shape, model.grid)
    return Paths(step_graph(describe(lightness, meaning, model, grid)), grid, shape)  # type: ignore[arg-type]


def corrections(
    photo: Paths,
    base: np.ndarray,
    hint_ab: np.ndarray,
    hint_mask: np.ndarray,
    model: HintModel = DEFAULT,
) -> tuple[np.ndarray, np.ndarray]:
    """The corrections (2, H, W) the strokes ask of ``base`` at every pixel, and their support
    (H, W), 0..1: the share of each pixel's kernel weight held by strokes rather than by the
    phantom (1: on a stroke's object, 0: out of every stroke's reach).

    ``photo`` from :func:`paths`; ``base`` and ``hint_ab`` (2, H, W) a*b* at the working size,
    ``hint_mask`` (H, W) 0..1; all float. Computed on the grid, brought back bilinearly."""
    shape, grid, graph = photo.shape, photo.grid, photo.graph
    cover = _area(hint_mask[None].astype(np.float64), grid)[0]
    asked = _area((hint_ab - base) * hint_mask, grid).reshape(2, -1) / np.maximum(
        cover.ravel(), 1e-9
    )
    strokes, count = _strokes(cover > 0, model.max_strokes)
    phantom = np.exp(-0.5 * model.prior**2)
    total = np.full(grid[0] * grid[1], phantom)
    change = np.zeros((2, grid[0] * grid[1]))
    labels = strokes.ravel()
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], np.arange(1, count + 2))
    for k in range(count):
        cells = order[starts[k] : starts[k + 1]]
        distance, _, nearest = dijkstra(
            graph, directed=False, indices=cells, min_only=True, limit=model.prior + 3.0,
            return_predecessors=True,
        )  # fmt: skip
        reached = np.isfinite(distance)
        weight = np.exp(-0.5 * distance[reached] ** 2)
        total[reached] += weight
        change[:, reached] += weight * asked[:, nearest[reached]]
    change = (change / total).reshape(2, *grid)
    support = (1 - phantom / total).reshape(1, *grid)
    return _resize(change, shape), _resize(support, shape)[0]


def honour(
    photo: Paths,
    base: np.ndarray,
    hint_ab: np.ndarray,
    hint_mask: np.ndarray,
    model: HintModel = DEFAULT,
) -> np.ndarray:
    """``base`` (2, H, W) corrected by the strokes (:func:`corrections`), hinted pixels taking
    the stroke's a*b* exactly. Arrays as :func:`corrections`; returns float32 (2, H, W)."""
    if not hint_mask.any():
        return base.astype(np.float32)
    change, _support = corrections(photo, base, hint_ab, hint_mask, model)
    return np.where(hint_mask[None] > 0, hint_ab, base + change).astype(np.float32)
