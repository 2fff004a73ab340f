"""``colorstudio eval colorize DIR``: the colourizer against the grey baseline and Levin et al.

For every photo: make it grey (its own L*, a* = b* = 0), simulate N user hints (5x5 patches whose
colour is the ground truth's mean there, at seeded random positions), colourize with the GAN and
with Levin given the same hints, and compare to the ground truth: PSNR (RGB), mean CIEDE2000,
and the Hasler–Süsstrunk colourfulness of the result. The "network" method is the GAN engine's
network alone (:meth:`Engine.run_network_alone`): its own prediction from the hints, without the
engine's propagation of them or the fusion with Levin — what training has taught it.

Hint placements are random, so each photo is scored with ``draws`` seeded sets of hints per
hint count (0 hints: one run, it is deterministic) and the rows are means over photos and draws.
Draw 0 uses the seeds of the single-draw evaluation (sessions 1–7). The report also gives the
GAN's lead over Levin per photo with its standard error over the photos: with 40 photos a
difference of 0.1–0.2 dB is within one standard error, and a table of means alone hides that.

The local edit ("recolour this region"): an elliptic region of each photo (seeded) is shown
grey, the rest in colour, and recoloured from its surroundings (``RecolourRequest``, no hints)
by each method; PSNR inside the region. The grey row is the region left grey.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from colorstudio.core.io.images import load_image
from colorstudio.ml import fullres
from colorstudio.ml.engine import Engine
from colorstudio.ml.metrics import colorfulness, mean_ciede2000, psnr
from colorstudio.ml.requests import ColorizeRequest, RecolorRequest

log = logging.getLogger(__name__)

HINT_COUNTS = (0, 1, 5, 10, 50)
HINT_PATCH = 5
DRAWS = 3  #: sets of random hints per photo and hint count
#: draw d adds d x this to the seed: with fewer than 1000 photos (the seed is photo x 1000 + count)
#: no two draws share a seed
DRAW_SEED_STRIDE = 1_000_000


def grey_of(rgb: np.ndarray) -> np.ndarray:
    """The black-and-white photo a user would have: same L*, no chroma."""
    lightness = fullres.lightness(rgb)
    return fullres.l_ab_to_rgb(lightness, np.zeros((*lightness.shape, 2), np.float32))


def simulated_hints(gt: np.ndarray, count: int, seed: int) -> np.ndarray:
    """H x W x 4 hint layer with ``count`` 5x5 patches coloured with the ground truth's mean."""
    h, w = gt.shape[:2]
    layer = np.zeros((h, w, 4), np.uint8)
    rng = np.random.default_rng(seed)
    half = HINT_PATCH // 2
    for _ in range(count):
        y = int(rng.integers(half, h - half))
        x = int(rng.integers(half, w - half))
        patch = gt[y - half : y + half + 1, x - half : x + half + 1].reshape(-1, 3).mean(0)
        layer[y - half : y + half + 1, x - half : x + half + 1] = (
            *np.round(patch).astype(np.uint8),
            255,
        )
    return layer


#: what the "gan" and "gan-photo" rows are
REACH_NOTE = (
    "gan: the network engine with the default hint reach (the painted object); gan-photo: the "
    '"everything alike" reach (colorize --hint-reach photo); network: the network\'s own '
    "prediction from the hints, nothing after it."
)


