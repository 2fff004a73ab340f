"""The restoration pipeline in the editor: detect → refine the mask → repair → colourize, each
one undoable step, with the real engine (tiny exported models)."""

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QEvent

from colorstudio.core.document import Document
from colorstudio.core.history import History
from colorstudio.core.io.ora import load_ora, save_ora
from colorstudio.core.layer import Layer
from colorstudio.ml.engine import Engine
from colorstudio.session.generate import DAMAGE_MASK_NAME, Mode, damage_mask_edit
from colorstudio.session.tools import Tool
from tests.ui.conftest import drag, send_mouse


class BrightDetector(torch.nn.Module):
    """Finds 'damage' = near-white pixels, so the test knows what must be found."""

    def probabilities(self, rgb01):
        return (rgb01.mean(1, keepdim=True) > 0.95).float()


@pytest.fixture
def scratched(tmp_path):
    yy, xx = np.mgrid[0:120, 0:160]
    grey = (50 + xx + 10 * np.sin(yy / 5)).clip(0, 200).astype(np.uint8)
    grey[60, 10:150] = 255  # a bright scratch
    path = tmp_path / "scratched.png"
    Image.fromarray(np.repeat(grey[..., None], 3, axis=2)).save(path)
    return path


def detected(qtbot, make_editor, scratched, tmp_path):
    """An editor on the scratched photo (Live preview off) after Detect Damage has found the
    scratch with :class:`BrightDetector`."""
    editor = make_editor(
        lambda: Engine(models_dir=tmp_path / "none", device="cpu", detector=BrightDetector())
    )
    editor.open_path(scratched)
    editor.generate_panel.live.setChecked(False)
    doc = editor.document
    editor.act_detect.trigger()
    qtbot.waitUntil(lambda: any(m.name == DAMAGE_MASK_NAME for m in doc.masks), timeout=20000)
    return editor


def test_detect_refine_repair_undo(qtbot, make_editor, scratched, tmp_path):
    editor = detected(qtbot, make_editor, scratched, tmp_path)
    doc = editor.document
    mask = next(m for m in doc.masks if m.name == DAMAGE_MASK_NAME)
    assert mask.pixels[60, 20:140].all() and not mask.pixels[:50].any()
    assert editor.controller.active_mask_id == mask.id
    assert editor.generate_panel.settings.mode is Mode.RESTORE
    assert "Damage found" in editor.banner.label.text()
    assert editor.history.labels()[-1] == "Detect damage"

    editor.set_tool(Tool.MASK)  # the user adds a dust speck the detector missed
    drag(editor.canvas, [(100, 20), (102, 20)])
    assert mask.pixels[20, 101] > 0

    before = doc.layers[0].pixels.copy()
    with qtbot.waitSignal(editor.result_applied, timeout=30000):
        editor.apply_generation()
    assert len(doc.layers) == 2  # the repair is a new layer over the photo
    repaired = doc.layers[1].pixels
    assert repaired[60, 80, 3] == 255 and repaired[60, 80, 0] < 230  # scratch filled
    assert not repaired[100:, :, 3].any()  # nothing outside the mask
    assert editor.history.labels()[-1] == "Generate (Pull-push)"
    # the mask's overlay comes off the view so the repair shows; the mask itself stays
    assert not editor.act_mask.isChecked() and not editor.canvas.show_mask
    assert "Show Mask" in editor.banner.label.text() and mask in doc.masks

    editor.act_detect.trigger()  # detecting again shows the mask again: on the repaired
    qtbot.waitUntil(lambda: editor.act_mask.isChecked(), timeout=20000)  # photo, now empty
    assert editor.canvas.show_mask and not mask.pixels.any()
    assert editor.history.labels()[-1] == "Detect damage"
    editor.undo()

    editor.undo()  # repair gone, mask kept
    assert len(doc.layers) == 1 and np.array_equal(doc.layers[0].pixels, before)
    assert editor.canvas.show_mask and "Repair undone" in editor.banner.label.text()
    editor.undo()  # the speck
    editor.undo()  # the detection
    assert not any(m.name == DAMAGE_MASK_NAME for m in doc.masks)


