"""The main window: menus, toolbars, canvas, dock panels, status bar; files, autosave, generation.

Composition only: each panel is its own widget bound to the core document; generation goes
through the EngineWorker (requests out, results back as signals, applied as undoable edits).
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QEvent, QSettings, QTimer, Signal
from PySide6.QtWidgets import (
    QMainWindow,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from colorstudio import __version__
from colorstudio.core.document import Document
from colorstudio.core.history import History
from colorstudio.core.io.autosave import (
    Autosaver,
    clean_after_crash,
)
from colorstudio.session.tools import (
    MASK_TOOLS,
    Tool,
    ToolController,
    ToolState,
    clear_mask_edit,
)
from colorstudio.ui.banner import Banner
from colorstudio.ui.canvas_area import CanvasArea
from colorstudio.ui.file_actions import FileActionsMixin
from colorstudio.ui.file_loading import wait_for_cancelled_loads
from colorstudio.ui.generate_panel import GeneratePanel
from colorstudio.ui.generation_controller import GenerationController, GenerationUi
from colorstudio.ui.history_panel import HistoryPanel
from colorstudio.ui.layers_panel import LayersPanel
from colorstudio.ui.recovery import AutosaveMixin
from colorstudio.ui.references_panel import ReferencesPanel
from colorstudio.ui.settings_dialog import EditorSettings, SettingsDialog
from colorstudio.ui.tool_options import ToolOptionsPanel
from colorstudio.ui.window_chrome import build_actions, build_docks, build_menus, build_status_bar
from colorstudio.workers.engine_worker import EngineWorker, preload_native_libraries

log = logging.getLogger(__name__)


class MainWindow(FileActionsMixin, AutosaveMixin, QMainWindow):
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
        self._saving = False  #: a project is being written (see save_to)
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

        preload_native_libraries()  # before the worker starts: see engine_worker's doc
        self.worker = EngineWorker(engine_factory or self._engine_factory, self)
        self.worker.start()
        ui = GenerationUi(
            self.generate_panel, self.canvas, self.tool_options, self.layers_panel, self
        )
        self.generation = GenerationController(self.worker, ui, self)
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
        try:  # housekeeping: whatever a folder or a recent-files entry holds, the editor starts
            clean_after_crash(
                recovery_folder, [p for p in self.recent_files() if p.endswith(".ora")]
            )
        except Exception:
            log.exception("cleaning up after an earlier session failed")

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
            return f"model: {chosen} is not installed (classical engine)"
        return f"model: {entry.name}" if entry else "model: none (classical engine)"

    def show_model_status(self, models: tuple[str, ...]) -> None:
        """The models the last result came from (its ``models``; none: a classical engine)."""
        self.status_model.setText("model: " + (" + ".join(models) or "none (classical engine)"))

    def show_mask_overlay(self, shown: bool) -> None:
        """Show or hide the active mask's overlay on the view (View ▸ Show Mask)."""
        self.act_mask.setChecked(shown)
        self._on_overlays_toggled()

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
        self.canvas.color_picked.connect(lambda color: self.tool_options.set_color(color))
        self.canvas.hint_point.connect(self.generation.ask_suggestions)
        self.tool_options.suggestion_chosen.connect(self._on_suggestion_chosen)
        self.canvas.cursor_moved.connect(
            lambda x, y: self.status_cursor.setText(f"{int(x)}, {int(y)}")
        )
        self.tool_options.state_changed.connect(self.canvas.refresh_cursor)
        self.canvas.view_changed.connect(self._update_zoom_label)
        self.layers_panel.active_layer_changed.connect(self._on_active_layer_changed)
        self.layers_panel.active_mask_changed.connect(self._on_active_mask_changed)
        self.references_panel.error.connect(self.show_error)
        self.references_panel.preview.color_picked.connect(self.tool_options.set_color)
        self.generate_panel.settings_changed.connect(self.generation.settings_changed)
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
        self.generation.bind(doc, self.history, self.controller)
        self.references_panel.set_document(doc, self.history)
        self.history_panel.set_history(self.history)
        self.tool_options.set_suggestions([])  # the last photo's colours are not this one's
        self.banner.hide()
        # as the project was saved (a repair hid its mask), else shown: a repair of the
        # previous photo may have hidden it
        self.show_mask_overlay(doc.editor_state.get("show_mask") is not False)
        self._update_title()
        self._update_actions()
        self.status_doc.setText(f"{doc.width} × {doc.height} px")
        self.document_changed.emit()

    # ================================================================== tools and view
    def set_tool(self, tool: Tool) -> None:
        if tool in MASK_TOOLS:  # a mask is painted where it can be seen (a repair hides it)
            self.show_mask_overlay(True)
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

    def _update_zoom_label(self) -> None:
        shown = self.document is not None
        self.status_zoom.setText(f"{self.canvas.zoom * 100:.0f} %" if shown else "")

    def _on_original_toggled(self, checked: bool) -> None:
        self.canvas.original_pinned = self.canvas.showing_before = bool(checked)
        self.canvas.update()

    def clear_mask(self) -> None:
        """Edit ▸ Clear Mask: empty the active mask (undoable)."""
        edit = None
        if self.document is not None and self.controller is not None and self.history is not None:
            edit = clear_mask_edit(self.document, self.controller.active_mask_id)
        if edit is None:
            self.show_status("No mask to clear", 3000)
            return
        self.history.do(edit)

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

    def _on_suggestion_chosen(self, color: tuple) -> None:
        self.tool_options.set_color(color)
        if self.controller is not None:
            self.controller.recolor_last_stroke(color)

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
        self.canvas.end_gesture()  # Ctrl+Z mid-stroke undoes that stroke, as one step
        if self.history is not None:
            self.history.undo()

    def redo(self) -> None:
        self.canvas.end_gesture()
        if self.history is not None:
            self.history.redo()

    # ================================================================== misc
    # the generation controller's Feedback
    def show_error(self, text: str) -> None:
        log.warning(text)
        self.banner.show_message(text, "error")

    def show_info(self, text: str) -> None:
        self.banner.show_message(text, "info")

    def clear_message(self, text: str) -> None:
        """Take the banner down if it still shows ``text`` (and nothing newer)."""
        if self.banner.label.text() == text:
            self.banner.hide()

    def show_status(self, text: str, msecs: int) -> None:
        self.statusBar().showMessage(text, msecs)

    def clear_status(self, text: str) -> None:
        """Take the status bar's message away if it still says ``text`` (and nothing newer)."""
        if self.statusBar().currentMessage() == text:
            self.statusBar().clearMessage()

    def show_preview_status(self, text: str) -> None:
        self.status_preview.setText(text)

    def show_device_status(self, text: str) -> None:
        """The device the last result ran on ("device: cpu"), beside the runtime's name."""
        self._device_text = text
        self._show_device()

    def set_device_status(self, ok: bool, message: str, runtime: str) -> None:
        """The start-up check's outcome: the runtime's name ("ONNX Runtime 1.20.0"), or an
        error."""
        if ok:
            self._runtime_label = runtime
            self._show_device()
        else:
            self.status_device.setText("ML unavailable")
            self.show_error(message)

    def _show_device(self) -> None:
        parts = (getattr(self, "_device_text", ""), getattr(self, "_runtime_label", ""))
        self.status_device.setText(" · ".join(part for part in parts if part))

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

    # ================================================================== Qt events
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_path(urls[0])

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.WindowBlocked:  # a modal dialog takes the mouse and its
            self.canvas.end_gesture()  # release: the stroke being dragged ends here, one step
        return super().event(event)

    def closeEvent(self, event) -> None:
        if (
            self._loading
            or self._saving
            or not self.confirm_quit_while_applying()
            or not self.confirm_discard("closing")
        ):
            if self._saving:
                self.statusBar().showMessage("Still saving", 3000)
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
