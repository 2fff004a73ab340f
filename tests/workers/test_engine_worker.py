"""The worker thread: results as signals, newest preview wins, cancel, errors, torch-free GUI."""

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from colorstudio.ml.jobs import Cancelled
from colorstudio.ml.requests import AdjustRequest, ColorizeRequest, Result
from colorstudio.workers.engine_worker import PROGRESS_INTERVAL, EngineWorker


class FakeEngine:
    """Records requests; can block on a gate, loop over tiles checking the cancel token, fail."""

    def __init__(self):
        self.seen = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def run(self, request, cancel=None, progress=None):
        self.seen.append(request.request_id)
        self.entered.set()
        self.gate.wait(10)
        if getattr(request, "hue", 0) == 666:
            raise ValueError("the model file is damaged")
        if getattr(request, "hue", 0) == 777:  # one long first stage
            progress(0.1, "loading the model")
            threading.Event().wait(0.6)
        for tile in range(50 if getattr(request, "hue", 0) == 999 else 1):
            if cancel is not None and cancel.cancelled:
                raise Cancelled()
            if progress:
                progress(tile / 50, "tile")
            threading.Event().wait(0.02 if tile else 0)
        return Result.compose(
            request.image, request.image, (0, 0, 1, 1), request.request_id, "fake"
        )


def request(request_id, preview=False, hue=0.0):
    return AdjustRequest(
        np.zeros((2, 2, 3), np.uint8), hue=hue, request_id=request_id, preview=preview
    )


@pytest.fixture
def worker(qtbot):
    engine = FakeEngine()
    thread = EngineWorker(lambda: engine)
    thread.engine_for_test = engine
    thread.start()
    yield thread
    assert thread.stop()
    assert not thread.isRunning()


def test_result_arrives_as_a_signal(qtbot, worker):
    with qtbot.waitSignal(worker.finished_job, timeout=5000) as blocker:
        worker.submit(request(1))
    request_id, result = blocker.args
    assert request_id == 1 and result.engine == "fake"


def test_only_the_newest_pending_preview_is_computed(qtbot, worker):
    engine = worker.engine_for_test
    engine.gate.clear()
    dropped = []
    worker.dropped.connect(dropped.append)
    worker.submit(request(1, preview=True))
    assert engine.entered.wait(5)  # job 1 is running and blocked
    for i in (2, 3, 4):
        worker.submit(request(i, preview=True))
    worker.submit(request(5, preview=False))  # an Apply is never dropped…
    worker.submit(request(6, preview=True))
    with qtbot.waitSignal(worker.finished_job, timeout=5000, check_params_cb=lambda i, r: i == 5):
        engine.gate.set()
    assert engine.seen == [1, 6, 5]  # …but the preview the user waits for goes first
    assert sorted(dropped) == [2, 3, 4]


def test_cancel_stops_between_tiles(qtbot, worker):
    worker.submit(request(7, hue=999))
    assert worker.engine_for_test.entered.wait(5)
    with qtbot.waitSignal(worker.cancelled, timeout=5000) as blocker:
        worker.cancel()
    assert blocker.args == [7]


def test_an_error_is_reported_and_the_thread_lives_on(qtbot, worker):
    with qtbot.waitSignal(worker.failed, timeout=5000) as blocker:
        worker.submit(request(8, hue=666))
    assert blocker.args == [8, "the model file is damaged"]
    with qtbot.waitSignal(worker.finished_job, timeout=5000):
        worker.submit(request(9))
    assert worker.isRunning()


def test_busy_and_progress_signals(qtbot, worker):
    busy, progress = [], []
    worker.busy_changed.connect(busy.append)
    worker.progress.connect(lambda i, f, m: progress.append((i, f, m)))
    with qtbot.waitSignal(worker.finished_job, timeout=5000):
        worker.submit(request(10))  # a quick job: busy, but no progress to repaint
    qtbot.waitUntil(lambda: busy == [True, False], timeout=5000)
    assert progress == []
    started = time.monotonic()
    with qtbot.waitSignal(worker.finished_job, timeout=5000):
        worker.submit(request(12, hue=999))  # 50 tiles over about a second
    elapsed = time.monotonic() - started
    qtbot.waitUntil(lambda: busy == [True, False, True, False], timeout=5000)
    assert 3 <= len(progress) <= elapsed / PROGRESS_INTERVAL + 2  # reported, throttled
    assert all(i == 12 and m == "tile" for i, _f, m in progress)
    assert progress[0][1] > 0  # nothing in the job's first moments
    progress.clear()
    with qtbot.waitSignal(worker.finished_job, timeout=5000):
        worker.submit(request(13, hue=777))  # its only report comes before the delay…
    qtbot.waitUntil(lambda: busy[-1] is False, timeout=5000)
    assert progress[0] == (13, 0.1, "loading the model")  # …and shows while the stage runs


