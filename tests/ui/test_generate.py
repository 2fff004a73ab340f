"""Request building and result application (Qt-free logic of the Generate panel)."""

import numpy as np
import pytest

from colorstudio.core.document import Document
from colorstudio.core.layer import Layer, LayerKind, Reference, ReferenceRole
from colorstudio.ml.requests import (
    STYLE_DETAIL,
    ColorizeRequest,
    RecolorRequest,
    Result,
    StylizeRequest,
)
from colorstudio.session.generate import (
    GenerateSettings,
    Mode,
    RequestError,
    build_request,
    result_edit,
)


def make_doc(h=60, w=80):
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[..., 0] = np.arange(w, dtype=np.uint8)[None, :]
    rgba[..., 3] = 255
    return Document.from_rgba(rgba)


def test_colorize_request_carries_hints_references_and_mask():
    doc = make_doc()
    doc.hint.pixels[10:12, 10:12] = (0, 0, 255, 255)
    doc.masks.append(Layer("m", np.full((60, 80), 255, np.uint8), kind=LayerKind.MASK))
    doc.references.append(Reference("p", np.zeros((4, 4, 3), np.uint8), ReferenceRole.PALETTE, 0.5))
    doc.references.append(Reference("s", np.zeros((4, 4, 3), np.uint8), ReferenceRole.STYLE))
    settings = GenerateSettings(only_in_mask=True, working_size=384)
    request = build_request(doc, settings, doc.masks[0].id, 7, preview=False)
    assert isinstance(request, ColorizeRequest) and request.request_id == 7 and not request.preview
    assert request.hints[10, 10].tolist() == [0, 0, 255, 255] and request.mask is not None
    assert [r.role for r in request.references] == ["palette"] and request.references[
        0
    ].strength == 0.5
    assert request.working_size == 384
    doc.hint.pixels[...] = 255  # the request owns a copy
    assert request.hints[0, 0, 3] == 0


def test_modes_and_their_requirements():
    doc = make_doc()
    with pytest.raises(RequestError, match="paint a mask first"):
        build_request(doc, GenerateSettings(mode=Mode.RECOLOR), None, 1, False)
    with pytest.raises(RequestError, match="style reference"):
        build_request(doc, GenerateSettings(mode=Mode.STYLIZE), None, 1, False)
    doc.masks.append(Layer("m", np.full((60, 80), 255, np.uint8), kind=LayerKind.MASK))
    assert isinstance(
        build_request(doc, GenerateSettings(mode=Mode.RECOLOR), doc.masks[0].id, 1, False),
        RecolorRequest,
    )
    doc.references.append(Reference("s", np.zeros((4, 4, 3), np.uint8), ReferenceRole.STYLE))
    both = build_request(
        doc, GenerateSettings(mode=Mode.COLORIZE_STYLIZE, alpha=0.5, detail=0.3), None, 1, False
    )
    assert isinstance(both, StylizeRequest) and both.colorize_first and both.alpha == 0.5
    assert both.detail == 0.3


def test_the_keep_detail_slider_shows_for_styles_and_sets_the_detail(qtbot):
    from colorstudio.ui.generate_panel import GeneratePanel

    panel = GeneratePanel()
    qtbot.addWidget(panel)
    panel.show()
    assert panel.settings.detail == STYLE_DETAIL and not panel.detail.isVisible()
    panel.mode.setCurrentIndex(list(Mode).index(Mode.STYLIZE))
    assert panel.detail.isVisible()
    panel.detail.setValue(40)
    panel.detail.sliderReleased.emit()
    assert panel.settings.detail == pytest.approx(0.4)


