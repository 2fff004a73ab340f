"""Restoration latency: damage detection and inpainting, preview-sized and 24 MP.

    python benchmarks/bench_restore.py [--repeats 3] [--device cpu] [--full-size 6000x4000]

Uses the shipped detector and inpainter when installed, otherwise the same architectures with
random weights (latency does not depend on the weights). Damage is synthetic: "specks" is a few
dust specks (the common case: only the tiles holding damage run), "heavy" covers the whole photo
with scratches, cracks and dust. Prints a markdown table.

With ``--real FOLDER`` (default ../shared/data/realdamage when it exists) a second table follows
the user's path on real damaged prints, each with a freshly made engine: Detect Damage on the
whole print, then the Repair preview the editor asks for (the print at most 800 px long, the
detected mask, the preview's threads): the first one, cold, and the median of the next ones.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from colorstudio.core.geometry import fit_long_side
from colorstudio.ml.damage import synthesize_damage
from colorstudio.ml.engine import Engine
from colorstudio.ml.networks import define_generator
from colorstudio.ml.requests import DetectDamageRequest, RestoreRequest
from colorstudio.ml.weights import find_model
from colorstudio.session.generate import PREVIEW_MAX_SIDE

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "realdamage"
REAL_PRINTS = ("deoldify_02", "deoldify_10", "iopaint_01")


def photo(height: int, width: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    grey = 90 + 60 * np.sin(xx / 37.0) * np.cos(yy / 53.0)
    return np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def specks(height: int, width: int, count: int = 12) -> np.ndarray:
    mask = np.zeros((height, width), np.uint8)
    rng = np.random.default_rng(0)
    for y, x in zip(
        rng.integers(8, height - 8, count), rng.integers(8, width - 8, count), strict=True
    ):
        mask[y - 3 : y + 3, x - 3 : x + 3] = 255
    return mask


def timed(engine: Engine, request, repeats: int) -> float:
    engine.run(request)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        engine.run(request)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def elapsed(start: float) -> str:
    took = time.perf_counter() - start
    return f"{took * 1000:.0f} ms" if took < 1 else f"{took:.2f} s"


def real_prints(folder: Path, repeats: int, device: str) -> None:
    """Detect, then the Repair preview, on real prints, each with a fresh engine."""
    print("\n| real print | size | detect (cold) | found | first Repair preview | again |")
    print("|---|---|---|---|---|---|")
    for name in REAL_PRINTS:
        path = folder / f"{name}.jpg"
        if not path.exists():
            continue
        image = np.asarray(Image.open(path).convert("RGB"))
        h, w = image.shape[:2]
        engine = Engine(device=device)
        start = time.perf_counter()
        mask = engine.run(DetectDamageRequest(image)).mask
        detect = elapsed(start)
        small_h, small_w = fit_long_side(h, w, min(PREVIEW_MAX_SIDE, max(h, w)))
        small = np.asarray(Image.fromarray(image).resize((small_w, small_h), Image.BOX))
        small_mask = np.asarray(Image.fromarray(mask).resize((small_w, small_h), Image.BOX))
        request = RestoreRequest(small, small_mask, preview=True)
        start = time.perf_counter()
        engine.run(request)
        first = elapsed(start)
        again = []
        for _ in range(repeats):
            start = time.perf_counter()
            engine.run(request)
            again.append(time.perf_counter() - start)
        found = f"{(mask > 0).mean() * 100:.1f} %"
        print(
            f"| {name} | {w}×{h} | {detect} | {found} | {first} | "
            f"{statistics.median(again):.2f} s |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--full-size", default="6000x4000", help="WIDTHxHEIGHT")
    parser.add_argument("--real", type=Path, default=REAL, help="folder of real damaged prints")
    args = parser.parse_args()
    engine = Engine(device=args.device)
    shipped = {
        task: find_model(engine.models_dir, task) is not None for task in ("detect", "inpaint")
    }
    if not shipped["detect"]:
        engine._detector = define_generator("detector_unet").eval()
    if not shipped["inpaint"]:
        engine._inpainter = define_generator("inpainter_gated").eval()
    full_w, full_h = (int(v) for v in args.full_size.split("x"))
    small = photo(768, 1024)
    heavy_small, heavy_mask = synthesize_damage(small, np.random.default_rng(1), severity=1.0)
    big = photo(full_h, full_w)
    rows = [
        ("detect, 1024×768", DetectDamageRequest(small)),
        ("inpaint 12 specks, 1024×768", RestoreRequest(small, specks(768, 1024))),
        (
            "inpaint heavy damage, 1024×768",
            RestoreRequest(heavy_small, heavy_mask.astype(np.uint8) * 255),
        ),
        (f"detect, {full_w}×{full_h} (at 1536 px)", DetectDamageRequest(big)),
        (f"inpaint 12 specks, {full_w}×{full_h}", RestoreRequest(big, specks(full_h, full_w))),
    ]
    models = ", ".join(f"{k} {'shipped' if v else 'random'}" for k, v in shipped.items())
    print(f"device {engine.device}, {torch.get_num_threads()} threads; models: {models}")
    print("| case | median |\n|---|---|")
    for label, request in rows:
        seconds = timed(engine, request, args.repeats)
        print(
            f"| {label} | {seconds * 1000:.0f} ms |"
            if seconds < 1
            else f"| {label} | {seconds:.2f} s |"
        )
    if args.real.is_dir():
        real_prints(args.real, args.repeats, args.device)


if __name__ == "__main__":
    main()
