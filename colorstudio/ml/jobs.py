"""Job plumbing shared by the engine's pipelines: cancel tokens, progress, timings, errors.

torch-free at import, so the GUI side (workers, ui) can use CancelToken and the exceptions.
"""

from __future__ import annotations

import contextlib
import hashlib
import sys
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np

ProgressFn = Callable[[float, str], None]


class ResultCache(dict):
    """Results that outlive a request (the same photo, previewed again), keyed by all they
    depend on; beyond ``limit`` entries the least recently used is dropped."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def get(self, key, default=None):
        if key not in self:
            return default
        value = self.pop(key)  # to the end: the most recently used
        self[key] = value
        return value

    def put(self, key, value):
        while len(self) >= self.limit:
            self.pop(next(iter(self)))
        self[key] = value
        return value

    def kept(self, key, compute: Callable[[], object]):
        """The value under ``key``; computed by ``compute()`` and kept first where missing."""
        value = self.get(key)
        return self.put(key, compute()) if value is None else value


def content_digest(*arrays) -> str:
    """A short digest of tensors' or arrays' contents (anything with ``.numpy()`` or bytes)."""
    digest = hashlib.blake2b(digest_size=16)
    for array in arrays:
        array = array.numpy() if hasattr(array, "numpy") else array
        digest.update(np.ascontiguousarray(array).data)  # the buffer itself: no copy
    return digest.hexdigest()


class EngineError(Exception):
    """A request that cannot be served; ``str()`` is shown to the user."""


class Cancelled(Exception):
    """The job was cancelled between two steps."""


class CancelToken:
    """Set from any thread; the engine checks it between stages and tiles."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled()


def is_oom(err: BaseException) -> bool:
    """True for CUDA (or other accelerator) out-of-memory errors (torch's own type only when
    torch is already loaded: the app profile has none)."""
    torch = sys.modules.get("torch")
    oom_type = getattr(torch, "OutOfMemoryError", None) if torch is not None else None
    text = str(err).lower()
    words = ("out of memory", "failed to allocate", "bad_alloc", "bad allocation")
    return (oom_type is not None and isinstance(err, oom_type)) or any(w in text for w in words)


class Job:
    """Per-request bookkeeping: timings, notes for the user, progress and cancellation."""

    def __init__(
        self, cancel: CancelToken | None = None, progress: ProgressFn | None = None
    ) -> None:
        self.cancel = cancel
        self.progress = progress
        self.timings: dict[str, float] = {}
        self.notes: list[str] = []

    @contextlib.contextmanager
    def stage(self, name: str, fraction: float) -> Iterator[None]:
        self.check(fraction, name)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start

    def check(self, fraction: float, message: str = "") -> None:
        if self.cancel is not None:
            self.cancel.check()
        if self.progress is not None:
            self.progress(fraction, message)


def unchanged(request, job: Job, device: str, engine: str):
    """The Result for a request whose mask is empty: the input, untouched."""
    from colorstudio.ml.requests import Result

    return Result(
        request.image[0:0, 0:0],
        (0, 0, 0, 0),
        request.request_id,
        engine,
        device,
        dict(job.timings),
        ("the mask is empty: nothing to do",),
        source=request.image,
    )