def test_the_stage_shown_goes_when_the_worker_is_idle_but_an_error_stays(qtbot):
    from colorstudio.ui.generate_panel import GeneratePanel

    panel = GeneratePanel()
    qtbot.addWidget(panel)
    panel.set_busy(True)
    panel.set_progress(0.4, "filling damage")
    assert panel.status.text() == "filling damage"
    panel.set_busy(False)  # finished or cancelled: no stale stage under an empty bar
    assert panel.status.text() == "" and panel.progress.value() == 0
    panel.set_busy(True)
    panel.set_progress(0.4, "filling damage")
    panel.status.setText("Preview failed: out of memory")
    panel.set_busy(False)
    assert panel.status.text() == "Preview failed: out of memory"


def test_percent_sliders_stay_put_as_their_value_changes(qtbot):
    from colorstudio.ui.generate_panel import GeneratePanel

    panel = GeneratePanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.strength.setValue(100)
    qtbot.wait(20)
    x = panel.strength.x()
    panel.strength.setValue(5)
    qtbot.wait(20)
    assert panel.strength.x() == x


def test_a_slider_moved_by_a_click_on_its_groove_or_a_key_counts_at_once(qtbot):
    """Clicking the groove, the arrow keys and the wheel move a slider without a drag (no
    sliderReleased): the setting must follow; a drag counts when it is released."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QAbstractSlider

    from colorstudio.ui.generate_panel import GeneratePanel

    panel = GeneratePanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.mode.setCurrentIndex(list(Mode).index(Mode.RESTORE))
    start = panel.settings.sensitivity
    assert panel.form.labelForField(panel.sensitivity).text() == "Sensitivity 50 %"
    panel.sensitivity.triggerAction(QAbstractSlider.SliderAction.SliderPageStepSub)
    assert panel.settings.sensitivity < start
    shown = panel.form.labelForField(panel.sensitivity).text()
    assert shown == f"Sensitivity {panel.sensitivity.value()} %"  # the value is in view
    panel.sensitivity.setFocus()
    qtbot.keyClick(panel.sensitivity, Qt.Key.Key_Right)
    assert panel.settings.sensitivity == pytest.approx(panel.sensitivity.value() / 100)
    panel.sensitivity.setSliderDown(True)  # dragging: not yet…
    moved = panel.sensitivity.value() + 20
    panel.sensitivity.setValue(moved)
    assert panel.settings.sensitivity != pytest.approx(moved / 100)
    panel.sensitivity.setSliderDown(False)  # …released: now
    panel.sensitivity.sliderReleased.emit()
    assert panel.settings.sensitivity == pytest.approx(moved / 100)


def test_the_hints_reach_shows_for_colorize_and_travels_in_the_request(qtbot):
    from colorstudio.ui.generate_panel import HINT_REACH_NAMES, GeneratePanel

    panel = GeneratePanel()
    qtbot.addWidget(panel)
    panel.show()
    assert panel.reach.isVisible() and panel.settings.hint_reach == "object"
    panel.reach.setCurrentText("Everything alike")
    assert panel.settings.hint_reach == HINT_REACH_NAMES["Everything alike"] == "photo"
    request = build_request(make_doc(), panel.settings, None, 1, preview=True)
    assert request.hint_reach == "photo"
    panel.mode.setCurrentIndex(list(Mode).index(Mode.STYLIZE))
    assert not panel.reach.isVisible()


def test_previews_of_large_documents_are_downscaled_but_keep_thin_hints():
    doc = make_doc(1500, 3000)
    doc.hint.pixels[700, 1000:1300] = (0, 200, 0, 255)  # a one-pixel-thin stroke
    preview = build_request(doc, GenerateSettings(), None, 1, preview=True)
    assert preview.image.shape[:2] == (400, 800)
    hinted = preview.hints[..., 3] > 0
    assert hinted.any() and (preview.hints[hinted][:, 1] > 150).all()  # still green
    full = build_request(doc, GenerateSettings(), None, 2, preview=False)
    assert full.image.shape[:2] == (1500, 3000)


def test_result_as_new_layer_holds_only_the_changes():
    doc = make_doc()
    out = np.array(doc.layers[0].pixels[..., :3])
    out[20:30, 20:30] = (9, 9, 9)
    source = np.array(doc.layers[0].pixels[..., :3])  # what the request showed the engine
    result = Result.compose(source, out, (0, 0, 60, 80), 1, "gan")
    assert result.changed.sum() == 100  # found where the result is made
    edit = result_edit(doc, result, doc.layers[0].id, as_new_layer=True)
    edit.apply(doc)
    layer = doc.layers[1]
    assert layer.pixels[25, 25].tolist() == [9, 9, 9, 255] and layer.pixels[5, 5, 3] == 0
    edit.revert(doc)
    assert len(doc.layers) == 1


def test_result_into_the_layer_is_a_patch():
    doc = make_doc()
    before = doc.layers[0].pixels.copy()
    out = before[..., :3].copy()
    out[1, 1] = (1, 2, 3)
    result = Result.compose(before[..., :3], out, (0, 0, 60, 80), 1, "gan")
    edit = result_edit(doc, result, doc.layers[0].id, as_new_layer=False)
    edit.apply(doc)
    assert doc.layers[0].pixels[1, 1].tolist() == [1, 2, 3, 255]
    assert edit.bbox == (1, 1, 2, 2)
    edit.revert(doc)
    assert np.array_equal(doc.layers[0].pixels, before)


def test_composite_cache_is_reused_until_layers_change():
    from colorstudio.core.brush import BrushSettings, PaintMode, Stroke
    from colorstudio.session.generate import CompositeCache

    doc = make_doc()
    cache = CompositeCache(doc)
    first = cache.full()
    assert cache.full() is first
    stroke = Stroke(doc.hint.pixels, BrushSettings(size=5), PaintMode.PAINT, (255, 0, 0))
    stroke.add_point(10, 10)
    doc.events.pixels_changed.emit(doc.hint.id, (0, 0, 20, 20))  # hint strokes keep the cache
    assert cache.full() is first
    doc.layers[0].pixels[0, 0, 0] = 99
    doc.events.pixels_changed.emit(doc.layers[0].id, (0, 0, 1, 1))  # a layer edit refreshes it
    fresh = cache.full()
    assert fresh is not first and fresh[0, 0, 0] == 99
    request = build_request(doc, GenerateSettings(), None, 1, preview=False, cache=cache)
    assert np.array_equal(request.image, fresh)


def test_preview_and_apply_stylize_at_the_brush_scale_the_panel_shows(qtbot):
    """The brushwork is drawn at the working size, so a preview at another size than Apply's
    would show strokes of another size: both use the Brush scale, which only styles show."""
    from colorstudio.ml.requests import STYLE_WORKING_SIZE
    from colorstudio.ui.generate_panel import GeneratePanel

    panel = GeneratePanel()
    qtbot.addWidget(panel)
    panel.show()
    assert panel.size.isVisible() and not panel.style_size.isVisible()
    panel.mode.setCurrentIndex(list(Mode).index(Mode.STYLIZE))
    assert panel.style_size.isVisible() and not panel.size.isVisible()
    assert panel.settings.style_working_size == STYLE_WORKING_SIZE
    panel.style_size.setCurrentText("384")
    doc = make_doc(900, 1200)  # previews of a document this large run on a smaller copy
    doc.references.append(Reference("s", np.zeros((4, 4, 3), np.uint8), ReferenceRole.STYLE))
    preview = build_request(doc, panel.settings, None, 1, preview=True)
    applied = build_request(doc, panel.settings, None, 2, preview=False)
    assert preview.image.shape[1] < applied.image.shape[1] == 1200
    assert preview.working_size == applied.working_size == 384
    panel.style_size.setCurrentText("1024")  # larger than previews' copies: not drawn smaller
    preview = build_request(doc, panel.settings, None, 3, preview=True)
    assert max(preview.image.shape[:2]) >= preview.working_size == 1024
