"""Editor fixtures: a window with an engine that needs no model, and user-like pointer input."""

import threading

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from colorstudio.ml.jobs import Cancelled
from colorstudio.ml.requests import Result
from colorstudio.ui.main_window import MainWindow


class FakeEngine:
    """Inverts the image inside the request's mask (or everywhere), or misbehaves on demand."""

    def __init__(self):
        self.requests = []
        self.mode = "ok"  # "ok" | "fail" | "slow"
        self.started = threading.Event()

    def run(self, request, cancel=None, progress=None):
        self.requests.append(request)
        self.started.set()
        if self.mode == "fail":
            raise RuntimeError("simulated engine crash")
        if self.mode == "slow":
            for i in range(200):
                if cancel is not None and cancel.cancelled:
                    raise Cancelled()
                if progress:
                    progress(i / 200, "tile")
                threading.Event().wait(0.01)
        out = request.image.copy()
        out[..., :3] = 255 - out[..., :3]
        if request.mask is not None:
            out = np.where(request.mask[..., None] > 0, out, request.image)
        h, w = out.shape[:2]
        return Result.compose(request.image, out, (0, 0, h, w), request.request_id, "fake", "cpu")


@pytest.fixture
def fake_engine():
    return FakeEngine()


@pytest.fixture(autouse=True)
def _questions_never_wait_for_a_click(monkeypatch):
    """Offscreen nobody would ever click: a test that expects a question patches it itself.
    The one question a test's end may raise (an Apply still running when its window closes)
    is answered Yes; any other the test did not expect fails it."""
    asked = []

    def answer(_parent, _title, text, *_args, **_kwargs):
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", answer)
    yield
    unexpected = [text for text in asked if "An Apply is still running" not in text]
    assert not unexpected, f"questions no test answered: {unexpected}"


@pytest.fixture
def make_editor(qtbot, tmp_path):
    def make(engine_factory):
        win = MainWindow(tmp_path / "recovery", engine_factory=engine_factory)
        qtbot.addWidget(win, before_close_func=lambda w: w.document and w.document.mark_clean())
        win.resize(1200, 800)
        win.show()
        qtbot.waitExposed(win)
        return win

    return make


@pytest.fixture
def editor(make_editor, fake_engine):
    return make_editor(lambda: fake_engine)


@pytest.fixture
def photo(tmp_path):
    yy, xx = np.mgrid[0:120, 0:160]
    grey = (50 + xx + 10 * np.sin(yy / 5)).clip(0, 255).astype(np.uint8)
    path = tmp_path / "photo.png"
    Image.fromarray(np.repeat(grey[..., None], 3, axis=2)).save(path)
    return path


def send_mouse(widget, kind, pos, button=Qt.MouseButton.LeftButton):
    buttons = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else button
    event = QMouseEvent(
        kind,
        QPointF(pos),
        widget.mapToGlobal(QPointF(pos)),
        button if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton,
        buttons,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, event)


def drag(canvas, points):
    """Press at the first image point, move through the others, release at the last."""
    widget_points = [canvas.image_to_widget(x, y) for x, y in points]
    send_mouse(canvas, QEvent.Type.MouseButtonPress, widget_points[0])
    for p in widget_points[1:]:
        send_mouse(canvas, QEvent.Type.MouseMove, p)
    send_mouse(canvas, QEvent.Type.MouseButtonRelease, widget_points[-1])


@pytest.fixture(autouse=True)
def _no_thread_left_running(monkeypatch):
    """Fail a test that leaves a QThread running (as napari's test suite does): every thread
    started during the test must have ended by its teardown (widgets are closed first)."""
    import weakref

    from PySide6.QtCore import QThread

    started = []
    start = QThread.start

    def recording_start(self, *args):
        started.append(weakref.ref(self))
        return start(self, *args)

    monkeypatch.setattr(QThread, "start", recording_start)
    yield
    running = []
    for ref in started:
        thread = ref()
        if thread is not None and thread.isRunning() and not thread.wait(2000):
            running.append(type(thread).__name__)
    assert not running, f"the test left threads running: {running}"


@pytest.fixture
def make_window(qtbot, tmp_path):
    """Windows whose documents are marked clean before qtbot closes them (no modal prompt)."""
    made = []

    def make():
        from colorstudio.ml.engine import Engine

        win = MainWindow(
            tmp_path / "recovery",
            engine_factory=lambda: Engine(models_dir=tmp_path / "none", device="cpu"),
        )
        qtbot.addWidget(win, before_close_func=lambda w: w.document and w.document.mark_clean())
        made.append(win)
        return win

    return make


@pytest.fixture
def window(make_window):
    win = make_window()
    win.show()
    return win
