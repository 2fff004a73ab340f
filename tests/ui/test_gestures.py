"""A stroke still being dragged when something else changes the document: Ctrl+S, Ctrl+Z, an
Apply's result, a release a dialog took. Each ends it as one undo step, or waits for it."""

import numpy as np
from PySide6.QtCore import QEvent

from colorstudio.core.io.ora import load_ora
from colorstudio.session.tools import Tool
from tests.ui.conftest import send_mouse


def press_and_move(canvas, points):
    """The button goes down at the first image point and moves through the others (no
    release: the user is still dragging)."""
    send_mouse(canvas, QEvent.Type.MouseButtonPress, canvas.image_to_widget(*points[0]))
    for p in points[1:]:
        send_mouse(canvas, QEvent.Type.MouseMove, canvas.image_to_widget(*p))


def move_and_release(canvas, points):
    for p in points:
        send_mouse(canvas, QEvent.Type.MouseMove, canvas.image_to_widget(*p))
    send_mouse(canvas, QEvent.Type.MouseButtonRelease, canvas.image_to_widget(*points[-1]))


def test_saving_mid_stroke_saves_the_stroke_so_far_as_one_step(editor, photo, tmp_path):
    editor.open_path(photo)
    editor.generate_panel.live.setChecked(False)
    editor.set_tool(Tool.HINT)
    doc = editor.document
    press_and_move(editor.canvas, [(20, 20), (60, 40)])
    assert editor.canvas.drawing
    assert editor.save_to(tmp_path / "mid.ora")  # Ctrl+S with the button still down
    assert not editor.canvas.drawing
    assert editor.history.labels() == ["Colour hint"]
    assert not doc.dirty  # the file holds everything the window shows
    saved = load_ora(tmp_path / "mid.ora").document.hint.pixels
    assert np.array_equal(saved, doc.hint.pixels)
    assert saved[30, 40, 3] == 255
    painted = doc.hint.pixels.copy()
    move_and_release(editor.canvas, [(100, 90), (120, 100)])  # the rest of the drag…
    assert np.array_equal(doc.hint.pixels, painted)  # …paints nothing (the stroke ended)
    assert editor.history.labels() == ["Colour hint"] and not doc.dirty


def test_undo_mid_stroke_takes_back_that_stroke(editor, photo):
    editor.open_path(photo)
    editor.generate_panel.live.setChecked(False)
    editor.set_tool(Tool.BRUSH)
    editor.tool_options.set_color((250, 10, 10))
    doc = editor.document
    before = doc.layers[0].pixels.copy()
    press_and_move(editor.canvas, [(20, 20), (60, 40)])
    assert not np.array_equal(doc.layers[0].pixels, before)
    editor.undo()  # Ctrl+Z with the button still down
    assert np.array_equal(doc.layers[0].pixels, before)
    move_and_release(editor.canvas, [(80, 60)])
    assert np.array_equal(doc.layers[0].pixels, before)
    assert editor.history.labels() == ["Paint"] and editor.history.index == 0
    editor.redo()  # the stroke as far as it went, as one step
    assert doc.layers[0].pixels[30, 40, 0] == 250


def test_an_apply_result_waits_for_the_stroke_in_progress(qtbot, editor, photo, fake_engine):
    """An edit landing inside a stroke would be half undone with it: the stroke's undo step
    holds the pixels from before the stroke."""
    editor.open_path(photo)
    editor.generate_panel.live.setChecked(False)
    editor.generate_panel.as_new_layer.setChecked(False)
    editor.set_tool(Tool.BRUSH)
    editor.tool_options.set_color((250, 10, 10))
    doc = editor.document
    layer = doc.layers[0]
    before = layer.pixels.copy()
    press_and_move(editor.canvas, [(20, 20), (60, 40)])
    editor.apply_generation()
    assert fake_engine.started.wait(5)
    qtbot.waitUntil(lambda: not editor.generation.applying(), timeout=10000)
    qtbot.wait(50)
    assert len(editor.history.labels()) == 0  # held: the stroke is still going
    with qtbot.waitSignal(editor.result_applied, timeout=5000):
        move_and_release(editor.canvas, [(80, 60)])
    assert editor.history.labels()[0] == "Paint"  # the stroke first, then the result
    assert layer.pixels[100, 150, 0] == 255 - before[100, 150, 0]  # the result landed
    editor.undo()
    editor.undo()
    assert np.array_equal(layer.pixels, before)  # each undo took back exactly its own


def test_a_release_that_never_came_ends_the_stroke_at_the_next_press(editor, photo):
    """A modal dialog that opens mid-drag takes the button's release: the next press must not
    leave the first stroke's pixels outside every undo step."""
    editor.open_path(photo)
    editor.generate_panel.live.setChecked(False)
    editor.set_tool(Tool.HINT)
    doc = editor.document
    press_and_move(editor.canvas, [(20, 20), (60, 40)])
    press_and_move(editor.canvas, [(100, 80), (120, 90)])  # no release in between
    move_and_release(editor.canvas, [(130, 95)])
    assert editor.history.labels() == ["Colour hint", "Colour hint"]
    editor.undo()
    editor.undo()
    assert not doc.hint.pixels.any()


def test_undo_mid_stroke_with_a_result_waiting_takes_back_the_stroke(
    qtbot, editor, photo, fake_engine
):
    """Ctrl+Z ends the stroke, and the result that waited for it must not be what it undoes."""
    editor.open_path(photo)
    editor.generate_panel.live.setChecked(False)
    editor.generate_panel.as_new_layer.setChecked(False)
    editor.set_tool(Tool.BRUSH)
    editor.tool_options.set_color((250, 10, 10))
    layer = editor.document.layers[0]
    before = layer.pixels.copy()
    press_and_move(editor.canvas, [(20, 20), (60, 40)])
    editor.apply_generation()
    qtbot.waitUntil(lambda: not editor.generation.applying(), timeout=10000)
    with qtbot.waitSignal(editor.result_applied, timeout=5000):
        editor.undo()  # Ctrl+Z with the button still down
    assert editor.history.labels()[-1] != "Paint"  # the result is the step that stands
    assert layer.pixels[30, 40, 0] == 255 - before[30, 40, 0]  # on the photo, not the stroke
    editor.undo()
    assert np.array_equal(layer.pixels, before)


def test_a_stroke_ended_after_the_view_moved_ends_where_it_was_painted(editor, photo, tmp_path):
    editor.open_path(photo)
    editor.generate_panel.live.setChecked(False)
    editor.set_tool(Tool.HINT)
    press_and_move(editor.canvas, [(20, 20), (60, 40)])
    painted = editor.document.hint.pixels.copy()
    editor.canvas.pan_by(-60, -60)  # the view moves (space-drag, wheel) with the stroke open
    assert editor.save_to(tmp_path / "p.ora")
    assert np.array_equal(editor.document.hint.pixels, painted)  # no line to a moved point


def test_a_modal_dialog_over_the_window_ends_the_stroke_it_interrupts(editor, photo):
    """The dialog takes the button's release: until the next press the stroke would stay open,
    holding results back and skipping autosaves."""
    from PySide6.QtCore import QEvent as Event
    from PySide6.QtWidgets import QApplication

    editor.open_path(photo)
    editor.generate_panel.live.setChecked(False)
    editor.set_tool(Tool.HINT)
    press_and_move(editor.canvas, [(20, 20), (60, 40)])
    QApplication.sendEvent(editor, Event(Event.Type.WindowBlocked))
    assert not editor.canvas.drawing
    assert editor.history.labels() == ["Colour hint"]
