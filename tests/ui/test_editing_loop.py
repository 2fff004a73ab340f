"""The editing loop a user lives in, driven with the mouse: previews appear only for the mode's
inputs and are marked, undo shows its effect at once, a result never lands on another document,
and a saved project reopens as it was."""

import numpy as np
import pytest
from PIL import Image

from colorstudio.core.compositing import composite
from colorstudio.session.generate import Mode
from colorstudio.session.jobs import JobKind
from colorstudio.session.tools import Tool
from colorstudio.ui.generation_controller import PREVIEW_LABEL
from colorstudio.ui.qimage import qimage_to_rgba
from tests.ui.conftest import drag


def shown(canvas) -> np.ndarray:
    """What the canvas draws for the document (its composite image), H x W x 4 uint8."""
    return qimage_to_rgba(canvas.image)


def assert_canvas_is_the_document(editor):
    doc = editor.document
    assert editor.canvas.preview is None
    assert np.array_equal(shown(editor.canvas), composite(doc.layers, doc.height, doc.width))


def color_photo(tmp_path):
    rgb = np.zeros((90, 120, 3), np.uint8)
    rgb[:45] = [200, 60, 40]
    rgb[45:, :60] = [40, 150, 70]
    rgb[45:, 60:] = [50, 70, 190]
    path = tmp_path / "colour.png"
    Image.fromarray(rgb).save(path)
    return path


def test_the_mode_is_judged_from_what_the_project_shows(qtbot, editor, tmp_path):
    """A project whose bottom layer is a plain white background, a colour photo above it: the
    photo the user sees is in colour, so it opens in Recolour and says why."""
    from colorstudio.core.document import Document
    from colorstudio.core.io.ora import save_ora

    photo = np.asarray(Image.open(color_photo(tmp_path)).convert("RGBA"))
    doc = Document.from_rgba(np.full_like(photo, 255), name="Paper")
    doc.insert("layers", 1, doc.new_layer("Photo", photo.copy()))
    save_ora(doc, tmp_path / "work.ora")
    assert editor.open_path(tmp_path / "work.ora")
    assert editor.generate_panel.settings.mode is Mode.RECOLOR
    assert editor.statusBar().currentMessage().startswith("Mode: Recolour")
    editor.generate_panel.set_mode(Mode.RECOLOR)  # the same mode again: the reason stands
    assert editor.statusBar().currentMessage().startswith("Mode: Recolour")
    editor.generate_panel.set_mode(Mode.STYLIZE)  # the user's own choice: no stale reason
    assert editor.statusBar().currentMessage() == ""


@pytest.mark.parametrize("kind", ["colour", "grey"])
def test_layer_edits_never_start_a_preview(qtbot, editor, photo, tmp_path, kind):
    """Opacity, blend mode and a duplicated layer are not inputs of any mode: not on a colour
    photo (Recolour), not on a grey one (Colourize, where a preview could be built)."""
    kinds = []
    new_job = editor.generation.jobs.new

    def recording(job_kind, *args, **kwargs):
        kinds.append(job_kind)
        return new_job(job_kind, *args, **kwargs)

    editor.generation.jobs.new = recording
    assert editor.open_path(color_photo(tmp_path) if kind == "colour" else photo)
    expected = Mode.RECOLOR if kind == "colour" else Mode.COLORIZE
    assert editor.generate_panel.settings.mode is expected
    said = editor.statusBar().currentMessage()  # the user is told why, and how to change it
    assert said.startswith(f"Mode: {'Recolour' if kind == 'colour' else 'Colourize'}")
    panel = editor.layers_panel
    panel.buttons["duplicate"].click()
    panel.blend.setCurrentIndex(1)
    panel.blend.activated.emit(1)  # multiply, as a user picks it
    panel.opacity.setValue(40)
    panel.opacity.sliderReleased.emit()
    qtbot.wait(100)
    assert JobKind.PREVIEW not in kinds and JobKind.WARM_UP in kinds
    assert len(editor.document.layers) == 2 and editor.document.layers[1].opacity == 0.4
    assert_canvas_is_the_document(editor)
    editor.set_tool(Tool.HINT)  # while a hint stroke is an input of both modes:
    drag(editor.canvas, [(20, 20), (90, 30)])
    if kind == "grey":  # Colourize previews it…
        qtbot.waitUntil(lambda: editor.canvas.preview is not None, timeout=5000)
    else:  # …Recolour says it needs a mask first, and shows nothing
        qtbot.waitUntil(lambda: "mask" in editor.generate_panel.status.text(), timeout=5000)
        assert_canvas_is_the_document(editor)


