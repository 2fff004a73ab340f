"""Drive the editor like a user: tools with the mouse, undo, layers, generation, compare and
zoom (colours and references: test_editor_colors.py)."""

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt, QTimer

from colorstudio.core.layer import MaskRole
from colorstudio.session.generate import Mode
from colorstudio.session.tools import Tool
from tests.ui.conftest import drag, send_mouse


def test_painting_hints_with_the_mouse_is_one_undoable_step(qtbot, editor, photo):
    editor.open_path(photo)
    editor.set_tool(Tool.HINT)
    editor.tool_options.set_color((20, 200, 40))
    doc = editor.document
    drag(editor.canvas, [(20, 20), (40, 30), (60, 40), (80, 50)])
    assert doc.hint.pixels[30, 40].tolist() == [20, 200, 40, 255]
    assert doc.layers[0].pixels[30, 40, 1] != 200  # the photo itself is untouched
    assert editor.history.labels() == ["Colour hint"]
    painted = doc.hint.pixels.copy()
    editor.act_undo.trigger()
    assert not doc.hint.pixels.any()
    editor.act_redo.trigger()
    assert np.array_equal(doc.hint.pixels, painted)
    assert editor.history_panel.list.count() == 2  # "Open" + the stroke


def test_a_fast_stroke_has_no_gaps(editor, photo):
    editor.open_path(photo)
    editor.set_tool(Tool.BRUSH)
    editor.tool_state.brush = editor.tool_state.brush.__class__(size=4, hardness=1.0)
    drag(editor.canvas, [(5, 60), (155, 60)])  # one huge jump between two events
    layer = editor.document.layers[0]
    assert (layer.pixels[60, 5:155, :3] == editor.tool_state.color).all()


def test_brush_size_shortcuts_and_picker(qtbot, editor, photo):
    editor.open_path(photo)
    size = editor.tool_state.brush.size
    editor.act_bigger.trigger()
    assert editor.tool_state.brush.size > size
    editor.act_smaller.trigger()
    editor.act_smaller.trigger()
    assert editor.tool_state.brush.size < size
    editor.set_tool(Tool.PICKER)
    drag(editor.canvas, [(100, 10)])
    expected = tuple(int(v) for v in editor.document.layers[0].pixels[10, 100, :3])
    assert editor.tool_state.color == expected


def test_mask_brush_creates_a_mask_in_one_step_and_rect_selection_adds(editor, photo):
    editor.open_path(photo)
    doc = editor.document
    editor.set_tool(Tool.MASK)
    drag(editor.canvas, [(30, 30), (50, 30)])
    assert len(doc.masks) == 1 and doc.masks[0].pixels[30, 40] == 255
    editor.set_tool(Tool.RECT_SELECT)
    drag(editor.canvas, [(100, 80), (130, 100)])
    assert doc.masks[0].pixels[90, 115] == 255 and doc.masks[0].pixels[70, 115] == 0
    assert editor.history.labels() == ["Mask", "Selection to mask"]
    editor.undo()
    editor.undo()
    assert doc.masks == []  # creating the mask was part of the first step


def test_layers_panel_add_rename_hide_reorder_undo(qtbot, editor, photo):
    editor.open_path(photo)
    doc = editor.document
    panel = editor.layers_panel
    panel.buttons["add"].click()
    assert len(doc.layers) == 2 and panel.layers.count() == 2
    top = panel.layers.item(0)
    top.setText("Sky")
    assert doc.layers[1].name == "Sky"
    panel.layers.item(0).setCheckState(Qt.CheckState.Unchecked)
    assert not doc.layers[1].visible
    panel.buttons["down"].click()
    assert doc.layers[0].name == "Sky"
    assert editor.history.labels() == ["New layer", "Rename layer", "Hide layer", "Move layer"]
    editor.history.go_to(0)
    assert len(doc.layers) == 1 and panel.layers.count() == 1


def test_history_panel_click_goes_back(editor, photo):
    editor.open_path(photo)
    editor.set_tool(Tool.HINT)
    drag(editor.canvas, [(10, 10)])
    drag(editor.canvas, [(50, 50)])
    panel = editor.history_panel
    panel._on_list_item_clicked(panel.list.item(1))
    assert editor.history.index == 1
    assert (
        editor.document.hint.pixels[10, 10, 3] > 0 and editor.document.hint.pixels[50, 50, 3] == 0
    )


