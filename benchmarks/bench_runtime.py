"""The shipped colourizer network alone: PyTorch against ONNX Runtime, interleaved in one run.

    python benchmarks/bench_runtime.py [--repeats 5] [--sizes 256x352 384x512 512x768]

For each thread count (all cores, then half: what previews use) and working size, both
runtimes run the same inputs alternately; the table shows the best and the median of
``--repeats`` runs each, and the speed-up of the medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from colorstudio.ml import onnx_graphs
from colorstudio.ml.manifest import find_model
from colorstudio.ml.networks.graphs import colorizer_example
from colorstudio.ml.torch_nets import torch_net
from colorstudio.ml.weights import load_model

MODELS = Path(__file__).resolve().parent.parent / "models"


def size(text: str) -> tuple[int, int]:
    h, w = (int(v) for v in text.lower().split("x"))
    return h, w


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--sizes", type=size, nargs="+", default=[(256, 352), (384, 512), (512, 768)]
    )
    args = parser.parse_args()
    entry = find_model(MODELS, "colorize")
    assert entry is not None, "no colourizer in models/"
    graph = onnx_graphs.load_graph(entry, MODELS)
    assert graph is not None, "the colourizer ships no ONNX graph: run colorstudio train onnx"
    model = torch_net(load_model(entry, MODELS), entry.architecture, entry.name, "cpu")
    cores = os.cpu_count() or 1
    print(f"colourizer network, {args.repeats} interleaved runs each; ms as best / median\n")
    print("| threads | working size | PyTorch fp32 | ONNX Runtime | speed-up (medians) |")
    print("|---|---|---|---|---|")
    for threads in sorted({cores, max(1, cores // 2)}, reverse=True):
        for h, w in args.sizes:
            inputs = colorizer_example(1, h, w)
            times: dict[str, list[float]] = {"torch": [], "onnx": []}
            for rep in range(args.repeats + 1):  # the first of each: warm-up, not counted
                start = time.perf_counter()
                model.run(threads, None, **inputs)
                took = time.perf_counter() - start
                if rep:
                    times["torch"].append(took)
                start = time.perf_counter()
                graph.run(threads, None, **inputs)
                if rep:
                    times["onnx"].append(time.perf_counter() - start)
            t, o = (statistics.median(times[k]) for k in ("torch", "onnx"))
            cells = [f"{min(times[k]) * 1e3:.0f} / {statistics.median(times[k]) * 1e3:.0f} ms"
                     for k in ("torch", "onnx")]  # fmt: skip
            print(f"| {threads} | {h} x {w} | {cells[0]} | {cells[1]} | {t / o:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
