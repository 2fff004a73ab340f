"""Colourization evaluated as users paint: strokes inside objects, not random points.

The strokes are painted in regions of the ground truth's colours (:mod:`colorstudio.ml.strokes`).
Two protocols:

1. **True colours** (a restorer who knows the dress was red): each stroke carries its region's
   mean colour. Reported: ΔE00 to the ground truth inside the stroked regions; the change of
   ΔE00 outside them relative to the hint-free result (negative: the strokes helped the rest);
   the share of outside pixels whose error grew by more than 5.
2. **New colours** (an illustrator recolouring one object): each stroke carries its region's
   colour with the hue turned by 90–180°, in regions of chroma ≥ strokes.NEW_MIN_CHROMA (turning the
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

from colorstudio.core.io.images import load_image
from colorstudio.ml import fullres
from colorstudio.ml.metrics import ciede2000
from colorstudio.ml.requests import ColorizeRequest
from colorstudio.ml.strokes import PROTOCOLS, StrokeCase, stroke_case

if TYPE_CHECKING:
    from colorstudio.ml.engine import Engine

MOVED = 5.0  #: ΔE00 that counts as "changed" (leak, error grown)
TOOK = 10.0  #: ΔE00 within which a stroked pixel "took" the new colour


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
    reach), "gan-photo" (the "photo" reach) and "network" (the network's own prediction from
    the strokes, :meth:`Engine.run_network_alone`) when a colourizer network is installed,
    and always "levin" (whose hint-free result is the grey photo)."""

    def method(name: str) -> Colorizer:
        engine_name, _, reach = name.partition("-")
        alone = name == "network"

        def run(grey: np.ndarray, hints: np.ndarray | None) -> np.ndarray:
            if hints is None and name == "levin":
                return grey
            request = ColorizeRequest(
                grey,
                hints=hints,
                engine="gan" if alone else engine_name,
                working_size=working_size,
                hint_reach=reach or "object",
            )
            return (engine.run_network_alone if alone else engine.run)(request).image

        return run

    networks = ("gan", "gan-photo", "network") if engine.colorizer() is not None else ()
    names = (*networks, "levin")
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
