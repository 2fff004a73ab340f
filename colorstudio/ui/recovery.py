"""Autosave and crash recovery for the main window (a mixin: the window owns the state).

The window provides ``document``, ``path``, ``source``, ``_loading``, ``confirm_discard``,
``autosaver``, ``_autosave_pool``, ``_autosave_future``, ``_autosave_poll``, ``autosave_done``,
``banner``, ``set_document`` and ``show_error``; everything here runs on the GUI thread except the
autosave itself.
"""

from __future__ import annotations

import concurrent.futures
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QMessageBox

from colorstudio.core.io.autosave import (
    RecoveryFile,
    discard_recovery,
    find_recoveries,
    restore,
)
from colorstudio.core.io.errors import FileFormatError


class AutosaveMixin:
    def _on_autosave_timer_timeout(self) -> None:
        """Autosave in a background thread from a snapshot: encoding a 24 MP project takes seconds
        and must not freeze the editor. One autosave at a time; the GUI thread polls for the end
        (no Qt signal is emitted from the plain Python thread)."""
        doc = self.document
        if (
            doc is None
            or self._saving  # the save discards the autosave when it ends
            or self._autosave_future is not None
            or self.canvas.drawing  # half a stroke is not work to recover: the next tick
            or not self.autosaver.due(doc)
        ):
            return
        doc.editor_state = self._editor_state()  # recovered, it opens as it was left
        snapshot = doc.snapshot()
        self._autosave_future = self._autosave_pool.submit(
            self.autosaver.save, snapshot, self._autosave_source()
        )
        self._autosave_poll.start()

    def _on_autosave_poll_timeout(self) -> None:
        future = self._autosave_future
        if future is None or not future.done():
            return
        self._autosave_poll.stop()
        self._autosave_future = None
        error = future.exception()
        if error is not None:
            self.show_error(f"Autosave failed: {error}")
            self.autosave_done.emit("", str(error))
        else:
            self.statusBar().showMessage("Autosaved", 2000)
            self.autosave_done.emit(str(future.result()), "")

    def autosave_now(self, force: bool = True) -> Path | None:
        doc = self.document
        if doc is None or not (force or self.autosaver.due(doc)):
            return None
        doc.editor_state = self._editor_state()
        try:
            return self.autosaver.save(doc, self._autosave_source())
        except (OSError, FileFormatError) as err:
            self.show_error(f"Autosave failed: {err}")
            return None

    def _autosave_source(self) -> str | None:
        """The file the work came from (the project, else the opened image): the recovery
        question names it and the recovered document keeps it."""
        named = self.path or self.source
        return str(named) if named else None

    def pending_recoveries(self) -> list[RecoveryFile]:
        return find_recoveries(self.autosaver.folder, exclude_session=self.autosaver.session)

    def restore_recovery(self, recovery: RecoveryFile) -> bool:
        try:
            loaded = restore(recovery)
        except FileFormatError as err:
            self.show_error(str(err))
            return False
        replaced = (self.path or self.source) if self.document is not None else None
        source = Path(recovery.source_path) if recovery.source_path else None
        self.source = source
        self.set_document(
            loaded.document, source if source and source.suffix.lower() == ".ora" else None
        )
        self.history.mark_unsaved()  # in no file: an edit and its undo do not make it saved
        if self._autosave_future is not None:  # the replaced document's copy must not land last
            concurrent.futures.wait([self._autosave_future])
        if self.autosave_now() is not None:  # the work is in this session's autosave first…
            self._discard(recovery)  # …then the crashed session's copy goes
        closed = (
            f" {replaced.name} was closed for it: File ▸ Open Recent opens it again."
            if replaced is not None and replaced != source
            else ""
        )
        self.banner.show_message(f"Recovered {recovery.title}. Save it to keep it.{closed}", "info")
        return True

    def _discard(self, recovery: RecoveryFile) -> None:
        try:
            discard_recovery(recovery)
        except FileFormatError as err:  # it belongs to a running ColorStudio after all
            self.show_error(str(err))

    def offer_recovery(self) -> None:
        """Ask (non-blocking) whether to restore what a crashed session left behind."""
        recoveries = self.pending_recoveries()
        if not recoveries:
            return
        newest = recoveries[0]
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Recover unsaved work?",
            f"ColorStudio closed unexpectedly. Restore {newest.title}?\n\nLater keeps it on "
            "disk and asks again at the next start.",
            QMessageBox.StandardButton.Yes
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.button(QMessageBox.StandardButton.Yes).setText("Restore")
        box.button(QMessageBox.StandardButton.Cancel).setText("Later")  # also Esc
        box.setObjectName("recovery_box")
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.finished.connect(lambda result: self._on_recovery_box_finished(result, newest))
        box.show()

    def _offer_when_loaded(self) -> None:
        if self._loading or self._saving:
            QTimer.singleShot(200, self._offer_when_loaded)
        else:
            self.offer_recovery()

    def _on_recovery_box_finished(self, result: int, recovery: RecoveryFile) -> None:
        if result == QMessageBox.StandardButton.Yes:
            if self._loading or self._saving:  # that file would replace the recovered work
                self.banner.show_message(
                    "A file is still opening or saving: the recovered work is offered again "
                    "when it is done.",
                    "info",
                )
                self._offer_when_loaded()
            elif self.confirm_discard("restoring the recovered work"):  # painted meanwhile?
                self.restore_recovery(recovery)
            else:
                self.banner.show_message(
                    "The recovered work stays on disk: it is offered again at the next start.",
                    "info",
                )
        elif result == QMessageBox.StandardButton.Discard and self._confirm_discard_recovery(
            recovery
        ):
            self._discard(recovery)

    def _confirm_discard_recovery(self, recovery: RecoveryFile) -> bool:
        """Discarding the recovered work cannot be undone: asked once more."""
        answer = QMessageBox.question(
            self,
            "Discard the recovered work?",
            f"Delete the recovered copy of {recovery.title} for good?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes
