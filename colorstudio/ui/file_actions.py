"""Files for the main window (a mixin: the window owns the state): open off the GUI thread,
verified saves, export, File ▸ New, recent files, and the unsaved-changes question.

The window provides ``document``, ``history``, ``controller``, ``path``, ``source``, ``exif``,
``_loading``, ``editor_settings``, ``store``, ``autosaver``, ``canvas``, ``banner``,
``recent_menu``, ``set_document``, ``show_error`` and ``_update_title``.
"""

from __future__ import annotations

import concurrent.futures
import logging
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QFileDialog, QMessageBox

from colorstudio.core.compositing import composite
from colorstudio.core.document import Document
from colorstudio.core.io.errors import FileFormatError
from colorstudio.core.io.images import IMPORT_SUFFIXES, save_image
from colorstudio.core.io.ora import save_ora
from colorstudio.ui.dialogs import new_document_size
from colorstudio.ui.file_loading import open_in_background, save_in_background

log = logging.getLogger(__name__)

IMAGE_FILTER = "Images and projects (*.ora " + " ".join(f"*{s}" for s in IMPORT_SUFFIXES) + ")"
MAX_RECENT = 10


class FileActionsMixin:
    def open_path(self, path: str | Path) -> bool:
        """Open an image or a project, decoded off the GUI thread (see :mod:`file_loading`).
        On failure or cancel the current document stays as it was."""
        path = Path(path)
        if self._loading or self._saving:  # one file at a time (a drop or a menu meanwhile)
            busy = "saving" if self._saving else "opening the previous file"
            self.statusBar().showMessage(f"Still {busy}", 3000)
            return False
        if not self.confirm_discard("opening another file"):
            return False
        max_pixels = self.editor_settings.max_megapixels * 1_000_000
        self._loading = True
        try:
            opened = open_in_background(path, max_pixels, self)
        finally:
            self._loading = False
        if opened is None:
            self.statusBar().showMessage(f"Opening {path.name} cancelled", 4000)
            return False
        if isinstance(opened, str):  # messages mostly begin with the file's name already
            self.show_error(open_failure(path.name, opened))
            return False
        self.source = path
        self.set_document(opened.document, opened.project_path, opened.exif)
        if opened.notes:
            self.banner.show_message(f"{path.name}: " + "; ".join(opened.notes), "info")
        self._add_recent(path)
        return True

    def save(self) -> bool:
        if self.document is None:
            return False
        if self.path is None:
            return self.save_as_dialog()
        return self.save_to(self.path)

    def save_to(self, path: str | Path) -> bool:
        if self.document is None or self.history is None:
            return False
        path = Path(path)
        if path.suffix.lower() != ".ora":
            path = path.with_suffix(".ora")
        if self._saving:  # a save is running (its dialog is up): one at a time
            self.statusBar().showMessage("Still saving", 3000)
            return False
        self.canvas.end_gesture()  # Ctrl+S mid-stroke: the whole stroke so far, as one step
        doc, history = self.document, self.history
        doc.editor_state = self._editor_state()
        self._saving = True  # no other save, no other document, no autosave until it ends
        existed = False
        try:
            # written from a copy on a thread: the window stays live, and an edit or an Apply
            # that lands meanwhile is not half in the file (it leaves the document dirty)
            existed = path.exists()
            snapshot, saved = doc.snapshot(), history.state()
            save_in_background(lambda: save_ora(snapshot, path), path.name, self)
        except Exception as err:  # a defect must never cost the document either: say so, keep it
            if not isinstance(err, OSError | FileFormatError):
                log.exception("saving %s failed", path)
            self._save_error = save_failure(path, err, existed)
            self.show_error(self._save_error)
            return False
        finally:
            self._saving = False
        self.clear_message(self._save_error)  # an earlier failure to save is not true any more
        self.path = path
        history.set_clean_at(saved)
        # no autosave ran during the save, so any recovery copy is older than the file: it goes
        # (one still writing ends first); an edit made meanwhile is autosaved at the next tick
        if self._autosave_future is not None:
            concurrent.futures.wait([self._autosave_future])
        self.autosaver.discard()
        self._add_recent(path)
        self._update_title()
        self.statusBar().showMessage(f"Saved {path.name}", 4000)
        return True

    _save_error = ""  #: the last "could not save" message shown

    def _editor_state(self) -> dict:
        ctl = self.controller
        return {
            "active_layer": ctl.active_layer_id if ctl else None,
            "active_mask": ctl.active_mask_id if ctl else None,
            "zoom": self.canvas.zoom,
            "mode": self.generate_panel.settings.mode.name,  # what the user was doing…
            "show_mask": self.act_mask.isChecked(),  # …and saw: a repair hides the mask
        }

    def export_to(self, path: str | Path, quality: int = 92) -> bool:
        if self.document is None:
            return False
        doc = self.document
        try:
            save_image(
                path, composite(doc.layers, doc.height, doc.width), quality=quality, exif=self.exif
            )
        except (FileFormatError, OSError) as err:
            self.show_error(f"Could not export {Path(path).name}: {err}")
            return False
        self.statusBar().showMessage(f"Exported {Path(path).name}", 4000)
        return True

    def open_dialog(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Open", self._last_folder(), IMAGE_FILTER)
        if name:
            self.open_path(name)

    def save_as_dialog(self) -> bool:
        suggested = (
            Path(self._last_folder()) / f"{self.source.stem if self.source else 'Untitled'}.ora"
        )
        name, _ = QFileDialog.getSaveFileName(
            self, "Save project", str(suggested), "OpenRaster project (*.ora)"
        )
        return bool(name) and self.save_to(name)

    def new_dialog(self) -> None:
        """File ▸ New: a white canvas of a chosen size."""
        size = new_document_size(self)
        if size is None:
            return
        limit = self.editor_settings.max_megapixels * 1_000_000
        if size[0] * size[1] > limit:
            self.show_error(
                f"A {size[0]:,} x {size[1]:,} canvas is over the largest image "
                f"({limit / 1e6:,.0f} MP, File ▸ Settings…)"
            )
        elif self.confirm_discard("starting a new document"):
            self.new_document(*size)

    def new_document(self, width: int, height: int) -> None:
        if self._saving:
            self.statusBar().showMessage("Still saving", 3000)
            return
        rgba = np.full((height, width, 4), 255, np.uint8)
        self.source = None
        self.set_document(Document.from_rgba(rgba, name="Background"), None)

    def export_dialog(self) -> None:
        if self.document is None:
            return
        # the photo's name with "-edited": never the photo itself by default
        stem = self.source.stem if self.source else self.path.stem if self.path else "Untitled"
        folder = self.source.parent if self.source else Path(self._last_folder())
        name, _ = QFileDialog.getSaveFileName(
            self,
            "Export image",
            str(folder / f"{stem}-edited.png"),
            "PNG (*.png);;JPEG (*.jpg);;TIFF (*.tif);;WebP (*.webp)",
        )
        if name:
            self.export_to(name)

    def _last_folder(self) -> str:
        return str(self.path.parent) if self.path else str(self.store.value("last_folder", ""))

    def recent_files(self) -> list[str]:
        value = self.store.value("recent_files", [])
        return [str(v) for v in (value if isinstance(value, list) else [value] if value else [])]

    def _add_recent(self, path: Path) -> None:
        resolved = str(path.resolve())
        recent = [resolved] + [p for p in self.recent_files() if p != resolved]
        self.store.setValue("recent_files", recent[:MAX_RECENT])
        self.store.setValue("last_folder", str(path.parent))
        self._rebuild_recent_menu()

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        for entry in self.recent_files():
            action = self.recent_menu.addAction(Path(entry).name)
            action.setToolTip(entry)
            action.triggered.connect(lambda _checked=False, p=entry: self.open_path(p))
        self.recent_menu.setEnabled(bool(self.recent_files()))

    def confirm_quit_while_applying(self) -> bool:
        """True unless an Apply is still running and the user would rather wait for it: quitting
        now loses its result (a save now holds the document as it was before it)."""
        if not self.generation.applying():
            return True
        answer = QMessageBox.question(
            self,
            "Apply is still running",
            "An Apply is still running: quitting now loses its result. Quit anyway?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def confirm_discard(self, doing: str) -> bool:
        """True when the current document may be replaced: it is saved, or the user saves it or
        chooses to discard its changes (``doing``: "closing", "opening another file")."""
        self.canvas.end_gesture()  # a stroke still being dragged is part of what is asked about
        if self.document is None or not self.document.dirty:
            return True
        answer = QMessageBox.question(
            self,
            "Unsaved changes",
            f"Save changes before {doing}?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Save:
            if not self.save():
                return False
            if self.document.dirty:  # an edit or an Apply landed while it saved
                self.show_error("Changes made while saving are not saved yet: save again first.")
                return False
            return True
        return answer == QMessageBox.StandardButton.Discard


def open_failure(name: str, reason: str) -> str:
    """One sentence for a file that could not be opened, whether or not ``reason`` names it:
    "Could not open a.jpg: file not found", "Could not open: a.jpg is truncated…"."""
    if reason.startswith(f"{name}: "):
        return f"Could not open {reason}"
    if reason.startswith(name):
        return f"Could not open: {reason}"
    return f"Could not open {name}: {reason}"


def save_failure(path: Path, err: Exception, existed: bool) -> str:
    """What a failed save tells the user: the cause in words (not the temporary file's path or
    an errno), what is intact, and what to do."""
    if isinstance(err, OSError):
        reason = (err.strerror or type(err).__name__).lower()
    elif isinstance(err, FileFormatError):
        reason = str(err)
    else:
        reason = f"an internal error ({type(err).__name__})"
    kept = f"{path.name} on disk is unchanged. " if existed else ""
    return (
        f"Could not save {path.name}: {reason}. {kept}Your work is still open here: save it "
        "somewhere else with File ▸ Save As."
    )