def test_live_preview_then_apply_as_new_layer_and_undo(qtbot, editor, photo, fake_engine):
    editor.open_path(photo)
    editor.set_tool(Tool.HINT)
    drag(editor.canvas, [(20, 20), (40, 20)])  # a stroke triggers a live preview
    qtbot.waitUntil(lambda: editor.canvas.preview is not None, timeout=10000)
    assert fake_engine.requests[-1].preview and fake_engine.requests[-1].hints is not None
    with qtbot.waitSignal(editor.result_applied, timeout=10000):
        editor.act_generate.trigger()
    doc = editor.document
    assert len(doc.layers) == 2 and doc.layers[1].name == "Fake result"
    original = doc.layers[0].pixels[5, 5, 0]
    assert doc.layers[1].pixels[5, 5, 0] == 255 - original
    assert editor.history.labels()[-1] == "Generate (Fake)"
    # the new layer is active: a brush stroke lands on it, not on the photo it covers
    assert editor.controller.active_layer_id == doc.layers[1].id
    assert editor.layers_panel.active_layer_id == doc.layers[1].id
    editor.set_tool(Tool.BRUSH)
    photo_before = doc.layers[0].pixels.copy()
    drag(editor.canvas, [(60, 60), (80, 60)])
    assert np.array_equal(doc.layers[0].pixels, photo_before)
    editor.undo()  # the stroke
    editor.undo()  # the result
    assert len(doc.layers) == 1
    assert editor.controller.active_layer().id == doc.layers[0].id


def test_apply_into_the_layer_only_inside_the_mask(qtbot, editor, photo):
    editor.open_path(photo)
    editor.generate_panel.live.setChecked(False)
    editor.set_tool(Tool.RECT_SELECT)
    drag(editor.canvas, [(10, 10), (40, 40)])
    editor.generate_panel.only_in_mask.setChecked(True)
    editor.generate_panel.as_new_layer.setChecked(False)
    doc = editor.document
    before = doc.layers[0].pixels.copy()
    with qtbot.waitSignal(editor.result_applied, timeout=10000):
        editor.apply_generation()
    after = doc.layers[0].pixels
    assert after[20, 20, 0] == 255 - before[20, 20, 0]
    assert np.array_equal(after[60:, 60:], before[60:, 60:])


def test_recolor_without_a_mask_explains_what_to_do(editor, photo):
    editor.open_path(photo)
    editor.generate_panel.mode.setCurrentIndex(list(Mode).index(Mode.RECOLOR))
    assert editor.apply_generation() is None
    assert "paint a mask first" in editor.banner.label.text()


def test_cancel_a_long_job_and_stay_responsive(qtbot, editor, photo, fake_engine):
    editor.open_path(photo)
    editor.generate_panel.live.setChecked(False)
    fake_engine.mode = "slow"
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    editor.apply_generation()
    assert fake_engine.started.wait(5)
    qtbot.wait(150)
    assert len(ticks) >= 5  # the GUI thread kept running while the engine worked
    editor.generate_panel.cancel_button.click()
    qtbot.waitUntil(lambda: editor.statusBar().currentMessage() == "Cancelled", timeout=5000)
    timer.stop()
    assert len(editor.document.layers) == 1  # nothing applied


def test_cancel_drops_an_apply_still_waiting_behind_the_warm_up(qtbot, editor, photo, fake_engine):
    fake_engine.mode = "slow"
    editor.open_path(photo)  # the photo's warm-up starts at once…
    editor.generate_panel.live.setChecked(False)
    assert fake_engine.started.wait(5)
    editor.apply_generation()  # …so this Apply waits its turn
    qtbot.waitUntil(editor.generate_panel.cancel_button.isEnabled, timeout=5000)
    editor.generate_panel.cancel_button.click()
    qtbot.waitUntil(lambda: editor.statusBar().currentMessage() == "Cancelled", timeout=5000)
    qtbot.waitUntil(lambda: not editor.generate_panel.cancel_button.isEnabled(), timeout=5000)
    qtbot.wait(100)
    assert len(fake_engine.requests) == 1  # the Apply never ran
    assert len(editor.document.layers) == 1


def test_worker_error_shows_a_banner_and_the_next_job_works(qtbot, editor, photo, fake_engine):
    editor.open_path(photo)
    editor.generate_panel.live.setChecked(False)
    fake_engine.mode = "fail"
    editor.apply_generation()
    qtbot.waitUntil(lambda: "simulated engine crash" in editor.banner.label.text(), timeout=5000)
    assert editor.banner.isVisible()
    fake_engine.mode = "ok"
    with qtbot.waitSignal(editor.result_applied, timeout=10000):
        editor.apply_generation()
    assert len(editor.document.layers) == 2


