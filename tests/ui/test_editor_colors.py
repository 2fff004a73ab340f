"""Colours and references like a user picks them: the references panel, the eyedropper on a
reference and a region dragged on it, suggested and recent colours."""

import numpy as np
from PySide6.QtCore import QPointF, Qt

from colorstudio.core.layer import ReferenceRole
from colorstudio.session.tools import Tool
from tests.ui.conftest import drag


def test_references_panel(editor, photo, tmp_path):
    editor.open_path(photo)
    panel = editor.references_panel
    assert not panel.role.isEnabled() and not panel.strength.isEnabled()
    assert panel.add_file(photo)
    assert panel.role.isEnabled()
    doc = editor.document
    assert len(doc.references) == 1 and panel.list.count() == 1
    panel.role.setCurrentText("style")
    panel._on_role_activated(1)
    assert doc.references[0].role is ReferenceRole.STYLE
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"nope")
    errors = []
    panel.error.connect(errors.append)
    assert not panel.add_file(bad)
    assert errors and "bad.jpg" in errors[0]
    editor.undo()
    assert doc.references[0].role is ReferenceRole.PALETTE


def test_suggested_colors_recolor_the_last_hint(qtbot, make_editor, photo, tmp_path):
    """A click with the hint brush asks the model for likely colours there; choosing one recolours
    the stroke just painted (one more undo step)."""
    import torch

    from colorstudio.ml.engine import Engine
    from colorstudio.ml.networks import define_generator

    torch.manual_seed(0)
    model = define_generator("colorizer_lite0", pretrained=False)
    torch.nn.init.normal_(model.head.weight, std=0.05)
    for film in (model.film32, model.film16, model.film8):
        torch.nn.init.normal_(film.to_params.weight, std=0.2)
    editor = make_editor(
        lambda: Engine(models_dir=tmp_path / "none", device="cpu", colorizer=model)
    )
    editor.open_path(photo)
    editor.generate_panel.live.setChecked(False)
    editor.set_tool(Tool.HINT)
    drag(editor.canvas, [(55, 50)])  # a click: a dot, and the swatches for that point
    layout = editor.tool_options.suggestions
    qtbot.waitUntil(lambda: layout.count() > 1, timeout=20000)
    swatch = layout.itemAt(0).widget()
    painted = editor.document.hint.pixels[50, 55, :3].tolist()
    swatch.click()
    assert editor.history.labels()[-2:] == ["Colour hint", "Recolour hint"]
    assert editor.document.hint.pixels[50, 55, :3].tolist() == list(swatch.color)
    editor.undo()
    assert editor.document.hint.pixels[50, 55, :3].tolist() == painted


def test_eyedropper_on_a_reference(qtbot, editor, photo, tmp_path):
    from PIL import Image

    editor.open_path(photo)
    ref = tmp_path / "ref.png"
    pixels = np.zeros((40, 40, 3), np.uint8)
    pixels[:, :20] = (250, 10, 10)
    pixels[:, 20:] = (10, 10, 250)
    Image.fromarray(pixels).save(ref)
    editor.references_panel.add_file(ref)
    preview = editor.references_panel.preview
    shown = preview.pixmap()
    left = (preview.width() - shown.width()) / 2 + shown.width() * 0.8
    top = (preview.height() - shown.height()) / 2 + shown.height() * 0.5
    qtbot.mouseClick(preview, Qt.MouseButton.LeftButton, pos=QPointF(left, top).toPoint())
    assert editor.tool_state.color == (10, 10, 250)
    assert preview.pick_at(-5, -5) is None


def test_dragging_on_a_reference_limits_it_to_a_region(qtbot, editor, photo, tmp_path):
    from PIL import Image

    from colorstudio.session.generate import build_request

    editor.open_path(photo)
    ref = tmp_path / "ref.png"
    Image.fromarray(np.full((40, 60, 3), 120, np.uint8)).save(ref)
    panel = editor.references_panel
    panel.add_file(ref)
    preview = panel.preview
    shown = preview.pixmap()
    left, top = (preview.width() - shown.width()) / 2, (preview.height() - shown.height()) / 2

    def at(u, v):
        return QPointF(left + u * shown.width(), top + v * shown.height()).toPoint()

    qtbot.mousePress(preview, Qt.MouseButton.LeftButton, pos=at(0.1, 0.1))
    qtbot.mouseRelease(preview, Qt.MouseButton.LeftButton, pos=at(0.5, 0.5))
    mask = editor.document.references[0].mask
    assert mask is not None and mask.shape == (40, 60)
    assert mask[10, 15] == 255 and mask[35, 55] == 0
    request = build_request(editor.document, editor.generate_panel.settings, None, 1, preview=False)
    assert request.references[0].mask is not None
    assert editor.history.labels()[-1] == "Reference region"
    editor.undo()
    assert editor.document.references[0].mask is None


def test_recent_colors_are_swatches_that_pick_their_color(qtbot, editor):
    options = editor.tool_options
    made = list(options.recent_swatches)
    for color in [(10, 20, 30), (200, 100, 50), (5, 250, 5)]:
        options.set_color(color)
    assert options.recent_swatches == made  # repainted, not made again on each colour
    shown = [s for s in made if s.isVisibleTo(options)]
    assert len(shown) == len(editor.tool_state.recent_colors)  # no unused (black) swatch shows
    assert [s.color for s in shown[:3]] == [(5, 250, 5), (200, 100, 50), (10, 20, 30)]
    assert not any(s.styleSheet() for s in made)  # no style sheet to re-polish
    qtbot.mouseClick(shown[2], Qt.MouseButton.LeftButton)
    assert not shown[2].hasFocus()  # it holds another colour now: no focus edge left on it
    assert editor.tool_state.color == (10, 20, 30)
    assert shown[0].color == (10, 20, 30)  # the picked colour is the newest recent one
    image = shown[1].grab().toImage()
    centre = image.pixelColor(image.width() // 2, image.height() // 2)
    assert (centre.red(), centre.green(), centre.blue()) == (5, 250, 5)


def test_a_recent_color_picked_with_the_keyboard_keeps_the_focus_on_it(qtbot, editor):
    options = editor.tool_options
    for color in [(10, 20, 30), (200, 100, 50), (5, 250, 5)]:
        options.set_color(color)
    editor.show()
    editor.activateWindow()
    qtbot.waitUntil(editor.isActiveWindow)
    third = options.recent_swatches[2]
    third.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(third.hasFocus)
    qtbot.keyClick(third, Qt.Key.Key_Space)
    assert editor.tool_state.color == (10, 20, 30)
    first = options.recent_swatches[0]
    assert first.color == (10, 20, 30) and first.hasFocus()  # the focus moved with the colour


def test_another_photo_clears_the_last_photos_suggested_colors(editor, photo):
    editor.open_path(photo)
    editor.tool_options.set_suggestions([(10, 20, 30), (200, 10, 10)])
    editor.open_path(photo)

    def swatches():
        layout = editor.tool_options.suggestions
        return [
            layout.itemAt(i).widget() for i in range(layout.count()) if layout.itemAt(i).widget()
        ]

    assert swatches() == []
