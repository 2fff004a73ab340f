"""Brush dabs, strokes, erasing, mask painting and flood fill."""

import math

import numpy as np
import pytest

from colorstudio.core.brush import BrushSettings, PaintMode, Stroke, dab, fill_region, flood_fill
from colorstudio.core.document import Document


def blank(h=64, w=64):
    return np.zeros((h, w, 4), np.uint8)


def test_dab_is_round_and_centred():
    cov, y0, x0 = dab(10.0, 1.0, 20.0, 30.0)
    assert (y0, x0) == (25, 15)
    assert cov.shape == (10, 10)
    assert cov[5, 5] == pytest.approx(1.0)
    assert cov[0, 0] == 0.0  # corner lies outside the circle
    assert np.allclose(cov, cov[::-1, :]) and np.allclose(cov, cov[:, ::-1])  # symmetric
    assert cov.sum() == pytest.approx(math.pi * 25, rel=0.03)  # area of the disc


def test_soft_dab_falls_off():
    hard, *_ = dab(20.0, 1.0, 10.0, 10.0)
    soft, *_ = dab(20.0, 0.2, 10.0, 10.0)
    assert soft.sum() < hard.sum()
    row = soft[10, 10:]
    assert (np.diff(row) <= 1e-6).all()  # monotonic from centre outwards


def test_single_click_paints_a_dot_with_the_color():
    pixels = blank()
    stroke = Stroke(pixels, BrushSettings(size=8, hardness=1.0), PaintMode.PAINT, (255, 0, 0))
    stroke.add_point(32, 32)
    assert pixels[32, 32].tolist() == [255, 0, 0, 255]
    assert pixels[0, 0].tolist() == [0, 0, 0, 0]
    assert stroke.dab_count == 1


def test_fast_stroke_has_no_gaps():
    """Two far-apart events (a fast flick) still give a continuous line."""
    pixels = blank(40, 400)
    stroke = Stroke(
        pixels, BrushSettings(size=6, hardness=1.0, spacing=0.25), PaintMode.PAINT, (0, 0, 255)
    )
    stroke.add_point(10, 20)
    stroke.add_point(390, 20)
    painted = pixels[20, 10:390, 3]
    assert (painted == 255).all()
    assert stroke.dab_count >= (380 / (0.25 * 6))  # interpolated dabs, not two


def test_spacing_is_respected_across_many_small_events():
    pixels = blank(40, 200)
    settings = BrushSettings(size=10, spacing=0.5)
    stroke = Stroke(pixels, settings, PaintMode.PAINT, (0, 0, 0))
    for x in np.arange(0, 100.01, 0.5):  # 201 tiny moves
        stroke.add_point(float(x), 20)
    # one dab per 5 px along 100 px, plus the first
    assert stroke.dab_count == 21


def test_opacity_caps_a_stroke_that_overlaps_itself():
    pixels = blank()
    pixels[...] = [0, 0, 0, 255]
    stroke = Stroke(
        pixels, BrushSettings(size=20, hardness=1.0, opacity=0.5), PaintMode.PAINT, (255, 255, 255)
    )
    for _ in range(5):  # scribble back and forth over the same spot
        stroke.add_point(20, 32)
        stroke.add_point(44, 32)
    assert pixels[32, 32, 0] == 128  # half, however often it was covered


def test_low_flow_builds_up():
    def paint(passes):
        pixels = blank()
        stroke = Stroke(
            pixels,
            BrushSettings(size=20, hardness=1.0, flow=0.2, spacing=0.05),
            PaintMode.PAINT,
            (255, 0, 0),
        )
        for i in range(passes):
            stroke.add_point(20 if i % 2 == 0 else 44, 32)
        return int(pixels[32, 32, 3])

    assert 0 < paint(2) < paint(6) <= 255


def test_stroke_across_the_edge_clips_cleanly():
    """Pixels inside the image are exactly what a larger canvas would get; nothing raises."""
    settings = BrushSettings(size=30, hardness=0.5)
    small = blank(50, 50)
    large = blank(150, 150)
    for pixels, off in ((small, 0), (large, 50)):
        stroke = Stroke(pixels, settings, PaintMode.PAINT, (10, 200, 30))
        for x, y in [(-40, 25), (25, 25), (90, 25), (90, -30)]:
            stroke.add_point(x + off, y + off)
    assert np.array_equal(small, large[50:100, 50:100])
    assert small[25, 0, 3] > 0 and small[25, 49, 3] > 0