def test_colorize_with_the_real_classical_engine(qtbot, make_editor, photo, tmp_path):
    from colorstudio.ml.engine import Engine

    editor = make_editor(lambda: Engine(models_dir=tmp_path / "none", device="cpu"))
    editor.open_path(photo)
    editor.generate_panel.live.setChecked(False)
    editor.set_tool(Tool.HINT)
    editor.tool_options.set_color((220, 40, 40))
    drag(editor.canvas, [(30, 60), (40, 60)])
    with qtbot.waitSignal(editor.result_applied, timeout=30000):
        editor.apply_generation()
    result = editor.document.layers[1].pixels
    assert result[60, 35, 0] > result[60, 35, 2] + 20  # reddish where the hint was
    assert editor.history.labels()[-1] == "Generate (Levin)"


def test_compare_split_and_hold_key(qtbot, editor, photo):
    editor.open_path(photo)
    editor.canvas.set_preview(255 - editor.document.layers[0].pixels[..., :3])
    editor.act_split.trigger()
    assert editor.canvas.split == pytest.approx(0.5) and editor.split_slider.isVisible()
    editor.split_slider.setValue(30)
    assert editor.canvas.split == pytest.approx(0.3)
    editor.canvas.setFocus()
    qtbot.keyPress(editor.canvas, Qt.Key.Key_Backslash)
    assert editor.canvas.showing_before
    qtbot.keyRelease(editor.canvas, Qt.Key.Key_Backslash)
    assert not editor.canvas.showing_before
    image = editor.canvas.grab().toImage()
    assert not image.isNull()


def test_zoom_around_cursor_and_pan(qtbot, editor, photo):
    editor.open_path(photo)
    canvas = editor.canvas
    anchor = canvas.image_to_widget(40, 30)
    canvas.set_zoom(8.0, anchor)
    back = canvas.widget_to_image(anchor)
    assert back.x() == pytest.approx(40) and back.y() == pytest.approx(30)
    canvas.set_zoom(100.0)
    assert canvas.zoom == 32.0  # 3200 % at most
    canvas.set_zoom(0.0001)
    assert canvas.zoom == 0.01
    before = QPointF(canvas.offset)  # QPointF is mutable: copy it
    centre = QPointF(canvas.rect().center())
    send_mouse(canvas, QEvent.Type.MouseButtonPress, centre, Qt.MouseButton.MiddleButton)
    send_mouse(
        canvas, QEvent.Type.MouseMove, centre + QPointF(25, -10), Qt.MouseButton.MiddleButton
    )
    send_mouse(
        canvas,
        QEvent.Type.MouseButtonRelease,
        centre + QPointF(25, -10),
        Qt.MouseButton.MiddleButton,
    )
    assert canvas.offset.x() == pytest.approx(
        before.x() + 25
    ) and canvas.offset.y() == pytest.approx(before.y() - 10)


def test_hint_strokes_repaint_only_the_overlay(editor, photo, monkeypatch):
    """Brushing hints must not recomposite the layers (that keeps big images smooth)."""
    from colorstudio.ui import canvas as canvas_module

    editor.open_path(photo)
    editor.set_tool(Tool.HINT)
    calls = []
    real = canvas_module.composite
    monkeypatch.setattr(
        canvas_module,
        "composite",
        lambda *a, **k: calls.append(k.get("bbox", a[3] if len(a) > 3 else None)) or real(*a, **k),
    )
    drag(editor.canvas, [(10, 10), (60, 40)])
    assert calls == []
    editor.set_tool(Tool.BRUSH)
    drag(editor.canvas, [(10, 10), (60, 40)])
    assert calls and all(
        box is not None for box in calls
    )  # only dirty boxes, never the whole image


def test_provenance_overlay_appears_with_the_preview(qtbot, make_editor, photo, tmp_path):
    from colorstudio.ml.engine import Engine
    from colorstudio.ml.networks import define_generator

    model = define_generator("colorizer_lite0", pretrained=False)
    editor = make_editor(
        lambda: Engine(models_dir=tmp_path / "none", device="cpu", colorizer=model)
    )
    editor.open_path(photo)
    editor.act_provenance.trigger()
    qtbot.waitUntil(lambda: not editor.canvas.provenance_image.isNull(), timeout=20000)
    editor.act_provenance.trigger()
    assert editor.canvas.provenance_image.isNull()


