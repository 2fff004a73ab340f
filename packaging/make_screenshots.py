"""Take the README's screenshots from the real editor window with the shipped models.

    python packaging/make_screenshots.py PHOTO --painting PAINTING [--out resources/screenshots]
        [--colourize COLOUR_PHOTO]

- ``editor.png`` (with ``--colourize``): COLOUR_PHOTO made black-and-white, two hint strokes
  painted with the mouse in the colours the photo had there, and the Colourize preview.
- ``restore.png``: PHOTO made into a damaged old print (grey, sepia, seeded synthetic damage),
  *Detect Damage*, then the Repair mode's preview; the compare split shows before | after.
- ``stylize.png``: PHOTO with PAINTING as the style reference, the Stylize preview; split on.

Renders offscreen by default (``QWidget.grab`` paints the window as it appears on a screen); set
``QT_QPA_PLATFORM=xcb`` under Xvfb to use the real platform plugin. The same steps as a user:
the window, its worker thread and the models in ``models/``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def old_print(photo: Path, out: Path, seed: int = 3) -> Path:
    """Grey, sepia-toned copy of ``photo`` with synthetic scratches, dust, cracks and a fold."""
    from colorstudio.ml.damage import synthesize_damage
    from colorstudio.ml.print_look import toned_print

    sepia = toned_print(np.asarray(Image.open(photo).convert("RGB")), sepia=True)
    kinds = ("scratches", "cracks", "dust", "folds")
    damaged, _ = synthesize_damage(sepia, np.random.default_rng(seed), kinds, severity=0.8)
    Image.fromarray(damaged).save(out)
    return out


def grab(window, path: Path) -> None:
    from PySide6.QtWidgets import QApplication

    for _ in range(5):
        QApplication.processEvents()
    window.grab().save(str(path))
    print(f"wrote {path}")


def hint_strokes(window, truth: np.ndarray) -> None:
    """Two short horizontal hint strokes, near the left edge a third down the photo and near
    the right edge two thirds down, painted with the mouse like a user who remembers the
    colours: each in the photo's median colour under it."""
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    from colorstudio.session.tools import Tool

    canvas = window.canvas
    h, w = truth.shape[:2]
    window.set_tool(Tool.HINT)
    for row, (x0, x1) in ((h // 3, (w // 20, w // 4)), (4 * h // 5, (3 * w // 4, 19 * w // 20))):
        xs = range(x0, x1 + 1, max(1, w // 60))
        color = np.median(truth[max(0, row - 4) : row + 5, x0:x1].reshape(-1, 3), axis=0)
        window.tool_options.set_color(tuple(int(c) for c in color))
        points = [canvas.image_to_widget(x, row) for x in xs]
        kinds = (
            [QEvent.Type.MouseButtonPress]
            + [QEvent.Type.MouseMove] * (len(points) - 2)
            + [QEvent.Type.MouseButtonRelease]
        )
        for kind, pos in zip(kinds, points, strict=True):
            moving = kind == QEvent.Type.MouseMove
            released = kind == QEvent.Type.MouseButtonRelease
            event = QMouseEvent(
                kind,
                QPointF(pos),
                canvas.mapToGlobal(QPointF(pos)),
                Qt.MouseButton.NoButton if moving else Qt.MouseButton.LeftButton,
                Qt.MouseButton.NoButton if released else Qt.MouseButton.LeftButton,
                Qt.KeyboardModifier.NoModifier,
            )
            QApplication.sendEvent(canvas, event)


def wait_until(condition, timeout_s: float = 300) -> None:
    """Let the window work until ``condition()`` holds (a preview shown, a mask found)."""
    import time

    from PySide6.QtCore import QEventLoop, QTimer

    loop, poll, end = QEventLoop(), QTimer(), time.monotonic() + timeout_s
    poll.setInterval(20)
    poll.timeout.connect(lambda: (condition() or time.monotonic() > end) and loop.quit())
    poll.start()
    loop.exec()
    poll.stop()


def wait_for_preview(window, timeout_s: float = 300) -> None:
    """Until a finished preview is on the canvas (not a warm-up, not one still updating)."""
    from colorstudio.ui.generation_controller import PREVIEW_LABEL

    canvas = window.canvas
    wait_until(lambda: canvas.preview is not None and canvas.preview_label == PREVIEW_LABEL)


def compare(window, path: Path) -> None:
    """Preview the current mode, show it beside the document with the compare split, grab."""
    window.request_preview(force=True)
    wait_for_preview(window)
    window.act_split.trigger()  # as the user does (Ctrl+K): checks it and shows the split
    window.canvas.fit()
    grab(window, path)
    window.act_split.trigger()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo", type=Path)
    parser.add_argument("--painting", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "screenshots")
    parser.add_argument(
        "--colourize", dest="colorize", type=Path, help="colour photo for editor.png"
    )
    parser.add_argument(
        "--only", choices=["editor"], help="take only editor.png (needs --colourize)"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from colorstudio.core.layer import ReferenceRole
    from colorstudio.session.generate import Mode
    from colorstudio.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        window = MainWindow(Path(folder) / "recovery")
        window.resize(1400, 860)
        window.show()
        window.generation.start_up()  # as the app does
        window.generate_panel.live.setChecked(False)

        if args.only is None:
            window.open_path(old_print(args.photo, Path(folder) / "old-print.png"))
            window.act_detect.trigger()
            wait_until(lambda: bool(window.document.masks))
            window.act_mask.trigger()  # hide the red mask overlay: it would cover the repair
            compare(window, args.out / "restore.png")
            window.document.mark_clean()

            window.open_path(args.photo)
            window.references_panel.add_file(args.painting, ReferenceRole.STYLE)
            window.generate_panel.set_mode(Mode.STYLIZE)
            compare(window, args.out / "stylize.png")
            window.document.mark_clean()

        if args.colorize:
            truth = np.asarray(Image.open(args.colorize).convert("RGB"))
            bw = Path(folder) / f"{args.colorize.stem}.png"
            Image.fromarray(truth).convert("L").save(bw)
            window.open_path(bw)
            worker = window.worker  # the warm-up first, as a user who looks at the photo
            wait_until(lambda: worker.pending_count == 0 and worker._token is None)
            window.generate_panel.set_mode(Mode.COLORIZE)
            window.canvas.fit()
            hint_strokes(window, truth)
            compare(window, args.out / "editor.png")
            window.document.mark_clean()
        window.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
