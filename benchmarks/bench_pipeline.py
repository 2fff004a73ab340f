"""Whole requests on PyTorch against ONNX Runtime, interleaved, each in a fresh process.

    python benchmarks/bench_pipeline.py [--photo PATH] [--rounds 3] [--scan 12]

What a user waits for: a fresh process (``colorstudio colorize``, a batch's first photo, the
editor's first result) imports the runtime, loads the colourizer and renders; later requests
reuse them. Each round starts one process per runtime, alternately; each process times

- cold: from process start (Python's own start-up excluded) to the first final render — the
  import of the engine and its runtime, model loading and the render;
- warm render: a final render (hints, the default working size 384, all cores) again, median
  of three; the same photo with new hints, so the hint-free prediction is cached as in the
  editor;
- warm, new photo: a final render of the photo flipped (nothing cached: every network pass);
- scan: the same request on the photo enlarged to ``--scan`` megapixels (a scanner's output),
  new photo, so everything at full resolution is in it;
- stylize (the photo in colour, a devval painting; the first loads the stylizer), and again with
  another painting; find damage, then repair what was found (each first: loads its model).

Medians over the rounds are printed with the speed-up (PyTorch / ONNX Runtime).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
PAINTING = next(iter(sorted((SHARED / "art").glob("*.jpg"))), None)


def child(photo: Path, runtime: str, scan: float) -> dict:
    started = time.perf_counter()
    import numpy as np
    from PIL import Image

    from colorstudio.ml.engine import Engine
    from colorstudio.ml.requests import (
        ColorizeRequest,
        DetectDamageRequest,
        ReferenceImage,
        RestoreRequest,
        StylizeRequest,
    )

    grey = np.asarray(Image.open(photo).convert("L").convert("RGB"))
    h, w = grey.shape[:2]
    hints = np.zeros((h, w, 4), np.uint8)
    for i, color in enumerate([(200, 60, 40), (40, 120, 200), (60, 160, 60), (220, 200, 80)]):
        y = h // 5 * (i + 1)
        hints[y : y + 8, w // 4 : w // 2] = (*color, 255)
    engine = Engine(models_dir=ROOT / "models", runtime=runtime)
    engine.run(ColorizeRequest(grey, hints=hints))
    timings = {"cold": time.perf_counter() - started}

    def timed(image, layer) -> float:
        start = time.perf_counter()
        engine.run(ColorizeRequest(image, hints=layer))
        return time.perf_counter() - start

    moved = np.roll(hints, h // 10, axis=0)
    timings["warm render"] = statistics.median(timed(grey, moved) for _ in range(3))
    timings["warm, new photo"] = timed(np.ascontiguousarray(grey[:, ::-1]), hints)
    factor = (scan * 1e6 / (h * w)) ** 0.5
    size = (round(w * factor), round(h * factor))
    big = np.asarray(Image.fromarray(grey).resize(size, Image.Resampling.LANCZOS))
    big_hints = np.asarray(Image.fromarray(hints).resize(size, Image.Resampling.NEAREST))
    timings[f"colourize scan {size[0]}x{size[1]}"] = timed(big, big_hints)

    def run(request) -> tuple[float, object]:
        start = time.perf_counter()
        result = engine.run(request)
        return time.perf_counter() - start, result

    colour = np.asarray(Image.open(photo).convert("RGB"))
    painting = np.asarray(Image.open(PAINTING).convert("RGB"))
    style = ReferenceImage(painting, "style")
    timings["stylize (first: loads the stylizer)"] = run(StylizeRequest(colour, style=style))[0]
    other = ReferenceImage(np.ascontiguousarray(painting[::-1]), "style")
    timings["stylize again, another painting"] = run(StylizeRequest(colour, style=other))[0]
    seconds, found = run(DetectDamageRequest(colour))
    timings["find damage (first: loads the detector)"] = seconds
    mask = found.mask if found.mask is not None and found.mask.any() else None
    if mask is None:  # nothing found: repair a painted scratch instead
        mask = np.zeros((h, w), np.uint8)
        mask[h // 3 : h // 3 + 4, w // 8 : w - w // 8] = 255
    timings["repair it (first: loads the inpainter)"] = run(RestoreRequest(colour, mask))[0]
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, default=SHARED / "realold" / "deoldify_08.jpg")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scan", type=float, default=12.0, help="megapixels of the scan case")
    parser.add_argument("--child", choices=("torch", "onnx"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.photo, args.child, args.scan)))
        return
    runs: dict[str, list[dict]] = {"torch": [], "onnx": []}
    for _ in range(args.rounds):
        for runtime in runs:
            command = [sys.executable, __file__, "--child", runtime, "--photo", str(args.photo),
                       "--scan", str(args.scan)]  # fmt: skip
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            runs[runtime].append(json.loads(out.strip().splitlines()[-1]))
    print(f"{args.photo.name}, final renders (colourize: four hint strokes), all cores, "
          f"median of {args.rounds} interleaved rounds\n")  # fmt: skip
    print("| request | PyTorch | ONNX Runtime | speed-up |")
    print("|---|---|---|---|")
    for key in runs["torch"][0]:
        t, o = (statistics.median(run[key] for run in runs[r]) for r in ("torch", "onnx"))
        print(f"| {key} | {t * 1e3:.0f} ms | {o * 1e3:.0f} ms | {t / o:.2f}x |")


if __name__ == "__main__":
    main()