def test_tablet_pressure_changes_the_stroke_width(editor, photo):
    from PySide6.QtGui import QInputDevice, QPointingDevice, QTabletEvent
    from PySide6.QtWidgets import QApplication

    editor.open_path(photo)
    editor.set_tool(Tool.HINT)
    editor.tool_state.brush = editor.tool_state.brush.__class__(size=16, hardness=1.0)
    pen = QPointingDevice(
        "test pen",
        4242,
        QInputDevice.DeviceType.Stylus,
        QPointingDevice.PointerType.Pen,
        QInputDevice.Capability.Position | QInputDevice.Capability.Pressure,
        1,
        3,
    )
    canvas = editor.canvas

    def pen_stroke(y, pressure):
        for kind, x in (
            (QEvent.Type.TabletPress, 20),
            (QEvent.Type.TabletMove, 80),
            (QEvent.Type.TabletRelease, 140),
        ):
            pos = canvas.image_to_widget(x, y)
            buttons = (
                Qt.MouseButton.NoButton
                if kind == QEvent.Type.TabletRelease
                else Qt.MouseButton.LeftButton
            )
            event = QTabletEvent(
                kind,
                pen,
                pos,
                canvas.mapToGlobal(pos),
                pressure,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                Qt.KeyboardModifier.NoModifier,
                Qt.MouseButton.LeftButton,
                buttons,
            )
            QApplication.sendEvent(canvas, event)

    pen_stroke(30, 0.25)
    pen_stroke(90, 1.0)
    alpha = editor.document.hint.pixels[..., 3]
    light = (alpha[:60, 80] > 0).sum()
    heavy = (alpha[60:, 80] > 0).sum()
    assert 0 < light < heavy / 2
    assert editor.history.labels() == ["Colour hint", "Colour hint"]


def test_strength_brush_lowers_and_raises_the_strength_map(editor, photo, fake_engine):
    from colorstudio.session.generate import build_request

    editor.open_path(photo)
    editor.set_tool(Tool.STRENGTH)
    assert editor.tool_options.raise_strength.isVisibleTo(editor.tool_options)
    editor.tool_state.brush = editor.tool_state.brush.__class__(size=20, hardness=1.0)
    drag(editor.canvas, [(40, 40), (60, 40)])
    (strength,) = [m for m in editor.document.masks if m.role is MaskRole.STRENGTH]
    assert strength.pixels[40, 50] == 0 and strength.pixels[100, 100] == 255
    strength.name = "My own name"  # what it is for is its role, not its name
    editor.tool_options.raise_strength.setChecked(True)
    drag(editor.canvas, [(50, 40)])
    assert strength.pixels[40, 50] == 255
    request = build_request(editor.document, editor.generate_panel.settings, None, 1, preview=False)
    assert request.strength_map is not None and request.strength_map.shape == (120, 160)
    assert np.array_equal(request.strength_map, strength.pixels)


def test_clear_mask_from_the_edit_menu_and_undo(qtbot, editor, photo):
    editor.open_path(photo)
    editor.generate_panel.live.setChecked(False)
    editor.set_tool(Tool.RECT_SELECT)
    drag(editor.canvas, [(20, 20), (60, 50)])
    mask = next(m for m in editor.document.masks if m.id == editor.controller.active_mask_id)
    painted = mask.pixels.copy()
    assert painted.any()
    editor.act_clear_mask.trigger()
    assert not mask.pixels.any() and editor.history.labels()[-1] == "Clear mask"
    editor.undo()
    assert np.array_equal(mask.pixels, painted)
    editor.redo()
    editor.act_clear_mask.trigger()  # nothing left to clear: said, not a no-op edit
    assert editor.statusBar().currentMessage() == "No mask to clear"
    assert editor.history.labels() == ["Selection to mask", "Clear mask"]


def test_show_original_from_the_view_menu_and_the_hold_key(qtbot, editor, photo):
    editor.open_path(photo)
    canvas = editor.canvas
    editor.act_original.trigger()
    assert editor.act_original.isChecked() and canvas.showing_before
    qtbot.keyPress(canvas, Qt.Key.Key_Backslash)
    qtbot.keyRelease(canvas, Qt.Key.Key_Backslash)
    assert canvas.showing_before  # releasing the key returns to the pinned view
    editor.act_original.trigger()
    assert not canvas.showing_before
    qtbot.keyPress(canvas, Qt.Key.Key_Backslash)
    assert canvas.showing_before
    qtbot.keyRelease(canvas, Qt.Key.Key_Backslash)
    assert not canvas.showing_before


def test_quitting_while_an_apply_runs_asks_first(qtbot, editor, photo, fake_engine, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    editor.open_path(photo)
    editor.generate_panel.live.setChecked(False)
    fake_engine.mode = "slow"
    editor.apply_generation()
    asked = []

    def wait_for_it(parent, title, text, buttons):
        asked.append(text)
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "question", wait_for_it)
    assert not editor.close()  # the user waits for the Apply
    assert editor.isVisible() and "quitting now loses its result" in asked[0]
    with qtbot.waitSignal(editor.result_applied, timeout=10000):
        pass
    assert len(editor.document.layers) == 2  # the result landed
    editor.document.mark_clean()
    assert editor.close()  # nothing running: no question
    assert len(asked) == 1