def test_real_engine_on_the_worker_thread(qtbot, tmp_path):
    """The classical engine (no model) through the real Engine, created on the worker thread."""
    from colorstudio.ml.engine import Engine

    thread = EngineWorker(lambda: Engine(models_dir=tmp_path / "none", device="cpu"))
    thread.start()
    image = np.full((40, 60, 3), 128, np.uint8)
    hints = np.zeros((40, 60, 4), np.uint8)
    hints[18:22, 28:32] = (30, 160, 60, 255)
    try:
        with qtbot.waitSignal(thread.finished_job, timeout=30000) as blocker:
            thread.submit(ColorizeRequest(image, hints=hints, request_id=11))
        request_id, result = blocker.args
        assert request_id == 11 and result.engine == "levin"
        assert (
            result.image[5, 5, 1] > result.image[5, 5, 0]
        )  # the green hint spread over the flat image
    finally:
        assert thread.stop()


def python(code: str, env: dict | None = None, check: bool = True):
    """Run ``code`` in a fresh interpreter (what it imports is then the code's alone)."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=check,
        env=env,
    )  # fmt: skip


def test_gui_side_modules_import_no_torch():
    code = (
        "import sys; import colorstudio.app, colorstudio.ui.main_window, "
        "colorstudio.workers.engine_worker; "
        "print('torch' in sys.modules)"
    )
    assert python(code).stdout.strip() == "False"


def test_after_its_first_job_the_worker_freezes_what_is_alive_for_the_collector(qtbot):
    import gc

    gc.unfreeze()
    thread = EngineWorker(FakeEngine)
    thread.start()
    try:
        assert gc.get_freeze_count() == 0
        with qtbot.waitSignal(thread.busy_changed, timeout=5000, check_params_cb=lambda b: not b):
            thread.submit(request(1))
        assert gc.get_freeze_count() > 1000  # the app's modules: a full collection skips them
    finally:
        assert thread.stop()
        gc.unfreeze()


def test_preloading_imports_the_native_runtime_and_never_torch():
    code = (
        "import sys; from colorstudio.workers import engine_worker as w; "
        "before = 'onnxruntime' in sys.modules; w.preload_native_libraries(); "
        "print(before, 'onnxruntime' in sys.modules, 'torch' in sys.modules)"
    )
    assert python(code).stdout.split() == ["False", "True", "False"]


def test_the_window_preloads_before_its_worker_starts(qtbot, tmp_path, monkeypatch):
    from colorstudio.ui import main_window

    order = []
    monkeypatch.setattr(main_window, "preload_native_libraries", lambda: order.append("preload"))
    start = EngineWorker.start
    monkeypatch.setattr(EngineWorker, "start", lambda self: (order.append("start"), start(self)))
    window = main_window.MainWindow(tmp_path / "recovery", engine_factory=FakeEngine)
    qtbot.addWidget(window)
    assert order == ["preload", "start"]
    window.close()


def test_a_broken_native_runtime_does_not_stop_the_window(tmp_path):
    broken = tmp_path / "site" / "onnxruntime"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text(
        "raise ImportError('libonnxruntime.so.1: cannot open shared object file')\n"
    )
    code = (
        "import os, tempfile; os.environ['QT_QPA_PLATFORM'] = 'offscreen'; "
        "from PySide6.QtWidgets import QApplication; app = QApplication([]); "
        "from pathlib import Path; from colorstudio.ui.main_window import MainWindow; "
        "w = MainWindow(Path(tempfile.mkdtemp()), engine_factory=lambda: None); "
        "print('window'); w.close()"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site"), "HOME": str(tmp_path)}
    out = python(code, env, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["window"]
    assert "could not preload onnxruntime" in out.stderr