@dataclass
class ColorizeReport:
    """Mean metrics per (method, hint count)."""

    images: int = 0
    rows: dict[tuple[str, int], dict[str, float]] = field(default_factory=dict)
    ground_truth_colorfulness: float = 0.0
    methods: tuple[str, ...] = ()
    #: mean PSNR inside the recoloured region, per method (see the module docstring)
    local_edit: dict[str, float] = field(default_factory=dict)
    draws: int = 1
    #: hint count → (mean, standard error over photos) of the GAN's PSNR minus Levin's
    lead: dict[int, tuple[float, float]] = field(default_factory=dict)

    def value(self, method: str, hints: int, metric: str) -> float:
        return self.rows[(method, hints)][metric]

    def markdown(self) -> str:
        methods = self.methods
        head = "| hints | " + " | ".join(f"{m} PSNR" for m in methods) + " | "
        head += (
            " | ".join(f"{m} ΔE00" for m in methods)
            + " | "
            + " | ".join(f"{m} colourfulness" for m in methods)
            + " |"
        )
        lines = [head, "|" + "---|" * (1 + 3 * len(methods))]
        counts = sorted({n for _, n in self.rows})
        for n in counts:
            cells = [f"{self.value(m, n, 'psnr'):.2f}" for m in methods]
            cells += [f"{self.value(m, n, 'deltae'):.2f}" for m in methods]
            cells += [f"{self.value(m, n, 'colourfulness'):.1f}" for m in methods]
            lines.append(f"| {n} | " + " | ".join(cells) + " |")
        lines.append("")
        lines.append(
            f"{self.images} images, {self.draws} set(s) of random hints each; ground-truth "
            f"colourfulness {self.ground_truth_colorfulness:.1f}. "
            "PSNR in dB on RGB (higher is better), ΔE00 = mean CIEDE2000 (lower is better)."
        )
        if "gan-photo" in methods:
            lines.append(REACH_NOTE)
        if self.lead:
            leads = ", ".join(
                f"{n} hint{'s' if n != 1 else ''} {mean:+.2f} ± {se:.2f}"
                for n, (mean, se) in sorted(self.lead.items())
            )
            lines.append("")
            lines.append(
                f"GAN PSNR minus Levin's, per photo (mean ± standard error over photos, dB): "
                f"{leads}."
            )
        if self.local_edit:
            edits = ", ".join(f"{m} {v:.2f}" for m, v in self.local_edit.items())
            lines.append("")
            lines.append(
                "Local edit (a region shown grey, recoloured from its surroundings; PSNR inside "
                f"it, dB): {edits}."
            )
        return "\n".join(lines)


