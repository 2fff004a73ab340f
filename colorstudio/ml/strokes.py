"""Strokes a user paints on objects, simulated on a ground-truth photo: for the stroke
protocols of ``eval colorize`` (:mod:`colorstudio.ml.evaluate_strokes`) and for training the
colourizer on strokes (:mod:`colorstudio.ml.train.simulate`).

Regions come from the ground truth: its colours are clustered (k-means in Lab, L* at half
weight) and each cluster split into connected parts; a region is a part holding 2–40 % of the
photo. In one or two regions, one to three strokes are painted the way a mouse paints them (a
brush of about 1.2 % of the long side, dragged along a smooth random path that stays inside the
region), in the region's mean colour ("true") or with its hue turned by 90–180° ("new").

numpy + scipy only. Images are H x W x 3 uint8.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.cluster.vq import kmeans2

from colorstudio.ml import fullres

CLUSTERS = 8  #: k-means colour clusters of the ground truth
LIGHTNESS_WEIGHT = 0.5  #: the clusters weigh L* this much against a*b* (eval colorize)
REGION_SHARE = (0.02, 0.4)  #: a region holds this share of the photo
BRUSH = 0.012  #: brush radius in long sides (at least 2 px)
STROKE_STEPS = (6, 16)  #: brush radii walked per stroke, range
NEW_MIN_CHROMA = 10.0  #: new colours: only regions at least this colourful (C*ab)

PROTOCOLS = ("true", "new")


@dataclass(frozen=True)
class StrokeCase:
    """One photo's painted strokes: ``hints`` H x W x 4 uint8 (the hint layer), ``regions``
    H x W int32 (which stroked region each pixel is in, 1, 2…; 0 outside them), ``colours``
    H x W x 2 float32 (the stroke a*b* over each stroked region, for the new-colour test),
    ``turn`` H x W float32 (radians: how far each stroked region's hue was turned; 0 elsewhere
    and for true colours)."""

    hints: np.ndarray
    regions: np.ndarray
    colors: np.ndarray
    turn: np.ndarray

    @property
    def stroked(self) -> np.ndarray:
        """The stroked regions: H x W bool."""
        return self.regions > 0


def color_regions(
    gt: np.ndarray, seed: int = 0, lightness_weight: float = LIGHTNESS_WEIGHT
) -> tuple[np.ndarray, list[int]]:
    """Connected parts of the ground truth's colour clusters: labels (int32 H x W, 0 = none)
    and the labels of parts whose share of the photo lies within REGION_SHARE. The clusters
    weigh L* by ``lightness_weight`` against a*b*."""
    lab = fullres.rgb_to_lab(gt[..., :3]).astype(np.float64)
    lab = ndimage.gaussian_filter(lab, (1.0, 1.0, 0))
    features = lab.reshape(-1, 3) * np.array([lightness_weight, 1.0, 1.0])
    rng = np.random.default_rng(seed)
    sample = features[rng.choice(len(features), min(len(features), 4000), replace=False)]
    centres, _ = kmeans2(sample, CLUSTERS, minit="++", seed=rng)
    clusters = np.concatenate(
        [  # nearest centre, a million pixels at a time (bounded memory)
            ((chunk[:, None, :] - centres[None]) ** 2).sum(-1).argmin(1)
            for chunk in np.array_split(features, max(1, len(features) // 1_000_000))
        ]
    ).reshape(gt.shape[:2])
    labels = np.zeros(gt.shape[:2], np.int32)
    keep, offset = [], 0
    area = gt.shape[0] * gt.shape[1]
    for k in np.unique(clusters):
        opened = ndimage.binary_opening(clusters == k, iterations=1)
        parts, count = ndimage.label(opened)
        if count == 0:
            continue
        labels[opened] = parts[opened] + offset
        shares = np.bincount(parts.ravel(), minlength=count + 1)[1:] / area
        wanted = (shares >= REGION_SHARE[0]) & (shares <= REGION_SHARE[1])
        keep.extend((offset + 1 + np.flatnonzero(wanted)).tolist())
        offset += count
    return labels, keep


def paint_strokes(region: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` mouse-like strokes inside ``region`` (bool H x W): discs of the brush radius
    along smooth random paths that never leave the region. Returns the painted bool mask (empty
    when the region is too thin for the brush)."""
    h, w = region.shape
    radius = max(2, round(BRUSH * max(h, w)))
    inner = ndimage.binary_erosion(region, iterations=radius)
    painted = np.zeros_like(region)
    ys, xs = np.nonzero(inner)
    if len(ys) == 0:
        return painted
    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    disc = yy**2 + xx**2 <= radius**2
    for _ in range(count):
        i = int(rng.integers(len(ys)))
        y, x = float(ys[i]), float(xs[i])
        angle = rng.uniform(0, 2 * np.pi)
        for _step in range(int(rng.integers(*STROKE_STEPS))):
            iy, ix = round(y), round(x)
            if not (0 <= iy < h and 0 <= ix < w and inner[iy, ix]):
                break
            y0, x0 = iy - radius, ix - radius
            sub = painted[max(0, y0) : iy + radius + 1, max(0, x0) : ix + radius + 1]
            top, left = max(0, -y0), max(0, -x0)
            sub |= disc[top : top + sub.shape[0], left : left + sub.shape[1]]
            angle += rng.normal(0, 0.35)
            y += np.sin(angle) * radius * 0.8
            x += np.cos(angle) * radius * 0.8
    return painted & region


def stroke_case(
    gt: np.ndarray, protocol: str, seed: int, lightness_weight: float = LIGHTNESS_WEIGHT
) -> StrokeCase | None:
    """The strokes a user would paint on this photo under ``protocol`` ("true" or "new"),
    seeded; None when no region suits (too few, too thin or, for new colours, too grey).
    ``lightness_weight``: see :func:`color_regions`."""
    rng = np.random.default_rng(seed)
    labels, regions = color_regions(gt, seed, lightness_weight)
    lab = fullres.rgb_to_lab(gt[..., :3])
    if protocol == "new":
        regions = [
            r for r in regions if np.hypot(*lab[labels == r][:, 1:].mean(0)) >= NEW_MIN_CHROMA
        ]
    rng.shuffle(regions)
    h, w = gt.shape[:2]
    hints = np.zeros((h, w, 4), np.uint8)
    colors = np.zeros((h, w, 2), np.float32)
    turned = np.zeros((h, w), np.float32)
    numbered = np.zeros((h, w), np.int32)
    wanted = int(rng.integers(1, 3))
    for region_label in regions:
        region = labels == region_label
        painted = paint_strokes(region, int(rng.integers(1, 4)), rng)
        if not painted.any():
            continue
        mean = lab[region].mean(0)
        if protocol == "new":
            turn = np.radians(rng.uniform(90, 180) * rng.choice([-1, 1]))
            c, s = np.cos(turn), np.sin(turn)
            mean = np.array([mean[0], c * mean[1] - s * mean[2], s * mean[1] + c * mean[2]])
            turned[region] = turn
        rgb = fullres.lab_to_rgb(mean[None, None].astype(np.float32))[0, 0]
        hints[painted] = (*rgb, 255)
        numbered[region] = numbered.max() + 1
        colors[region] = fullres.rgb_to_lab(rgb[None, None])[0, 0, 1:]
        wanted -= 1
        if wanted == 0:
            break
    if not numbered.any():
        return None
    return StrokeCase(hints, numbered, colors, turned)
