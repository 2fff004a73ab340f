"""``colorstudio --self-test``: prove an installation (or a frozen build) works end to end.

First checks the installation itself: torch and torchvision import as a matching pair (a
frozen build that misses torchvision's operator library fails here), and every model in the
manifest loads with its SHA-256 verified. Then opens the main window offscreen, colourizes a
generated black-and-white scene with two hint strokes through the real worker thread and the
default model, checks that the hinted regions got their colours and the lightness was kept,
prints what it found and exits 0 (or 1).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def sample_scene(height: int = 240, width: int = 320) -> np.ndarray:
    """A grey 'photo': bright sky, darker ground, a round shape. H x W x 4 uint8."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    grey = np.where(
        yy < height * 0.45, 200 - 40 * yy / height, 95 + 20 * np.sin(xx / 9) * np.cos(yy / 13)
    )
    grey = np.where(
        (yy - height * 0.6) ** 2 + (xx - width * 0.7) ** 2 < (height * 0.12) ** 2, 150, grey
    )
    rgba = np.empty((height, width, 4), np.uint8)
    rgba[..., :3] = np.clip(grey, 0, 255).astype(np.uint8)[..., None]
    rgba[..., 3] = 255
    return rgba


def check_installation(models_dir: Path | None = None) -> list[str]:
    """Failures of the runtime and of loading each installed model (empty when all is well):
    a model with an ONNX graph is opened in ONNX Runtime, one without in torch where torch is
    installed (the ``train`` profile).

    Runs before any window exists: this is a diagnostic, not the editor, so loading models on
    the main thread here does not break the threading rule."""
    from colorstudio.ml.environment import check_runtime

    status = check_runtime()
    if not status.ok:
        return [status.message]
    print(f"self-test: {status.label}")
    from colorstudio import paths
    from colorstudio.ml import onnx_graphs
    from colorstudio.ml.manifest import ModelError, load_manifest
    from colorstudio.ml.runtime import torch_installed

    folder = Path(models_dir) if models_dir is not None else paths.models_dir()
    failures = []
    try:
        entries = load_manifest(folder)
    except ModelError as err:
        return [str(err)]
    for entry in entries:
        try:
            if entry.onnx and onnx_graphs.available():
                for part in entry.onnx:
                    # each part's own file (not the int8 one that stands in for it on the CPU)
                    graph = onnx_graphs.load_graph(entry, folder, part=part, quantized=False)
                    if graph is not None:
                        graph.session(1)
                how = "ONNX graphs opened" if len(entry.onnx) > 1 else "ONNX graph opened"
            elif torch_installed():
                from colorstudio.ml.weights import load_model

                load_model(entry, folder)
                how = "loaded in torch"
            else:
                print(f"self-test: model {entry.name} ({entry.task}) needs PyTorch: skipped")
                continue
        except ModelError as err:
            failures.append(str(err))
        else:
            print(f"self-test: model {entry.name} ({entry.task}) {how}, hash verified")
    return failures


def run_self_test(timeout_s: float = 180.0) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    failures = check_installation()
    if failures:
        for failure in failures:
            print(f"self-test FAILED: {failure}", flush=True)
        return 1
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from colorstudio.core.document import Document
    from colorstudio.ml.color import rgb_to_lab
    from colorstudio.session.tools import Tool
    from colorstudio.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as folder:
        window = MainWindow(Path(folder) / "recovery")
        window.show()
        sample = sample_scene()
        window.set_document(Document.from_rgba(sample), None)
        window.generate_panel.live.setChecked(False)
        window.set_tool(Tool.HINT)
        ctl, h, w = window.controller, sample.shape[0], sample.shape[1]
        for color, y in (((40, 110, 230), 0.15), ((50, 170, 60), 0.8)):
            window.tool_options.set_color(color)
            ctl.press(w * 0.2, h * y)
            ctl.move(w * 0.5, h * y)
            ctl.release(w * 0.8, h * y)
        print(f"self-test: window open, {window.status_model.text()}", flush=True)
        results: dict[str, object] = {}
        loop = QEventLoop()
        window.result_applied.connect(lambda _id: loop.quit())
        window.worker.failed.connect(
            lambda _id, message: (results.setdefault("error", message), loop.quit())
        )
        QTimer.singleShot(int(timeout_s * 1000), loop.quit)
        started = time.perf_counter()
        window.apply_generation()
        loop.exec()
        seconds = time.perf_counter() - started
        doc = window.document
        if "error" in results:
            failures.append(f"generation failed: {results['error']}")
        elif len(doc.layers) < 2:
            failures.append(f"no result within {timeout_s:.0f} s")
        else:
            out = doc.layers[-1].pixels[..., :3]
            lab_out, lab_in = rgb_to_lab(out), rgb_to_lab(sample[..., :3])
            sky = lab_out[int(h * 0.15), int(w * 0.5)]
            ground = lab_out[int(h * 0.8), int(w * 0.5)]
            print(
                f"self-test: colourized in {seconds:.2f} s "
                f"(sky a*b* {sky[1]:.0f},{sky[2]:.0f}; "
                f"ground a*b* {ground[1]:.0f},{ground[2]:.0f})",
                flush=True,
            )
            if not sky[2] < -10:
                failures.append("the blue hint did not turn the sky blue")
            if not ground[1] < -10:
                failures.append("the green hint did not turn the ground green")
            painted = doc.layers[-1].pixels[..., 3] > 0
            drift = (
                np.abs(lab_out[..., 0] - lab_in[..., 0])[painted].max() if painted.any() else 0.0
            )
            if drift > 1.0:
                failures.append(f"lightness changed by {drift:.2f} L*")
        doc.mark_clean()
        window.close()
    app.processEvents()
    if failures:
        for failure in failures:
            print(f"self-test FAILED: {failure}", flush=True)
        return 1
    print("self-test passed", flush=True)
    return 0
