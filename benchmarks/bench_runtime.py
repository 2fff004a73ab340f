"""Every shipped network alone: PyTorch against ONNX Runtime, interleaved in one run.

    python benchmarks/bench_runtime.py [--repeats 5] [--sizes 256x352 512x768]

For each graph, thread count (all cores, then half: what previews use) and input size, both
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
from colorstudio.ml.manifest import load_manifest
from colorstudio.ml.networks.graphs import GRAPHS
from colorstudio.ml.torch_nets import torch_net
from colorstudio.ml.weights import load_model

MODELS = Path(__file__).resolve().parent.parent / "models"


def size(text: str) -> tuple[int, int]:
    h, w = (int(v) for v in text.lower().split("x"))
    return h, w


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", type=size, nargs="+", default=[(256, 352), (512, 768)])
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(f"every shipped graph alone, {args.repeats} interleaved runs each; ms as best / median\n")
    print("| graph | threads | input size | PyTorch fp32 | ONNX Runtime | speed-up (medians) |")
    print("|---|---|---|---|---|---|")
    for entry in load_manifest(MODELS):
        model = load_model(entry, MODELS)
        for part, spec in GRAPHS[entry.architecture].items():
            graph = onnx_graphs.load_graph(entry, MODELS, part=part)
            assert graph is not None, f"{entry.name} ships no {part} graph: run train onnx"
            net = torch_net(model, entry.architecture, part, entry.name, "cpu")
            label = entry.name if part == "main" else f"{entry.name} {part}"
            for threads in sorted({cores, max(1, cores // 2)}, reverse=True):
                for h, w in args.sizes:
                    inputs = spec.example(model, 1, h, w)
                    times: dict[str, list[float]] = {"torch": [], "onnx": []}
                    for rep in range(args.repeats + 1):  # the first of each: warm-up
                        for name, runner in (("torch", net), ("onnx", graph)):
                            start = time.perf_counter()
                            runner.run(threads, None, **inputs)
                            if rep:
                                times[name].append(time.perf_counter() - start)
                    t, o = (statistics.median(times[k]) for k in ("torch", "onnx"))
                    cells = [f"{min(times[k]) * 1e3:.0f} / {statistics.median(times[k]) * 1e3:.0f}"
                             for k in ("torch", "onnx")]  # fmt: skip
                    print(f"| {label} | {threads} | {h} x {w} | {cells[0]} ms | {cells[1]} ms "
                          f"| {t / o:.2f}x |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
