"""The one long-lived worker thread that owns the inference engine.

The GUI submits frozen requests; the worker computes them one at a time. Only the newest pending
*preview* is kept (older previews are dropped unseen), and it runs before anything else pending:
a preview is what the user is waiting to see. Colour suggestions are kept newest-only too (a
click's swatches are stale once the next click comes). Apply and the other jobs are never
dropped and run in the order sent. ``cancel()`` stops the running job between tiles and drops
pending ones. Results, progress and errors come back as Qt signals, delivered on the GUI
thread. An exception in a job becomes ``failed(request_id, message)``; the thread lives on.

The engine (and with it torch) is created lazily *on the worker thread*: importing this module
imports no torch, so the GUI thread never does.

Two things keep the worker from stalling the window through Python's interpreter lock, which
the two threads share (measured with ``benchmarks/bench_preview.py`` and a probe thread that
timed how long it waited for the lock):

- :func:`preload_native_libraries`: a native library's initialisation runs in C without
  releasing the lock (onnxruntime's import held it 16 ms on a quiet CPU, twice that beside busy
  programs). The window imports it before it shows; on the worker it froze the visible window.
  A broken install is left to the environment check, which reports it with the fix.
- after its first job (the start-up warm-up) the worker moves every object alive to the
  collector's permanent generation (``gc.freeze``): what was loaded by then is never scanned
  again, and a full collection, which runs on whichever thread allocates and holds the lock
  throughout, fell from 17-45 ms to under 1 ms. The price: reference cycles alive at that
  moment are never freed (a few dozen small objects; no document exists yet).
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QThread, Signal

from colorstudio.ml.jobs import Cancelled, CancelToken, EngineError

log = logging.getLogger(__name__)

#: a job reports progress only once it has run this long (then its latest stage at once), and
#: a stage's repeated reports (tiles) at most every PROGRESS_INTERVAL: a ~100 ms preview would
#: otherwise make the window repaint its progress bar and status while the worker computes, and
#: on a 2-core machine that work (and the lock Python holds while the window paints) slowed a
#: preview by about 10 %
PROGRESS_DELAY = 0.25
PROGRESS_INTERVAL = 0.05


class _Progress:
    """One job's progress callback (called on the worker thread; a timer flushes the report
    held back during PROGRESS_DELAY, so a long first stage still shows)."""

    def __init__(self, emit: Callable[[float, str], None]) -> None:
        self._emit = emit
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._latest: tuple[float, str] | None = None
        self._shown: tuple[float, str] | None = None
        self._shown_at = 0.0
        self._timer = threading.Timer(PROGRESS_DELAY, self._flush)
        self._timer.daemon = True
        self._timer.start()

    def __call__(self, fraction: float, message: str) -> None:
        with self._lock:
            self._latest = (float(fraction), str(message))
            now = time.monotonic()
            if now - self._started < PROGRESS_DELAY:
                return  # the timer shows the latest, if the job is still running then
            new_stage = self._shown is None or self._shown[1] != message
            if new_stage or now - self._shown_at >= PROGRESS_INTERVAL:
                self._show(now)

    def _flush(self) -> None:
        with self._lock:
            if self._latest is not None and self._shown is None:
                self._show(time.monotonic())

    def _show(self, now: float) -> None:
        assert self._latest is not None
        self._shown, self._shown_at = self._latest, now
        self._emit(*self._latest)

    def close(self) -> None:
        """The job ended: nothing more is reported."""
        with self._lock:
            self._timer.cancel()
            self._latest = None


#: native inference libraries imported on the GUI thread before the window shows (see above);
#: never torch, which the GUI thread must not import
NATIVE_LIBRARIES = ("onnxruntime",)


def preload_native_libraries() -> None:
    """Import the installed :data:`NATIVE_LIBRARIES` (call on the GUI thread at start-up)."""
    for name in NATIVE_LIBRARIES:
        try:
            if importlib.util.find_spec(name) is not None:
                importlib.import_module(name)
        except Exception as err:  # a broken install: EnvironmentProbe says how to fix it
            log.warning("could not preload %s: %s", name, err)


def _replaceable(request: Any) -> str | None:
    """The kind of request a newer one of the same kind makes worthless (None: never drop)."""
    if getattr(request, "preview", False):
        return "preview"
    if type(request).__name__ == "SuggestRequest":
        return "suggest"
    return None


def default_engine_factory() -> Any:
    from colorstudio.ml.engine import Engine

    return Engine()


class EngineWorker(QThread):
    """Signals: ``started_job(id)``, ``progress(id, fraction, message)``,
    ``finished_job(id, result)``, ``failed(id, message)``, ``cancelled(id)``, ``dropped(id)``,
    ``busy_changed(bool)``."""

    started_job = Signal(int)
    progress = Signal(int, float, str)
    finished_job = Signal(int, object)
    failed = Signal(int, str)
    cancelled = Signal(int)
    dropped = Signal(int)
    busy_changed = Signal(bool)

    def __init__(self, engine_factory: Callable[[], Any] | None = None, parent=None) -> None:
        super().__init__(parent)
        self._factory = engine_factory or default_engine_factory
        self._engine: Any = None
        self._condition = threading.Condition()
        self._pending: list[Any] = []
        self._token: CancelToken | None = None
        self._stopping = False
        self._frozen = False

    # ------------------------------------------------------------------ GUI-thread API
    def submit(self, request: Any) -> None:
        """Queue a request (frozen; carries its own ``request_id``)."""
        with self._condition:
            kind = _replaceable(request)
            if kind is not None:
                for old in [r for r in self._pending if _replaceable(r) == kind]:
                    self._pending.remove(old)
                    self.dropped.emit(old.request_id)
            self._pending.append(request)
            self._condition.notify()

    def cancel(self) -> None:
        """Cancel the running job (between tiles) and drop everything pending."""
        with self._condition:
            for old in self._pending:
                self.dropped.emit(old.request_id)
            self._pending.clear()
            if self._token is not None:
                self._token.cancel()

    def cancel_previews(self, request_id: int | None = None) -> None:
        """Drop pending previews and cancel a running preview (e.g. live preview switched off);
        with ``request_id``, only that preview (a newer one supersedes it; a warm-up runs on)."""
        with self._condition:
            for old in [r for r in self._pending if getattr(r, "preview", False)]:
                if request_id is None or old.request_id == request_id:
                    self._pending.remove(old)
                    self.dropped.emit(old.request_id)
            running = self._running_preview and request_id in (None, self._running_id)
            if self._token is not None and running:
                self._token.cancel()

    def stop(self, timeout_ms: int = 30000) -> bool:
        """Cancel everything, end the thread and wait for it."""
        with self._condition:
            self._stopping = True
            self._pending.clear()
            if self._token is not None:
                self._token.cancel()
            self._condition.notify()
        return self.wait(timeout_ms)

    @property
    def pending_count(self) -> int:
        with self._condition:
            return len(self._pending)

    # ------------------------------------------------------------------ worker thread
    _running_preview = False
    _running_id = 0

    def run(self) -> None:
        while True:
            with self._condition:
                while not self._pending and not self._stopping:
                    self._condition.wait()
                if self._stopping:
                    return
                previews = [r for r in self._pending if getattr(r, "preview", False)]
                request = previews[0] if previews else self._pending[0]
                self._pending.remove(request)
                self._token = CancelToken()
                self._running_preview = bool(getattr(request, "preview", False))
                self._running_id = int(getattr(request, "request_id", 0))
                token = self._token
            self._run_one(request, token)
            with self._condition:
                self._token = None
                idle = not self._pending
            if idle:
                self.busy_changed.emit(False)

    def _run_one(self, request: Any, token: CancelToken) -> None:
        request_id = int(getattr(request, "request_id", 0))
        self.busy_changed.emit(True)
        self.started_job.emit(request_id)
        try:
            if self._engine is None:
                self._engine = self._factory()
            progress = _Progress(lambda f, m: self.progress.emit(request_id, f, m))
            try:
                result = self._engine.run(request, cancel=token, progress=progress)
            finally:
                progress.close()
        except Cancelled:
            self.cancelled.emit(request_id)
        except Exception as err:  # any failure becomes a message; the thread lives on
            if isinstance(err, EngineError):  # said to the user as it is: no traceback to keep
                log.warning("job %d failed: %s", request_id, err)
            else:
                log.exception("job %d failed", request_id)
            message = str(err) or type(err).__name__
            self.failed.emit(request_id, message)
        else:
            self.finished_job.emit(request_id, result)
        if not self._frozen:  # the engine and its modules are loaded now: see the module doc
            gc.freeze()
            self._frozen = True