def test_the_damage_found_is_shown_and_detecting_again_replaces_it(
    qtbot, make_editor, scratched, tmp_path
):
    editor = detected(qtbot, make_editor, scratched, tmp_path)
    doc = editor.document
    (mask,) = doc.masks
    # on the canvas at once (the overlay of the active mask), and selected in the list
    assert editor.canvas.overlay.pixelColor(80, 60).alpha() > 0
    assert editor.layers_panel.active_mask_id == mask.id
    editor.set_tool(Tool.MASK_ERASER)  # the user wipes off part of it…
    drag(editor.canvas, [(20, 60), (40, 60)])
    assert not mask.pixels[60, 25:35].any()
    editor.act_detect.trigger()  # …and detects again: the same mask, as detected now
    qtbot.waitUntil(lambda: mask.pixels[60, 25:35].all(), timeout=20000)
    assert [m.name for m in doc.masks] == [DAMAGE_MASK_NAME]
    assert editor.history.labels()[-3:] == ["Detect damage", "Erase mask", "Detect damage"]
    editor.undo()
    assert not mask.pixels[60, 25:35].any()


def test_damage_found_during_a_mask_stroke_waits_for_the_stroke(
    qtbot, make_editor, scratched, tmp_path
):
    """The stroke's undo step holds the mask from before it: the detection may not change the
    mask under it, or undoing the two would leave pieces of each."""
    editor = detected(qtbot, make_editor, scratched, tmp_path)
    doc = editor.document
    (mask,) = doc.masks
    original = mask.pixels.copy()
    editor.set_tool(Tool.MASK_ERASER)
    canvas = editor.canvas
    send_mouse(canvas, QEvent.Type.MouseButtonPress, canvas.image_to_widget(20, 60))
    send_mouse(canvas, QEvent.Type.MouseMove, canvas.image_to_widget(30, 60))
    editor.generate_panel.sensitivity.setValue(90)
    editor.act_detect.trigger()  # the result arrives while the button is still down
    qtbot.wait(1500)
    assert editor.history.labels() == ["Detect damage"]  # held while the stroke goes on
    send_mouse(canvas, QEvent.Type.MouseButtonRelease, canvas.image_to_widget(40, 60))
    qtbot.waitUntil(lambda: len(editor.history.labels()) == 3)  # on the next event-loop turn
    assert editor.history.labels()[-2:] == ["Erase mask", "Detect damage"]
    editor.undo()
    editor.undo()
    assert np.array_equal(mask.pixels, original)  # each undo took back exactly its own


def test_detecting_again_shows_a_hidden_damage_mask_and_prefers_the_active_one():
    doc = Document(8, 6)
    history = History(doc)
    found = np.zeros((6, 8), np.uint8)
    found[2, 1:7] = 255
    first = doc.new_mask(DAMAGE_MASK_NAME, found.copy())
    second = doc.new_mask(DAMAGE_MASK_NAME, np.zeros_like(found))
    for index, m in enumerate((first, second)):
        doc.insert("masks", index, m)
    second.visible = False
    edit, mask_id = damage_mask_edit(doc, found, active_mask_id=second.id)
    assert mask_id == second.id and edit is not None
    history.do(edit)
    assert second.visible and np.array_equal(second.pixels, found)  # one step did both
    assert edit.label == "Detect damage"
    history.undo()
    assert not second.visible and not second.pixels.any()
    assert damage_mask_edit(doc, found, active_mask_id=first.id) == (None, first.id)


