"""A preview shows the current inputs' result or nothing: sequences found by review that used
to leave a wrong preview on the canvas, or bring one back unasked."""

import threading

import numpy as np
import pytest
from PIL import Image

from colorstudio.ml.jobs import Cancelled
from colorstudio.ml.requests import AdjustRequest, Result
from colorstudio.session.generate import Mode
from colorstudio.session.tools import Tool
from colorstudio.ui.generation_controller import PREVIEW_LABEL
from tests.ui.conftest import drag


class GateEngine:
    """Answers with a flat image whose value says what was asked (strength x 200; Adjust: 1),
    and holds a job while ``gate`` is clear (honouring cancel)."""

    def __init__(self):
        self.requests = []
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Event()

    def run(self, request, cancel=None, progress=None):
        self.requests.append(request)
        self.started.set()
        while not self.gate.wait(0.01):
            if cancel is not None and cancel.cancelled:
                raise Cancelled()
        out = request.image.copy()
        adjust = isinstance(request, AdjustRequest)
        out[..., :3] = 1 if adjust else int(getattr(request, "strength", 1) * 200)
        h, w = out.shape[:2]
        return Result.compose(request.image, out, (0, 0, h, w), request.request_id, "fake", "cpu")


@pytest.fixture
def gate_engine():
    return GateEngine()


@pytest.fixture
def ged(make_editor, gate_engine):
    return make_editor(lambda: gate_engine)


def shown_value(editor):
    return None if editor.canvas.preview is None else int(editor.canvas.preview[..., 0].max())


def set_strength(editor, percent):
    editor.generate_panel.strength.setValue(percent)
    editor.generate_panel.strength.sliderReleased.emit()


def first_preview(qtbot, editor, photo):
    editor.open_path(photo)
    editor.set_tool(Tool.HINT)
    drag(editor.canvas, [(20, 20), (100, 30)])
    qtbot.waitUntil(lambda: editor.canvas.preview is not None, timeout=5000)
    qtbot.waitUntil(lambda: editor.worker.pending_count == 0, timeout=3000)
    qtbot.wait(200)


def test_a_setting_moved_and_moved_back_keeps_the_current_preview(qtbot, ged, gate_engine, photo):
    first_preview(qtbot, ged, photo)
    assert shown_value(ged) == 200
    gate_engine.gate.clear()
    gate_engine.started.clear()
    set_strength(ged, 50)
    qtbot.waitUntil(gate_engine.started.is_set, timeout=3000)
    set_strength(ged, 100)  # back before the strength-0.5 preview came
    qtbot.wait(50)
    gate_engine.gate.set()
    qtbot.wait(400)
    assert shown_value(ged) == 200 and ged.canvas.preview_label == PREVIEW_LABEL


def test_a_mode_switched_and_back_never_shows_the_other_modes_result(
    qtbot, ged, gate_engine, photo
):
    first_preview(qtbot, ged, photo)
    gate_engine.gate.clear()
    gate_engine.started.clear()
    ged.generate_panel.set_mode(Mode.ADJUST)
    qtbot.waitUntil(gate_engine.started.is_set, timeout=3000)
    assert ged.canvas.preview is None  # not the Colourize result, "updating", in Adjust mode
    ged.generate_panel.set_mode(Mode.COLORIZE)
    qtbot.wait(50)
    gate_engine.gate.set()
    qtbot.waitUntil(lambda: shown_value(ged) == 200, timeout=5000)  # Colourize's own again
    qtbot.wait(300)
    assert shown_value(ged) == 200 and ged.canvas.preview_label == PREVIEW_LABEL


def test_esc_during_a_preview_keeps_it_hidden_through_layer_edits(qtbot, ged, gate_engine, photo):
    first_preview(qtbot, ged, photo)
    gate_engine.gate.clear()
    set_strength(ged, 50)  # a preview on its way…
    ged.act_cancel.trigger()  # …and Esc
    gate_engine.gate.set()
    ged.layers_panel.opacity.setValue(60)
    ged.layers_panel.opacity.sliderReleased.emit()
    qtbot.wait(400)
    assert ged.canvas.preview is None


def test_a_grey_photo_opened_after_a_color_one_is_not_previewed_untouched(
    qtbot, ged, gate_engine, photo, tmp_path
):
    color = tmp_path / "colour.png"
    rgb = np.zeros((60, 80, 3), np.uint8)
    rgb[:30], rgb[30:] = [200, 40, 40], [40, 60, 200]
    Image.fromarray(rgb).save(color)
    ged.open_path(color)  # Recolour
    ged.open_path(photo)  # Colourize: a mode change, but no input of it changed
    qtbot.wait(400)
    assert ged.canvas.preview is None


def test_renaming_a_layer_keeps_the_preview(qtbot, ged, gate_engine, photo):
    first_preview(qtbot, ged, photo)
    ged.layers_panel.layers.item(0).setText("Renamed")
    qtbot.wait(200)
    assert ged.document.layers[0].name == "Renamed" and shown_value(ged) == 200


def test_a_newer_preview_stops_the_running_one(qtbot, ged, gate_engine, photo):
    first_preview(qtbot, ged, photo)
    gate_engine.gate.clear()
    gate_engine.started.clear()
    set_strength(ged, 50)
    qtbot.waitUntil(gate_engine.started.is_set, timeout=3000)
    with qtbot.waitSignal(ged.worker.cancelled, timeout=3000):
        set_strength(ged, 30)  # the strength-0.5 preview is stale: stopped, not finished
    gate_engine.gate.set()
    qtbot.waitUntil(lambda: shown_value(ged) == 60, timeout=5000)
    assert [r.strength for r in gate_engine.requests[-2:]] == [0.5, 0.3]
    assert ged.canvas.preview_label == PREVIEW_LABEL


def test_a_newer_preview_leaves_a_running_warm_up_to_finish(qtbot, ged, gate_engine, photo):
    gate_engine.gate.clear()
    ged.open_path(photo)  # the photo's warm-up starts and is held
    qtbot.waitUntil(gate_engine.started.is_set, timeout=3000)
    cancelled = []
    ged.worker.cancelled.connect(cancelled.append)
    set_strength(ged, 50)
    set_strength(ged, 30)  # the second preview replaces the first, still queued
    qtbot.wait(100)
    gate_engine.gate.set()
    qtbot.waitUntil(lambda: shown_value(ged) == 60, timeout=5000)
    assert cancelled == []  # the warm-up ran to its end (the previews read what it computes)
