"""Opening and saving files off the GUI thread: a QThread decodes or encodes, the window stays
live, opening can be cancelled.

:func:`open_in_background` runs :func:`~colorstudio.core.io.opening.open_file` on a thread and
waits in a local event loop (as a modal dialog does): painting, autosave and the Cancel button
keep working while a large photo or project decodes. A progress dialog appears only when the
load takes longer than ``SHOW_AFTER_MS``. A cancelled load finishes on its thread and its result
is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEventLoop, Qt, QThread, QTimer
from PySide6.QtWidgets import QProgressDialog, QWidget

from colorstudio.core.io.errors import FileFormatError
from colorstudio.core.io.opening import OpenedFile, open_file

log = logging.getLogger(__name__)

SHOW_AFTER_MS = 400
_running: set[QThread] = set()  #: cancelled loads still decoding (kept alive until they end)


class LoadThread(QThread):
    """Decodes one file; ``outcome`` is the OpenedFile or the one-line error text."""

    def __init__(self, path: Path, max_pixels: int) -> None:
        super().__init__()
        self.path = path
        self.max_pixels = max_pixels
        self.outcome: OpenedFile | str = "not loaded"

    def run(self) -> None:
        try:
            self.outcome = open_file(self.path, self.max_pixels)
        except FileFormatError as err:
            self.outcome = str(err)
        except MemoryError:
            self.outcome = f"{self.path.name} is too large for the memory available"
        except Exception as err:  # never a traceback for the user: one line, details in the log
            log.exception("opening %s failed", self.path)
            self.outcome = f"{self.path.name} could not be opened ({type(err).__name__})"


def open_in_background(path: Path, max_pixels: int, parent: QWidget) -> OpenedFile | str | None:
    """The opened file, the error text, or None when the user cancelled."""
    thread = LoadThread(path, max_pixels)
    loop = QEventLoop()
    thread.finished.connect(loop.quit)
    dialog = QProgressDialog(f"Opening {path.name}…", "Cancel", 0, 0, parent)
    dialog.setObjectName("open_progress")
    dialog.setWindowTitle("Opening")
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    dialog.canceled.connect(loop.quit)
    dialog.hide()  # shown only if the load is still running after SHOW_AFTER_MS
    QTimer.singleShot(SHOW_AFTER_MS, dialog, lambda: thread.isRunning() and dialog.show())
    thread.start()
    if not thread.isFinished():
        loop.exec()
    cancelled = dialog.wasCanceled() and not thread.isFinished()
    dialog.reset()
    dialog.deleteLater()
    if cancelled:
        _running.add(thread)
        thread.finished.connect(lambda: _running.discard(thread))
        return None
    thread.wait()
    return thread.outcome


def wait_for_cancelled_loads() -> None:
    """At exit: let loads the user cancelled end (a QThread destroyed while it runs aborts the
    process; every load is bounded by the size limits, so this ends)."""
    for thread in list(_running):
        thread.wait()
    _running.clear()


class _Call(QThread):
    """Runs ``work()`` once; keeps what it raised for the caller's thread."""

    def __init__(self, work: Callable[[], None]) -> None:
        super().__init__()
        self.work = work
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.work()
        except BaseException as err:  # raised again on the GUI thread by the caller
            self.error = err


def save_in_background(save: Callable[[], None], name: str, parent: QWidget) -> None:
    """Run ``save`` (writing ``name``) on a thread while the window stays live: a 24 MP project
    takes seconds to encode, and a window that stops painting looks hung. Returns when it is
    done and raises what it raised. A progress dialog, window-modal and without Cancel (an
    atomic save cannot be half kept), appears if it takes longer than ``SHOW_AFTER_MS``; the
    caller keeps other saves and closing out meanwhile."""
    thread = _Call(save)
    loop = QEventLoop()
    thread.finished.connect(loop.quit)
    dialog = QProgressDialog(f"Saving {name}…", "", 0, 0, parent)
    dialog.setObjectName("save_progress")
    dialog.setWindowTitle("Saving")
    dialog.setCancelButton(None)  # type: ignore[arg-type]
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    dialog.hide()
    QTimer.singleShot(SHOW_AFTER_MS, dialog, lambda: thread.isRunning() and dialog.show())
    thread.start()
    if not thread.isFinished():
        loop.exec()
    thread.wait()
    dialog.reset()
    dialog.deleteLater()
    if thread.error is not None:
        raise thread.error
