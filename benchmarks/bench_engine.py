"""Engine latency: colourization previews at 256/384/512 and a 24 MP full-resolution run.

    python benchmarks/bench_engine.py [--repeats 5] [--device cpu] [--full-size 6000x4000]

Uses the shipped colourizer when installed, otherwise the same architecture with random weights
(latency does not depend on the weights). Prints a markdown table. Targets on a 2-core CPU:
≤ 150 ms for a 256 preview, ≤ 5 s for 24 MP.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
import torch

from colorstudio.ml.engine import Engine
from colorstudio.ml.networks import define_generator
from colorstudio.ml.requests import ColorizeRequest, ReferenceImage, StylizeRequest
from colorstudio.ml.weights import find_model


def synthetic_photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    grey = 90 + 60 * np.sin(xx / 37.0) * np.cos(yy / 53.0) + rng.normal(0, 6, (height, width))
    return np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def hints_for(height: int, width: int) -> np.ndarray:
    hints = np.zeros((height, width, 4), np.uint8)
    r = max(2, min(height, width) // 150)
    for i, (fy, fx) in enumerate([(0.3, 0.3), (0.6, 0.7), (0.8, 0.2), (0.2, 0.8), (0.5, 0.5)]):
        y, x = int(fy * height), int(fx * width)
        hints[y - r : y + r, x - r : x + r] = ((50 * i) % 255, 120, 200 - 30 * i, 255)
    return hints


def timed(engine: Engine, request, repeats: int) -> tuple[float, float, dict[str, float]]:
    engine.run(request)  # warm-up
    times, last = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        last = engine.run(request)
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), last.timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--full-size", default="6000x4000", help="WIDTHxHEIGHT of the full-res run")
    parser.add_argument("--no-style", action="store_true")
    args = parser.parse_args()
    engine = Engine(device=args.device)
    shipped = find_model(engine.models_dir, "colorize") is not None
    if not shipped:
        engine = Engine(
            device=args.device, colorizer=define_generator("colorizer_lite0", pretrained=False)
        )
    print(
        f"device: {engine.device}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{platform.processor() or platform.machine()}; "
        f"colourizer: {'shipped' if shipped else 'random weights'}\n"
    )
    print("| case | image | working size | median | best | stages (last run) |")
    print("|---|---|---|---|---|---|")
    photo = synthetic_photo(768, 1024)
    for size in (256, 384, 512):
        request = ColorizeRequest(
            photo, hints=hints_for(768, 1024), working_size=size, preview=True
        )
        median, best, stages = timed(engine, request, args.repeats)
        detail = ", ".join(f"{k} {v * 1000:.0f}" for k, v in stages.items())
        print(
            f"| colourize preview | 1024x768 | {size} | {median * 1000:.0f} ms "
            f"| {best * 1000:.0f} ms | {detail} ms |"
        )
    w, h = (int(v) for v in args.full_size.lower().split("x"))
    big = synthetic_photo(h, w)
    request = ColorizeRequest(big, hints=hints_for(h, w), working_size=384)
    median, best, stages = timed(engine, request, max(1, args.repeats // 2))
    detail = ", ".join(f"{k} {v:.2f}" for k, v in stages.items())
    print(
        f"| colourize full res | {w}x{h} ({w * h / 1e6:.0f} MP) | 384 | {median:.2f} s "
        f"| {best:.2f} s | {detail} s |"
    )
    if not args.no_style:
        style_engine = engine
        if find_model(engine.models_dir, "stylize") is None:
            style_engine = Engine(
                device=args.device, stylizer=define_generator("stylizer_adain", pretrained=True)
            )
        painting = ReferenceImage(synthetic_photo(512, 512, 1)[..., ::-1].copy(), "style")
        color = np.ascontiguousarray(np.roll(photo, 5, axis=2))
        for size, keep in ((512, 1.0), (512, 0.0), (1024, 1.0)):
            request = StylizeRequest(color, style=painting, detail=keep, working_size=size)
            median, best, stages = timed(style_engine, request, max(1, args.repeats // 2))
            detail = ", ".join(f"{k} {v:.2f}" for k, v in stages.items())
            print(
                f"| stylize, detail {keep:g} | 1024x768 | {size} | {median:.2f} s | {best:.2f} s "
                f"| {detail} s |"
            )


if __name__ == "__main__":
    main()
