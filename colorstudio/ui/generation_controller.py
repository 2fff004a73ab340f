"""Generation wiring for the main window: requests out to the worker, results back as edits.

Keeps the request bookkeeping in one place: live previews (debounced; only the newest is
shown), Apply jobs (become one undo step), suggested-colour queries and the provenance overlay.
"""

from __future__ import annotations

import itertools
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from colorstudio.ui.generate import (
    CompositeCache,
    Mode,
    RequestError,
    build_detect_request,
    build_request,
    build_suggest_request,
    damage_mask_edit,
    result_edit,
)

if TYPE_CHECKING:
    from colorstudio.ui.main_window import MainWindow


class GenerationController(QObject):
    result_applied = Signal(int)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.worker = window.worker
        self._ids = itertools.count(1)
        self.latest_preview = 0
        self.apply_ids: set[int] = set()
        self.suggest_ids: set[int] = set()
        self.detect_ids: set[int] = set()
        self._submitted_at: dict[int, float] = {}
        self._cache: CompositeCache | None = None
        self.preview_timer = QTimer(self)
        self.preview_timer.setSingleShot(True)
        self.preview_timer.setInterval(
            0
        )  # coalesce within one event-loop turn; the worker drops stale previews
        self.preview_timer.timeout.connect(self.request_preview)
        self.worker.finished_job.connect(self._on_worker_finished_job)
        self.worker.failed.connect(self._on_worker_failed)
        self.worker.cancelled.connect(self._on_worker_cancelled)
        self.worker.progress.connect(self._on_worker_progress)
        self.worker.busy_changed.connect(window.generate_panel.set_busy)

    def composite_cache(self) -> CompositeCache | None:
        doc = self.window.document
        if doc is None:
            return None
        if self._cache is None or self._cache.doc is not doc:
            self._cache = CompositeCache(doc)
        return self._cache

    # ------------------------------------------------------------------ requests
    def schedule_preview(self) -> None:
        if self.window.document is not None and self.window.generate_panel.settings.live_preview:
            self.preview_timer.start()

    def _submit(self, preview: bool) -> int | None:
        w = self.window
        if w.document is None or w.controller is None:
            return None
        request_id = next(self._ids)
        try:
            request = build_request(
                w.document,
                w.generate_panel.settings,
                w.controller.active_mask_id,
                request_id,
                preview,
                cache=self.composite_cache(),
            )
        except RequestError as err:
            if preview:
                w.generate_panel.status.setText(str(err))
            else:
                w.show_error(str(err))
            return None
        self._submitted_at[request_id] = time.perf_counter()
        self.worker.submit(request)
        return request_id

    def request_preview(self, force: bool = False) -> int | None:
        if not force and not self.window.generate_panel.settings.live_preview:
            return None
        request_id = self._submit(preview=True)
        if request_id is not None:
            self.latest_preview = request_id
        return request_id

    def apply_generation(self) -> int | None:
        request_id = self._submit(preview=False)
        if request_id is not None:
            self.apply_ids.add(request_id)
        return request_id

    def detect_damage(self) -> int | None:
        """Run the damage detector on the visible image; the mask arrives as an undoable edit."""
        w = self.window
        if w.document is None:
            return None
        request_id = next(self._ids)
        self.detect_ids.add(request_id)
        self._submitted_at[request_id] = time.perf_counter()
        self.worker.submit(
            build_detect_request(
                w.document,
                w.generate_panel.settings.sensitivity,
                request_id,
                self.composite_cache(),
            )
        )
        return request_id

    def _on_damage_found(self, result, seconds: float) -> None:
        w = self.window
        if w.document is None or w.history is None or result.mask is None:
            return
        edit, mask_id = damage_mask_edit(w.document, result.mask)
        w.history.do(edit)
        w.controller.active_mask_id = mask_id
        w.layers_panel.refresh()
        w.generate_panel.set_mode(Mode.RESTORE)
        share = float((result.mask > 0).mean())
        w.banner.show_message(
            f"Damage found on {share:.1%} of the photo ({seconds:.1f} s). Refine the mask with "
            "the mask brush and eraser, then Apply to repair it."
            if share > 0
            else "No damage found: raise the sensitivity, or paint the damage with the mask brush.",
            "info",
        )
        self.schedule_preview()

    def ask_suggestions(self, x: int, y: int) -> None:
        if self.window.document is None:
            return
        request_id = next(self._ids)
        self.suggest_ids.add(request_id)
        self.worker.submit(
            build_suggest_request(self.window.document, x, y, request_id, self.composite_cache())
        )

    def set_provenance(self, on: bool) -> None:
        self.window.generate_panel.settings.provenance = on
        if not on:
            self.window.canvas.set_provenance(None, None)
        self.schedule_preview()

    # ------------------------------------------------------------------ results
    def _on_worker_finished_job(self, request_id: int, result) -> None:
        w = self.window
        if request_id in self.suggest_ids:
            self.suggest_ids.discard(request_id)
            w.tool_options.set_suggestions(list(result.suggestions))
            return
        seconds = time.perf_counter() - self._submitted_at.pop(request_id, time.perf_counter())
        if request_id in self.detect_ids:
            self.detect_ids.discard(request_id)
            self._on_damage_found(result, seconds)
            return
        if request_id in self.apply_ids:
            self.apply_ids.discard(request_id)
            edit = result_edit(
                w.document,
                result,
                w.controller.active_layer_id,
                w.generate_panel.settings.as_new_layer,
            )
            if edit is not None and w.history is not None:
                w.canvas.set_preview(None)
                w.history.do(edit)
                w.layers_panel.refresh()
            w.statusBar().showMessage(f"Applied {result.engine} in {seconds:.1f} s", 5000)
            self.result_applied.emit(request_id)
        elif request_id == self.latest_preview and w.document is not None:
            w.canvas.set_preview(result.image)
            if w.generate_panel.settings.provenance:
                w.canvas.set_provenance(result.hint_influence, result.confidence)
            w.status_preview.setText(f"preview {result.engine}: {seconds * 1000:.0f} ms")
        if result.notes:
            w.banner.show_message("; ".join(result.notes), "info")
        w.status_device.setText(f"device: {result.device}")

    def _on_worker_failed(self, request_id: int, message: str) -> None:
        if request_id in self.suggest_ids:  # not worth a banner: say it where the swatches are
            self.suggest_ids.discard(request_id)
            self.window.tool_options.set_suggestions([], f"No suggestions: {message}")
            return
        self.apply_ids.discard(request_id)
        self._submitted_at.pop(request_id, None)
        if request_id in self.detect_ids:
            self.detect_ids.discard(request_id)
            self.window.show_error(f"Damage detection failed: {message}")
            return
        self.window.show_error(f"Generation failed: {message}")

    def _on_worker_cancelled(self, request_id: int) -> None:
        self.apply_ids.discard(request_id)
        self.window.statusBar().showMessage("Cancelled", 3000)

    def _on_worker_progress(self, _request_id: int, fraction: float, message: str) -> None:
        self.window.generate_panel.set_progress(fraction, message)
