"""Canvas responsiveness while painting: milliseconds per brush event on large documents.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_canvas.py [--size 6000x4000]

A hint stroke repaints only the overlay; a paint stroke recomposites only its dirty box. Prints a
markdown table of the median time per mouse event (stroke interpolation + render + repaint).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PySide6.QtWidgets import QApplication

from colorstudio.core.document import Document
from colorstudio.core.history import History
from colorstudio.session.tools import Tool, ToolController, ToolState
from colorstudio.ui.canvas import CanvasView


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="6000x4000")
    parser.add_argument("--events", type=int, default=60)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    app = QApplication.instance() or QApplication([])
    rng = np.random.default_rng(0)
    rgba = np.empty((height, width, 4), np.uint8)
    rgba[..., :3] = rng.integers(0, 256, (1, width, 3), dtype=np.uint8)
    rgba[..., 3] = 255
    doc = Document.from_rgba(rgba)
    canvas = CanvasView()
    canvas.resize(1200, 800)
    canvas.show()  # an unshown widget never paints: the numbers would leave out drawing
    controller = ToolController(doc, History(doc), ToolState())
    start = time.perf_counter()
    canvas.set_document(doc, controller)
    opened = time.perf_counter() - start
    canvas.set_zoom(1.0)
    app.processEvents()
    t0 = time.perf_counter()
    canvas.repaint()
    first_paint = time.perf_counter() - t0
    print(f"first paint of the view: {first_paint * 1000:.0f} ms")
    print(f"{width}x{height} ({width * height / 1e6:.0f} MP); first full render {opened:.2f} s\n")
    print("| tool | brush | median per event | slowest |")
    print("|---|---|---|---|")
    for tool, size in (
        (Tool.HINT, 24),
        (Tool.HINT, 120),
        (Tool.BRUSH, 24),
        (Tool.BRUSH, 120),
        (Tool.MASK, 120),
    ):
        controller.state.tool = tool
        controller.state.brush = controller.state.brush.__class__(size=size, hardness=0.7)
        times = []
        x, y = width / 2 - 400, height / 2
        t0 = time.perf_counter()
        box = controller.press(x, y)
        canvas.refresh(box, layers=tool is Tool.BRUSH)
        times.append(time.perf_counter() - t0)
        for i in range(args.events):
            t0 = time.perf_counter()
            box = controller.move(x + 12 * i, y + 40 * np.sin(i / 5))
            if box is not None:
                canvas.refresh(box, layers=tool is Tool.BRUSH)
            canvas.repaint()
            app.processEvents()
            times.append(time.perf_counter() - t0)
        controller.release(x + 12 * args.events, y)
        median, slowest = statistics.median(times) * 1000, max(times) * 1000
        print(f"| {tool.value} | {size} px | {median:.1f} ms | {slowest:.1f} ms |")


if __name__ == "__main__":
    main()