def test_a_repair_hides_the_mask_until_a_mask_tool_or_another_photo_needs_it(
    make_editor, scratched, tmp_path
):
    editor = make_editor(lambda: Engine(models_dir=tmp_path / "none", device="cpu"))
    editor.open_path(scratched)
    editor.show_mask_overlay(False)  # as a repair's Apply leaves it
    editor.set_tool(Tool.MASK)
    assert editor.act_mask.isChecked() and editor.canvas.show_mask
    editor.show_mask_overlay(False)
    editor.open_path(scratched)
    assert editor.act_mask.isChecked() and editor.canvas.show_mask


def test_opening_another_photo_no_longer_names_the_last_photos_model(
    qtbot, make_editor, scratched, tmp_path
):
    editor = make_editor(lambda: Engine(device="cpu"))  # the shipped models
    editor.open_path(scratched)
    editor.show_model_status(("inpainter",))  # the last photo was repaired
    editor.open_path(scratched)  # the next one's warm-up says what runs it now
    qtbot.waitUntil(lambda: "inpainter" not in editor.status_model.text(), timeout=30000)
    assert editor.status_model.text() == "model: colorizer"


def test_repair_without_a_mask_says_what_to_do(make_editor, scratched, tmp_path):
    editor = make_editor(lambda: Engine(models_dir=tmp_path / "none", device="cpu"))
    editor.open_path(scratched)
    editor.generate_panel.set_mode(Mode.RESTORE)
    assert editor.apply_generation() is None
    assert "Detect damage" in editor.banner.label.text()


def test_detection_without_a_model_reports_it(qtbot, make_editor, scratched, tmp_path):
    editor = make_editor(lambda: Engine(models_dir=tmp_path / "none", device="cpu"))
    editor.open_path(scratched)
    editor.act_detect.trigger()
    banner = editor.banner.label
    qtbot.waitUntil(lambda: "no damage detection model" in banner.text(), timeout=20000)
    assert not editor.document.masks


def test_over_a_repairs_preview_the_mask_shows_as_its_edge(qtbot, make_editor, scratched, tmp_path):
    from colorstudio.ui.qimage import qimage_to_rgba

    editor = detected(qtbot, make_editor, scratched, tmp_path)
    canvas = editor.canvas

    def alpha(y, x):
        return int(qimage_to_rgba(canvas.overlay)[y, x, 3])

    rows = np.flatnonzero(editor.document.masks[-1].pixels[:, 80])
    top = int(rows[0])  # the scratch's mask (as the detector grew it): a tint on it
    assert alpha(60, 80) > 0 and alpha(top - 1, 80) == 0
    editor.generation.request_preview(force=True)
    qtbot.waitUntil(lambda: canvas.preview is not None, timeout=30000)
    assert alpha(60, 80) == 0 and alpha(top - 1, 80) > 0  # a line beside it: the fill shows
    editor.set_tool(Tool.MASK)  # a mask stroke over the preview: outlined at once, fully
    drag(canvas, [(40, 100), (70, 100)])
    assert np.array_equal(
        qimage_to_rgba(canvas.overlay)[..., 3] > 0,
        canvas.render_overlay((0, 0, 120, 160))[..., 3] > 0,
    )
    editor.generation.hide_preview()  # Esc: the tint again
    assert not canvas.mask_outline and alpha(60, 80) > 0
    editor.generate_panel.set_mode(Mode.ADJUST)  # another mode's preview keeps the tint
    editor.generation.request_preview(force=True)
    qtbot.waitUntil(lambda: canvas.preview is not None, timeout=30000)
    assert not canvas.mask_outline and alpha(60, 80) > 0


def test_undoing_a_repair_shows_its_mask_again(qtbot, make_editor, scratched, tmp_path):
    editor = detected(qtbot, make_editor, scratched, tmp_path)
    with qtbot.waitSignal(editor.result_applied, timeout=30000):
        editor.apply_generation()
    assert not editor.canvas.show_mask  # hidden so the repair shows
    editor.undo()
    assert editor.canvas.show_mask and editor.act_mask.isChecked()
    assert "Repair undone" in editor.banner.label.text()
    editor.redo()  # the repair again: the overlay stays as the user has it now
    assert editor.canvas.show_mask