def evaluate_colorize(
    engine: Engine,
    files: Sequence[Path],
    hint_counts: Sequence[int] = HINT_COUNTS,
    working_size: int = 256,
    sheet_path: Path | None = None,
    sheet_rows: int = 6,
    seed: int = 0,
    draws: int = DRAWS,
) -> ColorizeReport:
    if draws < 1:
        raise ValueError("draws must be at least 1")
    has_gan = engine.colorizer() is not None
    methods = ("grey", "levin") + (("gan", "gan-photo", "network") if has_gan else ())
    sums: dict[tuple[str, int], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    leads: dict[int, list[float]] = defaultdict(list)
    gt_color = 0.0
    local: dict[str, float] = defaultdict(float)
    sheet: list[np.ndarray] = []
    for index, path in enumerate(files):
        gt = load_image(path).rgba[..., :3]
        grey = grey_of(gt)
        gt_color += colorfulness(gt)
        row = [gt, grey]
        for n in hint_counts:
            lead = 0.0
            for draw in range(draws if n else 1):
                outputs = _colorize_outputs(
                    engine, gt, grey, n, seed + 1000 * index + n + DRAW_SEED_STRIDE * draw,
                    has_gan, working_size,
                )  # fmt: skip
                scores = {}
                times = 1 / draws if n else 1  # a 0-hint run stands for every draw
                for method, out in outputs.items():
                    scores[method] = psnr(out, gt)
                    cell = sums[(method, n)]
                    cell["psnr"] += scores[method] * times
                    cell["deltae"] += mean_ciede2000(out, gt) * times
                    cell["colourfulness"] += colorfulness(out) * times
                if has_gan and n:
                    lead += (scores["gan"] - scores["levin"]) / draws
                if draw == 0 and n in (0, 10) and has_gan:
                    row.append(outputs["gan"])
                if draw == 0 and n == 10:
                    row.append(outputs["levin"])
            if has_gan and n:
                leads[n].append(lead)
        region = edit_region(gt.shape[:2], seed + index)
        shown = np.where(region[..., None], grey, gt)
        mask = region.astype(np.uint8) * 255
        local["grey"] += psnr(grey[region], gt[region])
        for method in methods[1:]:
            if method == "gan-photo":  # a recolour keeps to its region whatever the reach
                continue
            alone = method == "network"
            request = RecolorRequest(
                shown, mask=mask, engine="gan" if alone else method, working_size=working_size
            )
            out = (engine.run_network_alone if alone else engine.run)(request).image
            local[method] += psnr(out[region], gt[region])
        if len(sheet) < sheet_rows:
            sheet.append(sheet_row(row))
        log.info("evaluated %s", path.name)
    count = len(files)
    report = ColorizeReport(
        count,
        {k: {m: v / count for m, v in d.items()} for k, d in sums.items()},
        gt_color / count,
        methods,
        {m: v / count for m, v in local.items()},
        draws,
        {n: _mean_and_error(v) for n, v in leads.items()},
    )
    if sheet_path is not None and sheet:
        save_sheet(sheet, sheet_path)
    return report


def _colorize_outputs(
    engine: Engine,
    gt: np.ndarray,
    grey: np.ndarray,
    n: int,
    seed: int,
    has_gan: bool,
    working_size: int,
) -> dict[str, np.ndarray]:
    """Each method's colourization of ``grey`` from ``n`` simulated hints (seeded)."""
    hints = simulated_hints(gt, n, seed) if n else None
    outputs = {"grey": grey}
    outputs["levin"] = (
        engine.run(
            ColorizeRequest(grey, hints=hints, engine="levin", working_size=working_size)
        ).image
        if n
        else grey
    )
    if has_gan:
        asked = ColorizeRequest(grey, hints=hints, engine="gan", working_size=working_size)
        outputs["gan"] = engine.run(asked).image
        outputs["gan-photo"] = engine.run(asked.replace(hint_reach="photo")).image
        outputs["network"] = engine.run_network_alone(asked).image
    return outputs


def _mean_and_error(values: Sequence[float]) -> tuple[float, float]:
    """Mean and its standard error (sample standard deviation / sqrt(n); 0 for one value)."""
    v = np.asarray(values, np.float64)
    error = float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0
    return float(v.mean()), error


def edit_region(shape: tuple[int, int], seed: int) -> np.ndarray:
    """The local edit's region: an ellipse (bool H x W), centre in the middle 40 %, radii 15–30 %
    of the sides, placed by ``seed``."""
    h, w = shape
    rng = np.random.default_rng(seed)
    cy, cx = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w
    ry, rx = rng.uniform(0.15, 0.3) * h, rng.uniform(0.15, 0.3) * w
    yy, xx = np.mgrid[0:h, 0:w]
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1


def save_sheet(rows: list[np.ndarray], path: Path) -> None:
    """Stack contact-sheet rows (padded to one width) and save; .jpg is written at quality 85."""
    width = max(r.shape[1] for r in rows)
    padded = [
        np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows
    ]
    image = Image.fromarray(np.concatenate(padded))
    options: dict[str, Any] = (
        {"quality": 85} if Path(path).suffix.lower() in (".jpg", ".jpeg") else {}
    )
    image.save(path, **options)


def sheet_row(images: list[np.ndarray], height: int = 160) -> np.ndarray:
    tiles = []
    for image in images:
        im = Image.fromarray(image)
        im = im.resize(
            (max(1, round(im.width * height / im.height)), height), Image.Resampling.LANCZOS
        )
        tiles.append(np.pad(np.asarray(im), ((0, 0), (0, 4), (0, 0)), constant_values=255))
    return np.concatenate(tiles, axis=1)