def test_stroke_entirely_outside_changes_nothing():
    pixels = blank()
    stroke = Stroke(pixels, BrushSettings(size=10), PaintMode.PAINT, (255, 0, 0))
    stroke.add_point(-100, -100)
    stroke.add_point(-100, 500)
    assert not pixels.any()
    assert stroke.finish("x") is None


def test_finish_returns_one_edit_that_restores_exactly(rng):
    doc = Document.from_rgba(rng.integers(0, 256, (80, 90, 4), dtype=np.uint8))
    layer = doc.layers[0]
    original = layer.pixels.copy()
    stroke = Stroke(
        layer.pixels, BrushSettings(size=12, hardness=0.3, opacity=0.7), PaintMode.PAINT, (1, 2, 3)
    )
    for t in np.linspace(0, 1, 30):
        stroke.add_point(5 + 80 * t, 10 + 60 * t, pressure=0.3 + 0.7 * t)
    painted = layer.pixels.copy()
    edit = stroke.finish(layer.id)
    assert edit is not None
    edit.revert(doc)
    assert np.array_equal(layer.pixels, original)
    edit.apply(doc)
    assert np.array_equal(layer.pixels, painted)
    # The edit only stores the stroke's box, not the image.
    assert edit.nbytes < original.nbytes


def test_pressure_scales_size():
    light, heavy = blank(), blank()
    for pixels, p in ((light, 0.25), (heavy, 1.0)):
        Stroke(pixels, BrushSettings(size=20, hardness=1.0), PaintMode.PAINT, (0, 0, 0)).add_point(
            32, 32, p
        )
    assert (light[..., 3] > 0).sum() < (heavy[..., 3] > 0).sum() / 8


def test_eraser_lowers_alpha_only():
    pixels = blank()
    pixels[...] = [50, 60, 70, 255]
    Stroke(pixels, BrushSettings(size=10, hardness=1.0, opacity=0.75), PaintMode.ERASE).add_point(
        32, 32
    )
    assert pixels[32, 32].tolist() == [50, 60, 70, 64]
    assert pixels[0, 0].tolist() == [50, 60, 70, 255]


def test_mask_add_and_remove():
    mask = np.zeros((64, 64), np.uint8)
    Stroke(mask, BrushSettings(size=10, hardness=1.0), PaintMode.MASK_ADD).add_point(32, 32)
    assert mask[32, 32] == 255
    Stroke(
        mask, BrushSettings(size=10, hardness=1.0, opacity=0.5), PaintMode.MASK_REMOVE
    ).add_point(32, 32)
    assert mask[32, 32] == 128


def test_mode_and_array_shape_must_match():
    with pytest.raises(ValueError):
        Stroke(np.zeros((4, 4), np.uint8), BrushSettings(), PaintMode.PAINT)
    with pytest.raises(ValueError):
        Stroke(blank(), BrushSettings(), PaintMode.MASK_ADD)
    with pytest.raises(ValueError):
        BrushSettings(size=0)
    with pytest.raises(ValueError):
        BrushSettings(opacity=1.5)


def test_fill_region_tolerance_and_contiguity():
    img = np.zeros((10, 10, 3), np.uint8)
    img[:, 5] = 255  # a wall
    img[0:5, 0:5] = 20  # slightly different colour, within tolerance 30
    region = fill_region(img, 1, 8, tolerance=30)
    assert region[:, :5].all() and not region[:, 5:].any()
    tight = fill_region(img, 1, 8, tolerance=10)
    assert tight[5:, :5].all() and not tight[:5, :5].any()
    everywhere = fill_region(img, 1, 8, tolerance=30, contiguous=False)
    assert everywhere[:, 6:].all()


def test_flood_fill_edit_is_undoable():
    doc = Document.from_rgba(np.zeros((20, 20, 4), np.uint8))
    layer = doc.layers[0]
    layer.pixels[:, 10] = [0, 0, 0, 255]
    before = layer.pixels.copy()
    edit = flood_fill(layer.pixels, layer.id, 2, 2, (255, 0, 0, 255), tolerance=0)
    assert edit is not None
    assert layer.pixels[5, 5].tolist() == [255, 0, 0, 255]
    assert layer.pixels[5, 15].tolist() == [0, 0, 0, 0]
    edit.revert(doc)
    assert np.array_equal(layer.pixels, before)


def test_fill_seed_outside_raises():
    with pytest.raises(ValueError, match="outside"):
        fill_region(np.zeros((5, 5), np.uint8), 7, 1, 0)
