"""The canvas overlay's pixels: a mask as a tint, or as its edge over a repair's preview."""

import numpy as np

from colorstudio.ui.overlay import OUTLINE_WIDTH, mask_outline, overlay_rgba


def square_mask():
    mask = np.zeros((40, 50), np.uint8)
    mask[10:30, 12:40] = 255
    return mask


def test_the_outline_is_a_band_around_the_mask_leaving_the_mask_itself_clear():
    mask = square_mask()
    band = mask_outline(mask, (0, 0, 40, 50))
    assert band[9, 20] == 255 and band[10 - OUTLINE_WIDTH, 20] == 255  # the band above it
    assert band[10 - OUTLINE_WIDTH - 1, 20] == 0  # no wider
    assert not band[mask > 0].any()  # what is in the mask (a repair's fill) stays visible
    thin = np.zeros((20, 30), np.uint8)
    thin[10, 5:25] = 255  # a crack one pixel wide: a line on each side, the crack clear
    lines = mask_outline(thin, (0, 0, 20, 30))
    assert lines[9, 15] == lines[11, 15] == 255 and lines[10, 15] == 0


def test_a_box_cut_through_the_mask_draws_no_edge_at_the_cut():
    mask = square_mask()
    full = mask_outline(mask, (0, 0, 40, 50))
    for box in [(15, 20, 25, 30), (5, 5, 12, 45), (0, 0, 40, 50)]:
        y0, x0, y1, x1 = box
        assert np.array_equal(mask_outline(mask, box), full[y0:y1, x0:x1])


def test_the_overlay_tints_the_mask_or_only_its_edge():
    mask = square_mask()
    tinted = overlay_rgba((0, 0, 40, 50), None, 1.0, mask)
    outlined = overlay_rgba((0, 0, 40, 50), None, 1.0, mask, outline=OUTLINE_WIDTH)
    assert tinted[20, 25, 3] > 0 and outlined[20, 25, 3] == 0
    assert outlined[9, 25, 3] > 0 and tinted[9, 25, 3] == 0


def test_the_mask_tint_is_its_values_opacity_in_the_tint_color():
    mask = np.zeros((4, 5), np.uint8)
    mask[1, 1:4] = (255, 128, 1)
    rgba = overlay_rgba((0, 0, 4, 5), None, 1.0, mask)
    assert np.array_equal(rgba[1, 1], [255, 40, 60, round(255 * 0.45)])
    assert rgba[1, 2, 3] == round(128 * 0.45) and rgba[1, 3, 3] == 0  # 0.45: rounds to 0
    assert not rgba[0].any() and not rgba[2:].any()  # nothing where the mask is empty


def test_refreshes_in_one_turn_render_the_overlay_once(editor, photo, monkeypatch):
    """An edit, the mask shown again, another active mask: on a 63 MP scan each full render
    holds the GUI thread for a second, so they are rendered once, when next drawn or read."""
    editor.open_path(photo)
    canvas = editor.canvas
    renders = []
    real = canvas.render_overlay
    monkeypatch.setattr(canvas, "render_overlay", lambda box: renders.append(box) or real(box))
    for _ in range(3):
        canvas.refresh_overlay()
    assert renders == []
    first = canvas.overlay
    assert len(renders) == 1 and canvas.overlay is first  # read again: not rendered again
    assert first.width() == editor.document.width
