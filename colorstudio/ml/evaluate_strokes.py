"""Colourization evaluated as users paint: strokes inside objects, not random points.

Regions come from the ground truth: its colours are clustered (k-means in Lab, L* at half
weight) and each cluster split into connected parts; a region is a part holding 2–40 % of the
photo. In one or two regions per photo, one to three strokes are painted the way a mouse paints
them (a brush of about 1.2 % of the long side, dragged along a smooth random path that stays
inside the region). Two protocols:

1. **True colours** (a restorer who knows the dress was red): each stroke carries its region's
   mean colour. Reported: ΔE00 to the ground truth inside the stroked regions; the change of
   ΔE00 outside them relative to the hint-free result (negative: the strokes helped the rest);
   the share of outside pixels whose error grew by more than 5.
2. **New colours** (an illustrator recolouring one object): each stroke carries its region's
   colour with the hue turned by 90–180°, in regions of chroma ≥ NEW_MIN_CHROMA (turning the
   hue of a grey object changes nothing). Reported: the share of stroked-region pixels within
   10 ΔE00 of the new colour (at the pixel's own L*), and the **leak**: the share of pixels
   outside the stroked regions whose colour moved by more than 5 ΔE00 from the hint-free result.

Every number is a mean over photos (each photo counts once). Input photos are made grey.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage
from scipy.cluster.vq import kmeans2

from colorstudio.core.io.images import load_image
from colorstudio.ml import fullres
from colorstudio.ml.metrics import ciede2000
from colorstudio.ml.requests import ColorizeRequest

if TYPE_CHECKING:
    from colorstudio.ml.engine import Engine

CLUSTERS = 8  #: k-means colour clusters of the ground truth
REGION_SHARE = (0.02, 0.4)  #: a region holds this share of the photo
BRUSH = 0.012  #: brush radius in long sides (at least 2 px)
STROKE_STEPS = (6, 16)  #: brush radii walked per stroke, range
NEW_MIN_CHROMA = 10.0  #: new colours: only regions at least this colourful (C*ab)
MOVED = 5.0  #: ΔE00 that counts as "changed" (leak, error grown)
TOOK = 10.0  #: ΔE00 within which a stroked pixel "took" the new colour

PROTOCOLS = ("true", "new")


@dataclass(frozen=True)
class StrokeCase:
    """One photo's painted strokes: ``hints`` H x W x 4 uint8 (the hint layer), ``stroked``
    H x W bool (the stroked regions), ``colours`` H x W x 2 float32 (the stroke a*b* over each
    stroked region, for the new-colour test)."""

    hints: np.ndarray
    stroked: np.ndarray
    colors: np.ndarray


def color_regions(gt: np.ndarray, seed: int = 0) -> tuple[np.ndarray, list[int]]:
    """Connected parts of the ground truth's colour clusters: labels (int32 H x W, 0 = none)
    and the labels of parts whose share of the photo lies within REGION_SHARE."""
    lab = fullres.rgb_to_lab(gt[..., :3]).astype(np.float64)
    lab = ndimage.gaussian_filter(lab, (1.0, 1.0, 0))
    features = lab.reshape(-1, 3) * np.array([0.5, 1.0, 1.0])
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
    for k in range(CLUSTERS):
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


def stroke_case(gt: np.ndarray, protocol: str, seed: int) -> StrokeCase | None:
    """The strokes a user would paint on this photo under ``protocol`` ("true" or "new"),
    seeded; None when no region suits (too few, too thin or, for new colours, too grey)."""
    rng = np.random.default_rng(seed)
    labels, regions = color_regions(gt, seed)
    lab = fullres.rgb_to_lab(gt[..., :3])
    if protocol == "new":
        regions = [
            r for r in regions if np.hypot(*lab[labels == r][:, 1:].mean(0)) >= NEW_MIN_CHROMA
        ]
    rng.shuffle(regions)
    h, w = gt.shape[:2]
    hints = np.zeros((h, w, 4), np.uint8)
    stroked = np.zeros((h, w), bool)
    colors = np.zeros((h, w, 2), np.float32)
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
        rgb = fullres.lab_to_rgb(mean[None, None].astype(np.float32))[0, 0]
        hints[painted] = (*rgb, 255)
        stroked |= region
        colors[region] = fullres.rgb_to_lab(rgb[None, None])[0, 0, 1:]
        wanted -= 1
        if wanted == 0:
            break
    if not stroked.any():
        return None
    return StrokeCase(hints, stroked, colors)


def stroke_scores(
    case: StrokeCase, gt: np.ndarray, hint_free: np.ndarray, result: np.ndarray, protocol: str
) -> dict[str, float]:
    """One photo's scores (see the module docstring); images H x W x 3 uint8."""
    lab_gt, lab_free, lab_out = (fullres.rgb_to_lab(x[..., :3]) for x in (gt, hint_free, result))
    inside, outside = case.stroked, ~case.stroked
    if protocol == "true":
        error = ciede2000(lab_out, lab_gt)
        error_free = ciede2000(lab_free, lab_gt)
        grown = (error - error_free)[outside]
        return {
            "inside": float(error[inside].mean()),
            "outside_change": float(grown.mean()),
            "outside_worse": float((grown > MOVED).mean()),
        }
    target = np.concatenate([lab_out[..., :1], case.colors], -1)
    took = ciede2000(lab_out, target)[inside] <= TOOK
    moved = ciede2000(lab_out, lab_free)[outside] > MOVED
    return {"took": float(took.mean()), "leak": float(moved.mean())}