def test_preview_apply_undo_redo_show_what_happened(qtbot, editor, fake_engine, photo):
    editor.open_path(photo)  # grey: Colourize, live preview on
    assert editor.generate_panel.settings.mode is Mode.COLORIZE
    grey = editor.document.layers[0].pixels.copy()
    editor.set_tool(Tool.HINT)
    editor.tool_options.set_color((230, 40, 40))
    for y in (20, 60, 100):  # three strokes, 100 px long
        drag(editor.canvas, [(20, y), (70, y + 2), (120, y + 4)])
    qtbot.waitUntil(lambda: editor.canvas.preview is not None, timeout=5000)
    assert editor.canvas.preview_label == PREVIEW_LABEL  # marked: not applied
    assert np.array_equal(editor.document.layers[0].pixels, grey)  # nothing applied yet
    with qtbot.waitSignal(editor.generation.result_applied, timeout=5000):
        editor.generate_panel.apply_button.click()
    applied = composite(editor.document.layers, editor.document.height, editor.document.width)
    assert not np.array_equal(applied[..., :3], grey[..., :3])
    assert_canvas_is_the_document(editor)  # Apply took the preview down: this is the document
    editor.act_undo.trigger()
    assert_canvas_is_the_document(editor)
    assert np.array_equal(shown(editor.canvas), grey)  # the grey photo again, at once
    qtbot.wait(200)
    assert editor.canvas.preview is None  # and no preview paints the colours back
    editor.act_redo.trigger()
    assert np.array_equal(shown(editor.canvas), applied)


def test_live_preview_off_and_esc_take_the_preview_down_at_once(qtbot, editor, photo):
    editor.open_path(photo)
    editor.set_tool(Tool.HINT)
    drag(editor.canvas, [(20, 20), (100, 30)])
    qtbot.waitUntil(lambda: editor.canvas.preview is not None, timeout=5000)
    editor.generate_panel.live.setChecked(False)
    assert editor.canvas.preview is None
    editor.generate_panel.live.setChecked(True)
    drag(editor.canvas, [(20, 50), (100, 60)])
    qtbot.waitUntil(lambda: editor.canvas.preview is not None, timeout=5000)
    editor.act_cancel.trigger()  # Esc
    assert editor.canvas.preview is None


def test_a_result_for_a_closed_document_is_dropped(qtbot, editor, fake_engine, photo, tmp_path):
    editor.open_path(photo)
    editor.generate_panel.live.setChecked(False)
    fake_engine.mode = "slow"
    fake_engine.started.clear()
    editor.generate_panel.apply_button.click()
    assert fake_engine.started.wait(5)
    other = tmp_path / "other.png"
    Image.fromarray(np.full((120, 160, 3), 90, np.uint8)).save(other)  # the same size
    assert editor.open_path(other)
    new_doc = editor.document
    before = new_doc.layers[0].pixels.copy()
    qtbot.waitUntil(lambda: "no longer open" in editor.banner.label.text(), timeout=8000)
    assert editor.document is new_doc and len(new_doc.layers) == 1
    assert np.array_equal(new_doc.layers[0].pixels, before)
    assert editor.history.labels() == []  # nothing was applied to it


def test_save_and_reopen_keep_the_active_layer_and_name_the_window(qtbot, editor, photo, tmp_path):
    editor.open_path(photo)
    editor.layers_panel.buttons["add"].click()
    bottom = editor.document.layers[0].id
    panel = editor.layers_panel
    panel.layers.setCurrentRow(panel.layers.count() - 1)  # the bottom row: the first layer
    assert editor.controller.active_layer_id == bottom
    path = tmp_path / "kept.ora"
    assert editor.save_to(path)
    assert editor.open_path(path)
    assert editor.controller.active_layer_id == bottom
    assert editor.windowTitle().startswith("kept.ora")
