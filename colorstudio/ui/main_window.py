"""The main window: menus, toolbar, canvas, dock panels, status bar, open/save/export, autosave."""

from __future__ import annotations

import logging
from pathlib import Path

import qtawesome as qta
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from colorstudio import __version__
from colorstudio.core.compositing import composite
from colorstudio.core.document import Document
from colorstudio.core.history import History
from colorstudio.core.io.autosave import (
    Autosaver,
    RecoveryFile,
    discard_recovery,
    find_recoveries,
    restore,
)
from colorstudio.core.io.errors import FileFormatError
from colorstudio.core.io.images import IMPORT_SUFFIXES, load_image, save_image
from colorstudio.core.io.ora import load_ora, save_ora
from colorstudio.ui.banner import Banner
from colorstudio.ui.canvas import CanvasView

log = logging.getLogger(__name__)

IMAGE_FILTER = "Images and projects (*.ora " + " ".join(f"*{s}" for s in IMPORT_SUFFIXES) + ")"
MAX_RECENT = 10


class MainWindow(QMainWindow):
    document_changed = Signal()

    def __init__(self, recovery_folder: Path, autosave_interval_s: float = 120.0) -> None:
        super().__init__()
        self.setWindowTitle("ColorStudio")
        self.resize(1280, 820)
        self.setAcceptDrops(True)
        self.document: Document | None = None
        self.history: History | None = None
        self.path: Path | None = None
        self.exif: bytes | None = None
        self.autosaver = Autosaver(recovery_folder, autosave_interval_s)
        self.settings = QSettings("ColorStudio", "ColorStudio")

        self.banner = Banner()
        self.canvas = CanvasView()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.canvas, 1)
        self.setCentralWidget(central)

        self._build_actions()
        self._build_menus()
        self._build_docks()
        self.status_device = QLabel("device: checking…")
        self.status_doc = QLabel("No document")
        self.statusBar().addWidget(self.status_doc, 1)
        self.statusBar().addPermanentWidget(self.status_device)

        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(5000)
        self.autosave_timer.timeout.connect(self._on_autosave_timer_timeout)
        self.autosave_timer.start()
        self._update_actions()

    # ================================================================== building
    def _action(self, text: str, icon: str, slot, shortcut=None) -> QAction:
        action = QAction(qta.icon(icon), text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        self.act_open = self._action(
            "&Open…", "fa5s.folder-open", self.open_dialog, QKeySequence.StandardKey.Open
        )
        self.act_save = self._action("&Save", "fa5s.save", self.save, QKeySequence.StandardKey.Save)
        self.act_save_as = self._action(
            "Save &As…", "fa5s.save", self.save_as_dialog, QKeySequence.StandardKey.SaveAs
        )
        self.act_export = self._action(
            "&Export Image…", "fa5s.file-export", self.export_dialog, "Ctrl+E"
        )
        self.act_quit = self._action(
            "&Quit", "fa5s.power-off", self.close, QKeySequence.StandardKey.Quit
        )
        self.act_undo = self._action("&Undo", "fa5s.undo", self.undo, QKeySequence.StandardKey.Undo)
        self.act_redo = self._action("&Redo", "fa5s.redo", self.redo, QKeySequence.StandardKey.Redo)
        self.act_zoom_in = self._action(
            "Zoom &In",
            "fa5s.search-plus",
            lambda: self.canvas.set_zoom(self.canvas.zoom * 1.25),
            QKeySequence.StandardKey.ZoomIn,
        )
        self.act_zoom_out = self._action(
            "Zoom &Out",
            "fa5s.search-minus",
            lambda: self.canvas.set_zoom(self.canvas.zoom / 1.25),
            QKeySequence.StandardKey.ZoomOut,
        )
        self.act_fit = self._action("&Fit to Window", "fa5s.expand", self.canvas.fit, "Ctrl+0")
        self.act_actual = self._action(
            "&Actual Pixels (100 %)", "fa5s.compress", lambda: self.canvas.set_zoom(1.0), "Ctrl+1"
        )
        self.act_about = self._action("&About ColorStudio", "fa5s.info-circle", self.about)

    def _build_menus(self) -> None:
        menu = self.menuBar().addMenu("&File")
        menu.addActions([self.act_open])
        self.recent_menu = menu.addMenu("Open &Recent")
        menu.addSeparator()
        menu.addActions([self.act_save, self.act_save_as, self.act_export])
        menu.addSeparator()
        menu.addAction(self.act_quit)
        edit = self.menuBar().addMenu("&Edit")
        edit.addActions([self.act_undo, self.act_redo])
        view = self.menuBar().addMenu("&View")
        view.addActions([self.act_zoom_in, self.act_zoom_out, self.act_fit, self.act_actual])
        self.panels_menu = view.addMenu("&Panels")
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self.act_about)
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main_toolbar")
        toolbar.addActions(
            [
                self.act_open,
                self.act_save,
                self.act_undo,
                self.act_redo,
                self.act_zoom_in,
                self.act_zoom_out,
                self.act_fit,
            ]
        )
        self._rebuild_recent_menu()

    def _build_docks(self) -> None:
        self.docks: dict[str, QDockWidget] = {}
        for name, area in (
            ("Layers", Qt.DockWidgetArea.RightDockWidgetArea),
            ("References", Qt.DockWidgetArea.RightDockWidgetArea),
            ("Generate", Qt.DockWidgetArea.LeftDockWidgetArea),
            ("History", Qt.DockWidgetArea.LeftDockWidgetArea),
        ):
            dock = QDockWidget(name, self)
            dock.setObjectName(f"dock_{name.lower()}")
            placeholder = QLabel(f"{name}")
            placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
            dock.setWidget(placeholder)
            self.addDockWidget(area, dock)
            self.panels_menu.addAction(dock.toggleViewAction())
            self.docks[name] = dock

    # ================================================================== documents
    def set_document(self, doc: Document, path: Path | None, exif: bytes | None = None) -> None:
        self.document = doc
        self.history = History(doc)
        self.path = path
        self.exif = exif
        doc.events.dirty_changed.connect(lambda _dirty: self._update_title())
        self.history.changed.connect(self._update_actions)
        self.canvas.set_document(doc)
        self.banner.hide()
        self._update_title()
        self._update_actions()
        self.status_doc.setText(f"{doc.width} × {doc.height} px, {len(doc.layers)} layer(s)")
        self.document_changed.emit()

    def open_path(self, path: str | Path) -> bool:
        """Open an image or a project. On failure the current document stays as it was."""
        path = Path(path)
        try:
            if path.suffix.lower() == ".ora":
                loaded = load_ora(path)
                doc, exif = loaded.document, None
                if loaded.warnings:
                    self.banner.show_message(f"{path.name}: " + "; ".join(loaded.warnings), "info")
                project_path: Path | None = path
            else:
                imported = load_image(path)
                doc = Document.from_rgba(imported.rgba, name=path.stem)
                exif, project_path = imported.exif, None
        except (FileFormatError, OSError) as err:
            self.show_error(f"Could not open {path.name}: {err}")
            return False
        self.set_document(doc, project_path, exif)
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
        try:
            save_ora(self.document, path)
        except OSError as err:
            self.show_error(f"Could not save {path.name}: {err}. The previous file is intact.")
            return False
        self.path = path
        self.history.set_clean()
        self.autosaver.discard()
        self._add_recent(path)
        self._update_title()
        self.statusBar().showMessage(f"Saved {path.name}", 4000)
        return True

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
        name, _ = QFileDialog.getSaveFileName(
            self, "Save project", self._last_folder(), "OpenRaster project (*.ora)"
        )
        return bool(name) and self.save_to(name)

    def export_dialog(self) -> None:
        if self.document is None:
            return
        name, _ = QFileDialog.getSaveFileName(
            self,
            "Export image",
            self._last_folder(),
            "PNG (*.png);;JPEG (*.jpg);;TIFF (*.tif);;WebP (*.webp)",
        )
        if name:
            self.export_to(name)

    # ================================================================== undo
    def undo(self) -> None:
        if self.history is not None:
            self.history.undo()

    def redo(self) -> None:
        if self.history is not None:
            self.history.redo()

    # ================================================================== autosave & recovery
    def _on_autosave_timer_timeout(self) -> None:
        self.autosave_now(force=False)

    def autosave_now(self, force: bool = True) -> Path | None:
        doc = self.document
        if doc is None or not (force or self.autosaver.due(doc)):
            return None
        try:
            return self.autosaver.save(doc, str(self.path) if self.path else None)
        except OSError as err:
            self.show_error(f"Autosave failed: {err}")
            return None

    def pending_recoveries(self) -> list[RecoveryFile]:
        return find_recoveries(self.autosaver.folder, exclude_session=self.autosaver.session)

    def restore_recovery(self, recovery: RecoveryFile) -> bool:
        try:
            loaded = restore(recovery)
        except FileFormatError as err:
            self.show_error(str(err))
            return False
        source = Path(recovery.source_path) if recovery.source_path else None
        self.set_document(loaded.document, source)
        loaded.document.mark_dirty()
        discard_recovery(recovery)
        self.banner.show_message(f"Recovered {recovery.title}. Save it to keep it.", "info")
        return True

    def offer_recovery(self) -> None:
        """Ask (non-blocking) whether to restore what a crashed session left behind."""
        recoveries = self.pending_recoveries()
        if not recoveries:
            return
        newest = recoveries[0]
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Recover unsaved work?",
            f"ColorStudio closed unexpectedly. Restore {newest.title}?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Discard,
            self,
        )
        box.setObjectName("recovery_box")
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.finished.connect(lambda result: self._on_recovery_box_finished(result, newest))
        box.show()

    def _on_recovery_box_finished(self, result: int, recovery: RecoveryFile) -> None:
        if result == QMessageBox.StandardButton.Yes:
            self.restore_recovery(recovery)
        elif result == QMessageBox.StandardButton.Discard:
            discard_recovery(recovery)

    # ================================================================== misc
    def show_error(self, text: str) -> None:
        log.warning(text)
        self.banner.show_message(text, "error")

    def set_device_status(self, ok: bool, message: str, torch_version: str) -> None:
        if ok:
            self.status_device.setText(f"torch {torch_version}")
        else:
            self.status_device.setText("ML unavailable")
            self.show_error(message)

    def about(self) -> None:
        QMessageBox.about(
            self,
            "About ColorStudio",
            f"<b>ColorStudio {__version__}</b><br>"
            "Offline colourization, restyling and repair of images.",
        )

    def _update_title(self) -> None:
        name = self.path.name if self.path else ("Untitled" if self.document else "")
        dirty = "*" if self.document is not None and self.document.dirty else ""
        self.setWindowTitle(f"{name}{dirty} — ColorStudio" if name else "ColorStudio")

    def _update_actions(self) -> None:
        has_doc = self.document is not None
        for action in (self.act_save, self.act_save_as, self.act_export, self.act_fit):
            action.setEnabled(has_doc)
        self.act_undo.setEnabled(self.history is not None and self.history.can_undo)
        self.act_redo.setEnabled(self.history is not None and self.history.can_redo)

    def _last_folder(self) -> str:
        return str(self.path.parent) if self.path else str(self.settings.value("last_folder", ""))

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        return [str(v) for v in (value if isinstance(value, list) else [value] if value else [])]

    def _add_recent(self, path: Path) -> None:
        recent = [str(path.resolve())] + [
            p for p in self.recent_files() if p != str(path.resolve())
        ]
        self.settings.setValue("recent_files", recent[:MAX_RECENT])
        self.settings.setValue("last_folder", str(path.parent))
        self._rebuild_recent_menu()

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        for entry in self.recent_files():
            action = self.recent_menu.addAction(Path(entry).name)
            action.setToolTip(entry)
            action.triggered.connect(lambda _checked=False, p=entry: self.open_path(p))
        self.recent_menu.setEnabled(bool(self.recent_files()))

    # ================================================================== Qt events
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_path(urls[0])

    def closeEvent(self, event) -> None:
        if self.document is not None and self.document.dirty:
            answer = QMessageBox.question(
                self,
                "Unsaved changes",
                "Save changes before closing?",
                QMessageBox.StandardButton.Save
                | QMessageBox.StandardButton.Discard
                | QMessageBox.StandardButton.Cancel,
            )
            if answer == QMessageBox.StandardButton.Cancel or (
                answer == QMessageBox.StandardButton.Save and not self.save()
            ):
                event.ignore()
                return
        self.autosaver.discard()
        event.accept()