@dataclass
class StrokeReport:
    """Mean scores per (protocol, method) over the photos that had strokes."""

    photos: dict[str, int] = field(default_factory=dict)
    rows: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)

    def markdown(self) -> str:
        lines = [
            "| method | true: ΔE00 inside | true: ΔE00 change outside | true: outside worse "
            "| new: took the colour | new: leak |",
            "|---|---|---|---|---|---|",
        ]
        for method in dict.fromkeys(m for _, m in self.rows):
            t, n = self.rows.get(("true", method), {}), self.rows.get(("new", method), {})

            def cell(row: dict[str, float], key: str, percent: bool = False) -> str:
                if key not in row:
                    return "–"
                return f"{row[key]:.1%}" if percent else f"{row[key]:+.2f}"

            inside = f"{t['inside']:.2f}" if "inside" in t else "–"
            lines.append(
                f"| {method} | {inside} | {cell(t, 'outside_change')} "
                f"| {cell(t, 'outside_worse', True)} | {cell(n, 'took', True)} "
                f"| {cell(n, 'leak', True)} |"
            )
        lines.append("")
        lines.append(
            f"Strokes painted in ground-truth colour regions (true colours: "
            f"{self.photos.get('true', 0)} photos; new colours, hue turned 90–180°: "
            f"{self.photos.get('new', 0)} photos). Change outside: ΔE00 to the ground truth "
            "outside the stroked regions minus the hint-free result's (negative = the strokes "
            f"helped the rest); worse: outside pixels whose error grew by more than {MOVED:g}; "
            f"took: stroked-region pixels within {TOOK:g} ΔE00 of the new colour; leak: pixels "
            f"outside the stroked regions that moved by more than {MOVED:g} ΔE00."
        )
        if any(method == "gan-photo" for _, method in self.rows):
            from colorstudio.ml.evaluate import REACH_NOTE

            lines.append(REACH_NOTE)
        return "\n".join(lines)


#: method name → fn(grey image, hint layer or None) → colourized image
Colorizer = Callable[[np.ndarray, "np.ndarray | None"], np.ndarray]


def engine_methods(engine: Engine, working_size: int = 256) -> dict[str, Colorizer]:
    """The engine's hinted colourizers as stroke-evaluation methods: "gan" (the "object" hint
    reach) and "gan-photo" (the "photo" reach) when a colourizer network is installed, and
    always "levin" (whose hint-free result is the grey photo)."""

    def method(name: str) -> Colorizer:
        engine_name, _, reach = name.partition("-")

        def run(grey: np.ndarray, hints: np.ndarray | None) -> np.ndarray:
            if hints is None and name == "levin":
                return grey
            request = ColorizeRequest(
                grey,
                hints=hints,
                engine=engine_name,
                working_size=working_size,
                hint_reach=reach or "object",
            )
            return engine.run(request).image

        return run

    names = (("gan", "gan-photo") if engine.colorizer() is not None else ()) + ("levin",)
    return {name: method(name) for name in names}


def evaluate_strokes(
    methods: dict[str, Colorizer],
    files: Sequence[Path],
    seed: int = 0,
    protocols: Sequence[str] = PROTOCOLS,
) -> StrokeReport:
    """Both protocols for every method on every photo (made grey). A method's hint-free result
    is its own run without hints (Levin's: the grey photo)."""
    from colorstudio.ml.evaluate import grey_of

    sums: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    photos: dict[str, int] = defaultdict(int)
    for index, path in enumerate(files):
        gt = load_image(path).rgba[..., :3]
        grey = grey_of(gt)
        free = {name: method(grey, None) for name, method in methods.items()}
        for p, protocol in enumerate(protocols):
            case = stroke_case(gt, protocol, seed + 7919 * index + p)
            if case is None:
                continue
            photos[protocol] += 1
            for name, method in methods.items():
                result = method(grey, case.hints)
                for key, value in stroke_scores(case, gt, free[name], result, protocol).items():
                    sums[(protocol, name)][key] += value
    rows = {
        key: {metric: total / photos[key[0]] for metric, total in values.items()}
        for key, values in sums.items()
    }
    return StrokeReport(dict(photos), rows)