def test_a_repaired_project_reopens_as_it_was_left(qtbot, make_editor, scratched, tmp_path):
    """Saved after a repair (which hides the damage mask) in a mode the photo would not get by
    itself: reopened, the mask stays hidden and the mode is the saved one."""
    editor = detected(qtbot, make_editor, scratched, tmp_path)
    with qtbot.waitSignal(editor.result_applied, timeout=30000):
        editor.apply_generation()
    editor.generate_panel.set_mode(Mode.ADJUST)
    assert editor.save_to(tmp_path / "repaired.ora")
    editor.open_path(scratched)  # another photo: the mask overlay is shown again
    assert editor.canvas.show_mask
    assert editor.generate_panel.settings.mode is Mode.COLORIZE  # a grey photo's own mode
    editor.open_path(tmp_path / "repaired.ora")
    assert not editor.canvas.show_mask and not editor.act_mask.isChecked()
    assert editor.generate_panel.settings.mode is Mode.ADJUST
    assert "as the project was saved" in editor.statusBar().currentMessage()


def test_the_autosave_keeps_the_view_as_it_is_now(qtbot, make_editor, scratched, tmp_path):
    """Crash recovery reopens what the user saw last, not what the last save held."""
    editor = detected(qtbot, make_editor, scratched, tmp_path)
    with qtbot.waitSignal(editor.result_applied, timeout=30000):
        editor.apply_generation()  # the repair hides the mask
    editor.generate_panel.set_mode(Mode.ADJUST)
    recovered = load_ora(editor.autosave_now()).document
    assert recovered.editor_state["show_mask"] is False
    assert recovered.editor_state["mode"] == "ADJUST"


def test_a_colorized_project_does_not_reopen_in_colorize(make_editor, tmp_path):
    """Saved in Colourize after the photo got its colour: reopened, it is a colour photo and
    gets the colour photo's mode (no colourize preview the user did not ask for)."""
    editor = make_editor(lambda: Engine(models_dir=tmp_path / "none", device="cpu"))
    doc = Document(64, 48)
    rng = np.random.default_rng(3)
    pixels = np.full((48, 64, 4), 255, np.uint8)
    pixels[..., :3] = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    doc.layers.append(Layer("Colourized", pixels))
    doc.editor_state = {"mode": "COLORIZE"}
    save_ora(doc, tmp_path / "colour.ora")
    editor.open_path(tmp_path / "colour.ora")
    assert editor.generate_panel.settings.mode is Mode.RECOLOR


def test_the_next_apply_takes_the_repairs_message_down(qtbot, make_editor, scratched, tmp_path):
    editor = detected(qtbot, make_editor, scratched, tmp_path)
    with qtbot.waitSignal(editor.result_applied, timeout=30000):
        editor.apply_generation()
    assert editor.banner.isVisibleTo(editor) and "Repaired" in editor.banner.label.text()
    editor.generate_panel.set_mode(Mode.ADJUST)  # another step, applied
    editor.generate_panel.saturation.setValue(40)
    with qtbot.waitSignal(editor.result_applied, timeout=30000):
        editor.apply_generation()
    assert not editor.banner.isVisibleTo(editor)


def test_an_apply_leaves_an_unrelated_error_up(qtbot, make_editor, scratched, tmp_path):
    editor = detected(qtbot, make_editor, scratched, tmp_path)
    with qtbot.waitSignal(editor.result_applied, timeout=30000):
        editor.apply_generation()
    editor.show_error("Autosave failed: no space left on device")
    editor.generate_panel.set_mode(Mode.ADJUST)
    editor.generate_panel.saturation.setValue(40)
    with qtbot.waitSignal(editor.result_applied, timeout=30000):
        editor.apply_generation()
    assert editor.banner.isVisibleTo(editor) and "no space" in editor.banner.label.text()
