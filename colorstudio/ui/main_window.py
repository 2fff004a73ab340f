"""The main window: menus, toolbars, canvas, dock panels, status bar; files, autosave, generation.

Composition only: each panel is its own widget bound to the core document; generation goes
through the EngineWorker (requests out, results back as signals, applied as undoable edits).
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
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
    clean_after_crash,
)
from colorstudio.core.io.errors import FileFormatError
from colorstudio.core.io.images import IMPORT_SUFFIXES, save_image
from colorstudio.core.io.ora import save_ora
from colorstudio.session.tools import Tool, ToolController, ToolState
from colorstudio.ui.banner import Banner
from colorstudio.ui.canvas import CanvasArea
from colorstudio.ui.dialogs import new_document_size
from colorstudio.ui.file_loading import open_in_background, wait_for_cancelled_loads
from colorstudio.ui.generate_panel import GeneratePanel
from colorstudio.ui.generation_controller import GenerationController
from colorstudio.ui.history_panel import HistoryPanel
from colorstudio.ui.layers_panel import LayersPanel
from colorstudio.ui.recovery import AutosaveMixin
from colorstudio.ui.references_panel import ReferencesPanel
from colorstudio.ui.settings_dialog import EditorSettings, SettingsDialog
from colorstudio.ui.tool_options import ToolOptionsPanel
from colorstudio.ui.window_chrome import build_actions, build_docks, build_menus, build_status_bar
from colorstudio.workers.engine_worker import EngineWorker

log = logging.getLogger(__name__)

IMAGE_FILTER = "Images and projects (*.ora " + " ".join(f"*{s}" for s in IMPORT_SUFFIXES) + ")"
MAX_RECENT = 10


class MainWindow(AutosaveMixin, QMainWindow):
    document_changed = Signal()
    autosave_done = Signal(str, str)  # path written, error message

    def __init__(
        self, recovery_folder: Path, autosave_interval_s: float | None = None, engine_factory=None
    ) -> None:
        super().__init__()
        self.setWindowTitle("ColorStudio")
        self.resize(1400, 900)
        self.setAcceptDrops(True)
        self.store = QSettings("ColorStudio", "ColorStudio")
        self.editor_settings = EditorSettings.load(self.store)
        self.document: Document | None = None
        self.history: History | None = None
        self.controller: ToolController | None = None
        self.tool_state = ToolState()
        self.path: Path | None = None  #: where Save writes (a project), None until saved
        self.source: Path | None = None  #: the file the document came from (image or project)
        self.exif: bytes | None = None
        self._loading = False  #: a file is decoding (see open_path)
        interval = autosave_interval_s or self.editor_settings.autosave_seconds
        self.autosaver = Autosaver(recovery_folder, interval)

        self.banner = Banner()
        self.canvas_area = CanvasArea()
        self.canvas = self.canvas_area.canvas
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.canvas_area, 1)
        self.setCentralWidget(central)

        self.tool_options = ToolOptionsPanel(self.tool_state)
        self.layers_panel = LayersPanel()
        self.references_panel = ReferencesPanel()
        self.generate_panel = GeneratePanel()
        self.history_panel = HistoryPanel()
        build_actions(self)
        build_menus(self)
        build_docks(self)
        build_status_bar(self)

        self.worker = EngineWorker(engine_factory or self._engine_factory, self)
        self.worker.start()
        self.generation = GenerationController(self)
        self.result_applied = self.generation.result_applied
        self._connect()

        self._autosave_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="autosave")
        self._autosave_future: Future | None = None
        self._autosave_poll = QTimer(self)
        self._autosave_poll.setInterval(100)
        self._autosave_poll.timeout.connect(self._on_autosave_poll_timeout)
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(5000)
        self.autosave_timer.timeout.connect(self._on_autosave_timer_timeout)
        self.autosave_timer.start()
        self.set_tool(Tool.HINT)
        self._update_actions()
        clean_after_crash(recovery_folder, [p for p in self.recent_files() if p.endswith(".ora")])

    def _model_label(self) -> str:
        """The colourization model the engine loads: the one chosen in the settings, else the
        first installed."""
        from colorstudio import paths
        from colorstudio.ml.manifest import ModelError, find_model

        chosen = self.editor_settings.colorizer or None
        try:
            entry = find_model(paths.models_dir(), "colorize", chosen)
        except ModelError:
            return "model: damaged manifest"
        if entry is None and chosen:
            return f"model: {chosen} is not installed (classical engines)"
        return f"model: {entry.name}" if entry else "model: none (classical engines)"

    def _engine_factory(self):
        from colorstudio.ml.engine import Engine  # imported on the worker thread only

        settings = self.editor_settings
        return Engine(
            device=settings.device,
            threads=settings.cpu_threads or None,
            colorizer_name=settings.colorizer,
        )

    def _connect(self) -> None:
        self.canvas.stroke_finished.connect(self._on_canvas_stroke_finished)
        self.canvas.colour_picked.connect(lambda colour: self.tool_options.set_colour(colour))
        self.canvas.hint_point.connect(self.generation.ask_suggestions)
        self.tool_options.suggestion_chosen.connect(self._on_suggestion_chosen)
        self.canvas.cursor_moved.connect(
            lambda x, y: self.status_cursor.setText(f"{int(x)}, {int(y)}")
        )
        self.tool_options.state_changed.connect(self.canvas.update)
        self.layers_panel.active_layer_changed.connect(self._on_active_layer_changed)
        self.layers_panel.active_mask_changed.connect(self._on_active_mask_changed)
        self.references_panel.error.connect(self.show_error)
        self.references_panel.preview.colour_picked.connect(self.tool_options.set_colour)
        self.generate_panel.settings_changed.connect(self.schedule_preview)
        self.generate_panel.preview_requested.connect(
            lambda: self.generation.request_preview(force=True)
        )
        self.generate_panel.apply_requested.connect(self.generation.apply_generation)
        self.generate_panel.cancel_requested.connect(self.worker_cancel)
        self.generate_panel.detect_requested.connect(self.generation.detect_damage)

    # ================================================================== documents
    def set_document(self, doc: Document, path: Path | None, exif: bytes | None = None) -> None:
        self.document = doc
        self.history = History(doc, max_bytes=self.editor_settings.history_mb << 20)
        self.controller = ToolController(doc, self.history, self.tool_state)
        self.path = path
        self.exif = exif
        doc.events.dirty_changed.connect(lambda _dirty: self._update_title())
        self.history.changed.connect(self._update_actions)
        self.canvas.set_document(doc, self.controller)
        self.layers_panel.set_document(doc, self.history)
        self.controller.active_layer_id = self.layers_panel.active_layer_id
        self.controller.active_mask_id = self.layers_panel.active_mask_id
        self.generation.bind(doc, self.history)
        self.references_panel.set_document(doc, self.history)
        self.history_panel.set_history(self.history)
        self.banner.hide()
        self._update_title()
        self._update_actions()
        self.status_doc.setText(f"{doc.width} × {doc.height} px")
        self.document_changed.emit()

    def open_path(self, path: str | Path) -> bool:
        """Open an image or a project, decoded off the GUI thread (see :mod:`file_loading`).
        On failure or cancel the current document stays as it was."""
        path = Path(path)
        if self._loading:  # one file at a time (a drop or a menu while one is decoding)
            self.statusBar().showMessage("Still opening the previous file", 3000)
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
            prefix = "" if opened.startswith(path.name) else f"{path.name}: "
            self.show_error(f"Could not open {prefix}{opened}")
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
        self.document.editor_state = self._editor_state()
        try:
            save_ora(self.document, path)
        except (OSError, FileFormatError) as err:
            self.show_error(
                f"Could not save {path.name}: {err}. The previous file and the autosave are intact."
            )
            return False
        except Exception as err:  # a defect must never cost the document: say so, keep it
            log.exception("saving %s failed", path)
            self.show_error(
                f"Could not save {path.name} ({type(err).__name__}). The previous file and "
                "the autosave are intact."
            )
            return False
        self.path = path
        self.history.set_clean()
        self.autosaver.discard()
        self._add_recent(path)
        self._update_title()
        self.statusBar().showMessage(f"Saved {path.name}", 4000)
        return True

    def _editor_state(self) -> dict:
        ctl = self.controller
        return {
            "active_layer": ctl.active_layer_id if ctl else None,
            "active_mask": ctl.active_mask_id if ctl else None,
            "zoom": self.canvas.zoom,
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
        rgba = np.full((height, width, 4), 255, np.uint8)
        self.source = None
        self.set_document(Document.from_rgba(rgba, name="Background"), None)

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

    # ================================================================== tools and view
    def set_tool(self, tool: Tool) -> None:
        self.tool_state.tool = tool
        self.tool_actions[tool].setChecked(True)
        self.tool_options.sync_from_state()
        self.canvas.update()

    def _resize_brush(self, factor: float) -> None:
        self.tool_state.resize_brush(factor)
        self.tool_options.sync_from_state()
        self.canvas.update()

    def _on_active_layer_changed(self, layer_id: str) -> None:
        if self.controller is not None:
            self.controller.active_layer_id = layer_id

    def _on_active_mask_changed(self, mask_id: str) -> None:
        if self.controller is not None:
            self.controller.active_mask_id = mask_id
            self.canvas.refresh_overlay()
            self.schedule_preview()

    def _on_overlays_toggled(self) -> None:
        self.canvas.show_hints = self.act_hints.isChecked()
        self.canvas.show_mask = self.act_mask.isChecked()
        self.canvas.refresh_overlay()

    def _on_split_toggled(self) -> None:
        on = self.act_split.isChecked()
        self.split_slider.setVisible(on)
        self.canvas.split = self.split_slider.value() / 100 if on else None
        self.canvas.update()

    def _on_split_slider_changed(self, value: int) -> None:
        if self.act_split.isChecked():
            self.canvas.split = value / 100
            self.canvas.update()

    def _on_provenance_toggled(self) -> None:
        self.generation.set_provenance(self.act_provenance.isChecked())

    def _on_suggestion_chosen(self, colour: tuple) -> None:
        self.tool_options.set_colour(colour)
        if self.controller is not None:
            self.controller.recolour_last_stroke(colour)

    def _on_canvas_stroke_finished(self) -> None:
        self.layers_panel.active_mask_id = (
            self.controller.active_mask_id if self.controller else None
        )
        self.layers_panel.refresh()
        self.schedule_preview()

    # ================================================================== generation (delegated)
    def schedule_preview(self, *_args) -> None:
        if self.generate_panel.settings.live_preview:
            self.generation.schedule_preview()
        else:  # switched off: the preview goes at once (and comes back when switched on)
            self.generation.take_down_preview(forget=True)

    def request_preview(self, force: bool = False) -> int | None:
        return self.generation.request_preview(force)

    def apply_generation(self) -> int | None:
        return self.generation.apply_generation()

    def worker_cancel(self) -> None:
        """Esc: stop what runs and hide the preview."""
        self.worker.cancel()
        self.generation.hide_preview()

    # ================================================================== undo
    def undo(self) -> None:
        if self.history is not None:
            self.history.undo()

    def redo(self) -> None:
        if self.history is not None:
            self.history.redo()

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

    def settings_dialog(self) -> None:
        dialog = SettingsDialog(self.editor_settings, self)
        if dialog.exec():
            self.editor_settings = dialog.result_settings()
            self.editor_settings.save(self.store)
            self.autosaver.interval_s = float(self.editor_settings.autosave_seconds)
            if self.history is not None:
                self.history.max_bytes = self.editor_settings.history_mb << 20
            self.statusBar().showMessage("Settings saved; the device applies after a restart", 5000)

    def about(self) -> None:
        import platform

        import numpy
        import PySide6

        QMessageBox.about(
            self,
            "About ColorStudio",
            f"<b>ColorStudio {__version__}</b><br>"
            "Offline colourization, restyling and repair.<br><br>"
            f"Python {platform.python_version()}, PySide6 {PySide6.__version__}, "
            f"numpy {numpy.__version__}<br>"
            f"{self.status_device.text()}",
        )

    def _update_title(self) -> None:
        named = self.path or self.source
        name = named.name if named else ("Untitled" if self.document else "")
        dirty = "*" if self.document is not None and self.document.dirty else ""
        self.setWindowTitle(f"{name}{dirty} — ColorStudio" if name else "ColorStudio")

    def _update_actions(self) -> None:
        has_doc = self.document is not None
        for action in (
            self.act_save,
            self.act_save_as,
            self.act_export,
            self.act_fit,
            self.act_generate,
        ):
            action.setEnabled(has_doc)
        self.act_undo.setEnabled(self.history is not None and self.history.can_undo)
        self.act_redo.setEnabled(self.history is not None and self.history.can_redo)

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

    # ================================================================== Qt events
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_path(urls[0])

    def confirm_discard(self, doing: str) -> bool:
        """True when the current document may be replaced: it is saved, or the user saves it or
        chooses to discard its changes (``doing``: "closing", "opening another file")."""
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
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def closeEvent(self, event) -> None:
        if self._loading or not self.confirm_discard("closing"):
            event.ignore()
            return
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop the worker and timers; remove this session's recovery copy."""
        self.generation.preview_timer.stop()
        self.autosave_timer.stop()
        self._autosave_poll.stop()
        self._autosave_pool.shutdown(wait=True)  # a running autosave finishes before discard()
        if self.worker.isRunning():
            self.worker.stop()
        wait_for_cancelled_loads()
        self.autosaver.discard()
