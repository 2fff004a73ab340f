"""Generation wiring for the main window: requests out to the worker, results back as edits.

The controller gets its collaborators explicitly (:class:`GenerationUi`: the panel, canvas, tool
options, layers panel and a :class:`Feedback` for messages; the document, history and tool
controller at :meth:`GenerationController.bind`), never the window itself.

Every request travels as a :class:`~colorstudio.session.jobs.Job` that captured, when it was
sent, the document, the target layer and "as new layer"; worker events come back through one
handler (:meth:`GenerationController._on_job_message`). A result whose document is no longer
the open one is dropped with a message, never applied to another document.

Previews follow :mod:`colorstudio.session.preview`: one is made when an input of the current
mode changes (hint strokes, masks, references, the mode's settings) and never because a raster
layer changed; it is marked on the canvas; it is taken down at once when Live preview is
switched off, on Esc, on undo or redo, and when the document changes under it. After a photo is
opened a warm-up job loads the model and computes the hint-free prediction the first stroke's
preview needs, so the first preview is as fast as the later ones.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from colorstudio.core.document import Document
from colorstudio.core.history import History
from colorstudio.ml.requests import ColorizeRequest
from colorstudio.session.generate import (
    CompositeCache,
    Mode,
    RequestError,
    build_detect_request,
    build_request,
    build_suggest_request,
    damage_mask_edit,
    engine_name,
    result_edit,
)
from colorstudio.session.jobs import Job, JobBook, JobKind, JobMessage, JobState
from colorstudio.session.preview import InputTracker, PreviewInputs, default_mode, look_of

PREVIEW_LABEL = "Preview — not applied (Apply to keep it, Esc to hide it)"
UPDATING_LABEL = "Preview — updating…"


#: what the status bar says of the mode a newly opened photo gets (session.preview.default_mode)
MODE_CHOSEN = {
    Mode.COLORIZE: "Mode: Colourize (the photo has no colour, or one tint)",
    Mode.RECOLOR: "Mode: Recolour region (the photo has colour; for a tinted or stained "
    "black-and-white print, choose Colourize)",
}


#: the modes that colourize the whole photo
COLORIZING = (Mode.COLORIZE, Mode.COLORIZE_STYLIZE)


class Feedback(Protocol):
    """Where the controller tells the user things (the main window)."""

    def show_error(self, text: str) -> None: ...
    def show_info(self, text: str) -> None: ...
    def clear_message(self, text: str) -> None: ...
    def show_status(self, text: str, msecs: int) -> None: ...
    def clear_status(self, text: str) -> None: ...
    def show_preview_status(self, text: str) -> None: ...
    def show_device_status(self, text: str) -> None: ...
    def show_model_status(self, models: tuple[str, ...]) -> None: ...
    def show_mask_overlay(self, shown: bool) -> None: ...


@dataclass(frozen=True)
class GenerationUi:
    """The widgets the controller drives, given to it explicitly."""

    panel: Any  #: GeneratePanel: settings, set_mode, status, set_progress, set_busy
    canvas: Any  #: CanvasView: preview, preview_label, set_preview, set_provenance
    tool_options: Any  #: ToolOptionsPanel: set_suggestions
    layers_panel: Any  #: LayersPanel: refresh, select_layer
    feedback: Feedback


class GenerationController(QObject):
    result_applied = Signal(int)

    def __init__(self, worker, ui: GenerationUi, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self.ui = ui
        self.jobs = JobBook()
        self.doc: Document | None = None
        self.tools = None  #: the session's ToolController: the active layer and mask
        self.tracker: InputTracker | None = None
        self.history: History | None = None
        self.shown: PreviewInputs | None = None  #: what the preview on the canvas was made from
        self.requested: PreviewInputs | None = None  #: what the newest preview job is for
        #: the inputs last previewed (shown, taken down or refused): no new preview until the
        #: inputs differ — Apply, undo of an Apply or Esc must not bring the same one back
        self.settled: PreviewInputs | None = None
        self.latest_preview = 0
        self._cache: CompositeCache | None = None
        #: the opened photo's mode and the status bar's reason for it, until another is picked
        self._mode_said: tuple[Mode, str] | None = None
        self.preview_timer = QTimer(self)
        self.preview_timer.setSingleShot(True)
        self.preview_timer.setInterval(0)  # coalesce one event-loop turn's changes
        self.preview_timer.timeout.connect(self.request_preview)
        #: results (Apply, damage found) that arrived while a brush stroke was in progress: put
        #: in when the stroke ends. The stroke's undo step holds the pixels from before it, so an
        #: edit landing inside it would be half undone with the stroke.
        self._held: list[Callable[[], None]] = []
        ui.canvas.stroke_finished.connect(self._put_held)
        w = self.worker
        w.finished_job.connect(lambda i, r: self._on_worker(i, JobState.FINISHED, r))
        w.failed.connect(lambda i, m: self._on_worker(i, JobState.FAILED, m))
        w.cancelled.connect(lambda i: self._on_worker(i, JobState.CANCELLED))
        w.progress.connect(lambda i, f, m: self._on_worker(i, JobState.PROGRESS, (f, m)))
        # a job dropped before it started (Cancel, or a newer preview) ends as cancelled
        w.dropped.connect(lambda i: self._on_worker(i, JobState.CANCELLED))
        w.busy_changed.connect(ui.panel.set_busy)

    # ------------------------------------------------------------------ documents
    def bind(self, doc: Document, history: History, tools) -> None:
        """A new document is open (its active layer and mask already restored): track its
        inputs, pick the mode that fits it, warm up. Nothing is previewed until an input
        changes."""
        self._held = []  # made for the previous document
        self._repair_edit = None
        if self.tracker is not None:
            self.tracker.close()
        if self._cache is not None:
            self._cache.close()
        self.worker.cancel_previews()  # the old document's preview or warm-up: not needed now
        self.take_down_preview(forget=True)
        self.doc, self.tools = doc, tools
        self.tracker = InputTracker(doc)
        self.tracker.raster_changed.connect(self.take_down_preview)
        self.history = history
        history.changed.connect(self._on_history_changed)
        self._cache = CompositeCache(doc)
        panel = self.ui.panel
        look = look_of(doc) if doc.layers else None  # what the user sees, not the bottom layer
        fits = None if look is None else default_mode(look)
        saved = Mode.__members__.get(str(doc.editor_state.get("mode")))
        if saved in COLORIZING and fits is Mode.RECOLOR:
            saved = None  # a photo colourized since: a colour photo gets no colourize preview
        said = None
        if saved is not None:  # a project reopens in the mode it was saved in
            panel.set_mode(saved)
            said = (saved, f"Mode: {saved.value} — as the project was saved")
        elif look is not None and fits is not None:
            panel.set_mode(fits)
            # why this mode; a blank canvas (File ▸ New) has nothing to judge, and the last
            # photo's reason is not its own
            said = (fits, "" if look.min() == look.max() else MODE_CHOSEN[fits])
        if said is not None:
            self.ui.feedback.show_status(said[1], 10000)
        self._mode_said = said
        self.preview_timer.stop()  # the mode change asks for no preview…
        self.settled = self._current_inputs()  # …and neither do these untouched inputs
        self.warm_up()

    def settings_changed(self) -> None:
        """Settings changed: another mode picked takes the opened mode's reason off the bar."""
        said = self._mode_said
        if said is not None and self.ui.panel.settings.mode is not said[0]:
            self.ui.feedback.clear_status(said[1])
            self._mode_said = None

    def composite_cache(self) -> CompositeCache | None:
        doc = self.doc
        if doc is None:
            return None
        if self._cache is None or self._cache.doc is not doc:
            self._cache = CompositeCache(doc)
        return self._cache

    def start_up(self) -> None:
        """At start-up, before any photo: load the runtime and the colourizer on the worker
        (a tiny hint-free colourization, not shown), so opening a photo finds them ready."""
        job = self.jobs.new(JobKind.WARM_UP, None)
        tiny = np.full((64, 64, 3), 128, np.uint8)
        self.worker.submit(ColorizeRequest(tiny, request_id=job.id, preview=True))

    def warm_up(self) -> None:
        """Load the model and cache the hint-free colourization of this photo at the preview's
        size and working size, in the background, whatever the mode (Recolour with a palette
        and Colourize + stylize read it too); nothing is shown. It is a preview job: the first
        stroke's preview replaces it if it has not started yet."""
        settings = self.ui.panel.settings
        if self.doc is None or settings.engine not in ("auto", "gan"):
            return
        job = self.jobs.new(JobKind.WARM_UP, self.doc)
        colorize = dataclasses.replace(settings, mode=Mode.COLORIZE, only_in_mask=False)
        request = build_request(
            self.doc, colorize, None, job.id, True, cache=self.composite_cache()
        )
        self.worker.submit(request)

    # ------------------------------------------------------------------ previews
    def schedule_preview(self) -> None:
        if self.doc is not None and self.ui.panel.settings.live_preview:
            self.preview_timer.start()

    def _current_inputs(self) -> PreviewInputs | None:
        if self.tracker is None or self.tools is None:
            return None
        return self.tracker.inputs(self.ui.panel.settings, self.tools.active_mask_id)

    def request_preview(self, force: bool = False) -> int | None:
        """Ask for a preview of the current inputs, unless one is shown or on its way
        (``force``: the Preview button, computed even then and with Live preview off)."""
        if not force and not self.ui.panel.settings.live_preview:
            return None
        if force and self.doc is None:
            self.ui.feedback.show_error("Open a photo first (File ▸ Open)")
            return None
        inputs = self._current_inputs()
        if inputs is None or (not force and inputs == self.requested):
            return None
        if not force and inputs == self.settled:
            if self.requested is not None:  # back to what is shown: drop the one on its way
                self._cancel_requested()
            if self.shown is not None and self.ui.canvas.preview_label != PREVIEW_LABEL:
                self.ui.canvas.set_preview(self.ui.canvas.preview, PREVIEW_LABEL)
            return None
        if self.shown is not None and self.shown.settings[0] != inputs.settings[0]:
            self.take_down_preview(forget=True)  # not another mode's result in this one
        if self.requested is not None:
            # the preview on its way shows inputs that are gone: stop it between tiles, so the
            # new one does not wait for it (a key held on a slider, mask strokes in Repair); a
            # running warm-up is left to finish (the next preview reads what it computes)
            self.worker.cancel_previews(self.latest_preview)
        job = self._submit(JobKind.PREVIEW, inputs=inputs)
        if job is None:
            self.take_down_preview()  # nothing to show for these inputs (the panel says why)
            self.settled = inputs
            return None
        self.requested, self.latest_preview = inputs, job.id
        if self.shown is not None:
            self.ui.canvas.set_preview(self.ui.canvas.preview, UPDATING_LABEL)
        return job.id

    def _cancel_requested(self) -> None:
        self.worker.cancel_previews()
        self.requested = None
        self.latest_preview = 0

    def hide_preview(self) -> None:
        """Esc: the preview goes, and stays gone until an input changes."""
        inputs = self._current_inputs()
        self.take_down_preview()
        self.settled = inputs

    def take_down_preview(self, forget: bool = False) -> None:
        """Show the document itself at once; drop previews on their way. ``forget``: the next
        schedule previews the current inputs again (Live preview switched back on)."""
        if self.requested is not None:  # only then: a running warm-up is left to finish
            self._cancel_requested()
        if forget:
            self.settled = None
        self.shown = None
        self.preview_timer.stop()
        canvas = self.ui.canvas
        if canvas.preview is not None:
            canvas.set_preview(None)
            canvas.set_provenance(None, None)
        canvas.set_mask_outline(False)
        self.ui.feedback.show_preview_status("")

    #: the last message about a step of the user's (detect, repair): the next Apply takes it
    #: down; errors, a result's own notes and dropped results stay
    _step_message = ""

    def _say_step(self, text: str) -> None:
        self._step_message = text
        self.ui.feedback.show_info(text)

    #: the repair whose Apply hid the mask overlay (None: none did)
    _repair_edit: weakref.ref | None = None

    def _on_history_changed(self) -> None:
        if self.history is not None and self.history.last_step != "do":
            self.take_down_preview()  # undo and redo show their effect at once
        repair, history = self._repair_edit and self._repair_edit(), self.history
        if repair is not None and history is not None and history.undone(repair):
            self._repair_edit = None
            self.ui.feedback.show_mask_overlay(True)
            self._say_step("Repair undone: the damage mask shows again.")
        self.schedule_preview()

    def set_provenance(self, on: bool) -> None:
        self.ui.panel.settings.provenance = on
        if not on:
            self.ui.canvas.set_provenance(None, None)
        self.schedule_preview()

    # ------------------------------------------------------------------ other jobs
    def _submit(self, kind: JobKind, inputs: PreviewInputs | None = None) -> Job | None:
        if self.doc is None or self.tools is None:
            if kind is JobKind.APPLY:
                self.ui.feedback.show_error("Open a photo first (File ▸ Open)")
            return None
        settings = self.ui.panel.settings
        job = self.jobs.new(
            kind,
            self.doc,
            target_layer_id=self.tools.active_layer_id,
            as_new_layer=settings.as_new_layer,
            inputs=inputs,
            mode=settings.mode,
        )
        preview = kind is JobKind.PREVIEW
        try:
            request = build_request(
                self.doc, settings, self.tools.active_mask_id, job.id, preview,
                cache=self.composite_cache(),
            )  # fmt: skip
        except RequestError as err:
            self.jobs.forget(job.id)
            if preview:
                self.ui.panel.status.setText(str(err))
            else:
                self.ui.feedback.show_error(str(err))
            return None
        self.worker.submit(request)
        return job

    def applying(self) -> bool:
        """Whether an Apply for the open document is still queued or running."""
        return any(job.document is self.doc for job in self.jobs.pending(JobKind.APPLY))

    def apply_generation(self) -> int | None:
        job = self._submit(JobKind.APPLY)
        return None if job is None else job.id

    def detect_damage(self) -> int | None:
        """Run the damage detector on the visible image; the mask arrives as an undoable edit."""
        if self.doc is None:
            self.ui.feedback.show_error("Open a photo first (File ▸ Open)")
            return None
        job = self.jobs.new(JobKind.DETECT, self.doc)
        settings = self.ui.panel.settings
        self.worker.submit(
            build_detect_request(self.doc, settings.sensitivity, job.id, self.composite_cache())
        )
        return job.id

    def ask_suggestions(self, x: int, y: int) -> None:
        if self.doc is None:
            return
        job = self.jobs.new(JobKind.SUGGEST, self.doc)
        self.worker.submit(build_suggest_request(self.doc, x, y, job.id, self.composite_cache()))

    # ------------------------------------------------------------------ results
    def _on_worker(self, job_id: int, state: JobState, payload=None) -> None:
        message = self.jobs.message(job_id, state, self.doc, payload)
        if message is not None:
            self._on_job_message(message)

    def _on_job_message(self, message: JobMessage) -> None:
        """Every worker event, joined with its job, handled here."""
        job = message.job
        if message.state is JobState.PROGRESS:
            self.ui.panel.set_progress(*message.payload)
            return
        if message.orphan:
            what = {JobKind.APPLY: "the result of Apply", JobKind.DETECT: "the damage found"}
            if job.kind in what and message.state is JobState.FINISHED:
                self.ui.feedback.show_info(
                    f"Dropped {what[job.kind]}: it was made for a document that is no longer "
                    "open (nothing was changed here)"
                )
            return
        if message.state is JobState.CANCELLED:
            if job.kind is JobKind.APPLY:
                self.ui.feedback.show_status("Cancelled", 3000)
            return
        if message.state is JobState.FAILED:
            self._on_job_failed(job, message.payload)
            return
        result = message.payload
        if job.kind is JobKind.SUGGEST:
            self.ui.tool_options.set_suggestions(list(result.suggestions))
        elif job.kind is JobKind.DETECT:
            self._on_damage_found(result, job.seconds)
        elif job.kind is JobKind.APPLY:
            self._apply(job, result)
        elif job.kind is JobKind.PREVIEW and job.id == self.latest_preview:
            if job.inputs != self._current_inputs():  # the inputs moved on meanwhile
                self.requested, self.latest_preview = None, 0
                self.schedule_preview()
                return
            self.shown = self.settled = job.inputs
            self.requested = None
            self.ui.canvas.set_preview(result.image, PREVIEW_LABEL)
            self.ui.canvas.set_mask_outline(job.inputs.settings[0] is Mode.RESTORE)
            if self.ui.panel.settings.provenance:
                self.ui.canvas.set_provenance(result.hint_influence, result.confidence)
            name = engine_name(result.engine)
            self.ui.feedback.show_preview_status(f"Preview ({name}): {job.seconds * 1000:.0f} ms")
        elif job.kind is JobKind.WARM_UP:  # the photo's first job: what runs it now
            self.ui.feedback.show_device_status(f"device: {result.device}")
            self.ui.feedback.show_model_status(result.models)
            return
        else:
            return  # a preview a newer one replaced: nothing to show
        if result.notes:
            self.ui.feedback.show_info("; ".join(result.notes))
        if job.kind is not JobKind.SUGGEST:
            self.ui.feedback.show_device_status(f"device: {result.device}")
            self.ui.feedback.show_model_status(result.models)

    def _apply(self, job: Job, result) -> None:
        if self._hold_while_stroking(lambda: self._apply(job, result)):
            return
        edit = result_edit(job.document, result, job.target_layer_id, job.as_new_layer)
        applied = edit is not None and self.history is not None
        if applied:
            before = {layer.id for layer in job.document.layers}
            self.history.do(edit)  # a raster change: the preview it replaces comes down
            added = [layer.id for layer in job.document.layers if layer.id not in before]
            if added:  # the result's new layer is on top of what was active: paint on it
                self.ui.layers_panel.select_layer(added[0])
            else:
                self.ui.layers_panel.refresh()
        name = engine_name(result.engine)
        self.ui.feedback.show_status(f"Applied ({name}) in {job.seconds:.1f} s", 5000)
        if applied and self._step_message:  # what it said about an earlier step is out of date
            self.ui.feedback.clear_message(self._step_message)
        # a repair: the damage mask has done its work and its overlay would hide the result
        if applied and job.mode is Mode.RESTORE:  # off the view only, not the document
            self._repair_edit = weakref.ref(edit)  # undone: the mask shows again (weak: the
            # history's memory budget may drop a full-size layer edit)
            self.ui.feedback.show_mask_overlay(False)
            self._say_step(
                "Repaired. The damage mask is hidden so you can see the result: View ▸ Show "
                "Mask (Ctrl+M) shows it again; Undo brings the damage back."
            )
        self.result_applied.emit(job.id)

    def _on_job_failed(self, job: Job, text: str) -> None:
        if job.kind is JobKind.SUGGEST:  # not worth a banner: say it where the swatches are
            self.ui.tool_options.set_suggestions([], f"No suggestions: {text}")
        elif job.kind is JobKind.DETECT:
            self.ui.feedback.show_error(f"Damage detection failed: {text}")
        elif job.kind is JobKind.WARM_UP:
            self.ui.feedback.show_preview_status(f"model not ready: {text}")
        elif job.kind is JobKind.PREVIEW:
            if job.id == self.latest_preview:
                self.take_down_preview()
                self.settled = job.inputs  # not again until an input changes
                self.ui.panel.status.setText(f"Preview failed: {text}")
        else:
            self.ui.feedback.show_error(f"Generation failed: {text}")

    def _put_held(self) -> None:
        """At the stroke's end, on the next turn of the event loop: a stroke ended by Ctrl+Z
        is undone first, not the result that waited for it."""
        if self._held:
            QTimer.singleShot(0, self, self._put_held_now)

    def _put_held_now(self) -> None:
        held, self._held = self._held, []
        for put in held:
            put()

    def _hold_while_stroking(self, put: Callable[[], None]) -> bool:
        """True (and ``put`` kept for the stroke's end) while a brush stroke is in progress."""
        if self.tools is not None and self.tools.stroking:
            self._held.append(put)
            return True
        return False

    def _on_damage_found(self, result, seconds: float) -> None:
        if self.doc is None or self.history is None or result.mask is None:
            return
        if self._hold_while_stroking(lambda: self._on_damage_found(result, seconds)):
            return
        edit, mask_id = damage_mask_edit(self.doc, result.mask, self.tools.active_mask_id)
        self.tools.active_mask_id = mask_id  # shown on the canvas (the overlay of the active mask)
        self.ui.layers_panel.active_mask_id = mask_id  # and selected in the list
        if edit is not None:
            self.history.do(edit)
        self.ui.feedback.show_mask_overlay(True)  # also after a repair hid it
        self.ui.layers_panel.refresh()
        self.ui.canvas.refresh_overlay()
        self.ui.panel.set_mode(Mode.RESTORE)
        share = float((result.mask > 0).mean())
        self._say_step(
            f"Damage found on {share:.1%} of the photo ({seconds:.1f} s). Refine the mask with "
            "the mask brush and eraser, then Apply to repair it."
            if share > 0
            else "No damage found: raise the sensitivity, or paint the damage with the mask brush."
        )
        self.schedule_preview()
