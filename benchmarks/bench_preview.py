"""End-to-end preview latency in the editor: hint stroke released → preview on the canvas.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_preview.py [--size 1024x768] [--strokes 15]

Runs the real window, worker thread and engine (the shipped colourizer when installed, else the
classical engine) at working size 256, and prints the median and the slowest of the measured
latencies. The target on a 2-core CPU is about 150 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PIL import Image
from PySide6.QtWidgets import QApplication

from colorstudio.ui.main_window import MainWindow
from colorstudio.session.tools import Tool


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1024x768")
    parser.add_argument("--strokes", type=int, default=15)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    app = QApplication.instance() or QApplication([])
    folder = Path(tempfile.mkdtemp())
    yy, xx = np.mgrid[0:height, 0:width]
    grey = (100 + 60 * np.sin(xx / 41) * np.cos(yy / 57)).astype(np.uint8)
    Image.fromarray(np.repeat(grey[..., None], 3, axis=2)).save(folder / "photo.png")
    window = MainWindow(folder / "recovery")
    window.resize(1400, 900)
    window.show()
    window.open_path(folder / "photo.png")
    window.set_tool(Tool.HINT)
    shown: list[float] = []
    window.canvas.set_preview = _wrap(window.canvas.set_preview, shown)
    latencies = []
    for i in range(args.strokes + 2):  # two warm-up strokes (model loading, first allocations)
        ctl = window.controller
        y = 40 + (i * 47) % (height - 80)
        ctl.press(100, y)
        ctl.move(200, y + 10)
        ctl.release(300, y + 20)
        before = len(shown)
        start = time.perf_counter()
        window.canvas.stroke_finished.emit()
        while len(shown) == before:
            app.processEvents()
            time.sleep(0.001)
            if time.perf_counter() - start > 60:
                raise SystemExit("no preview within 60 s")
        if i >= 2:
            latencies.append(shown[-1] - start)
    window.document.mark_clean()
    window.close()
    print(
        f"{width}x{height}, working size {window.generate_panel.settings.working_size}, "
        f"{window.status_model.text()}, {args.strokes} strokes\n"
    )
    print("| median | slowest |")
    print("|---|---|")
    print(f"| {statistics.median(latencies) * 1000:.0f} ms | {max(latencies) * 1000:.0f} ms |")


def _wrap(set_preview, shown: list[float]):
    def wrapped(image):
        set_preview(image)
        if image is not None:
            shown.append(time.perf_counter())

    return wrapped


if __name__ == "__main__":
    main()
