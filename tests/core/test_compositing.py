"""Compositing against pixels computed by hand from the W3C formulas."""

import numpy as np
import pytest

from colorstudio.core.compositing import composite, flatten_on
from colorstudio.core.layer import BlendMode, Layer


def layer_of(rgba, mode=BlendMode.NORMAL, opacity=1.0, visible=True):
    pixels = np.array(rgba, np.uint8).reshape(1, 1, 4)
    return Layer("l", pixels, opacity=opacity, visible=visible, blend_mode=mode)


def one_pixel(*layers):
    return composite(layers, 1, 1)[0, 0].tolist()


def test_normal_opaque_top_wins():
    assert one_pixel(layer_of([10, 20, 30, 255]), layer_of([200, 100, 50, 255])) == [
        200,
        100,
        50,
        255,
    ]


def test_normal_half_opacity_over_opaque():
    # 0.5*255 + 0.5*0 = 127.5 -> 128 (round half up)
    assert one_pixel(layer_of([0, 0, 0, 255]), layer_of([255, 255, 255, 255], opacity=0.5)) == [
        128,
        128,
        128,
        255,
    ]


def test_alpha_over_transparent_keeps_color_and_alpha():
    assert one_pixel(layer_of([200, 100, 50, 128])) == [200, 100, 50, 128]


def test_two_half_alpha_layers():
    # as = ab = 0.5 -> ao = 0.75; Co = (0.5*1 + 0.5*0*0.5)/0.75 = 2/3 -> 170
    result = one_pixel(layer_of([0, 0, 0, 255]), layer_of([255, 0, 0, 255], opacity=0.5))
    assert result == [128, 0, 0, 255]
    result = one_pixel(layer_of([0, 0, 255, 128]), layer_of([255, 0, 0, 128]))
    a_s, a_b = 128 / 255, 128 / 255
    ao = a_s + a_b * (1 - a_s)
    red = a_s * 1.0 / ao
    blue = a_b * (1 - a_s) / ao
    assert result == [round(red * 255), 0, round(blue * 255), round(ao * 255)]


def test_multiply_and_screen():
    base = layer_of([200, 100, 50, 255])
    top = [100, 200, 255, 255]
    mult = one_pixel(base, layer_of(top, BlendMode.MULTIPLY))
    assert mult == [round(200 * 100 / 255), round(100 * 200 / 255), 50, 255]
    scr = one_pixel(base, layer_of(top, BlendMode.SCREEN))
    expected = [
        round((b / 255 + t / 255 - b * t / 255**2) * 255)
        for b, t in zip([200, 100, 50], top[:3], strict=True)
    ]
    assert scr == [*expected, 255]


def test_overlay_branches_on_backdrop():
    # Cb = 0.2 (<= .5): 2*Cb*Cs ; Cb = 0.8: 1 - 2(1-Cb)(1-Cs)
    cb = np.array([51, 204, 128]) / 255
    cs = np.array([153, 153, 153]) / 255
    expected = np.where(cb <= 0.5, 2 * cb * cs, 1 - 2 * (1 - cb) * (1 - cs))
    got = one_pixel(
        layer_of([51, 204, 128, 255]), layer_of([153, 153, 153, 255], BlendMode.OVERLAY)
    )
    assert got[:3] == [int(v * 255 + 0.5) for v in expected]


def _lum(c):
    return 0.3 * c[0] + 0.59 * c[1] + 0.11 * c[2]


def test_color_mode_takes_hue_sat_of_source_and_lum_of_backdrop():
    backdrop = np.array([100, 100, 100]) / 255  # grey, lum 100/255
    source = np.array([200, 50, 50]) / 255
    d = _lum(backdrop) - _lum(source)
    expected = source + d  # no clipping needed for these values
    assert (expected >= 0).all() and (expected <= 1).all()
    got = one_pixel(layer_of([100, 100, 100, 255]), layer_of([200, 50, 50, 255], BlendMode.COLOR))
    assert got[:3] == [int(v * 255 + 0.5) for v in expected]
    # result keeps the backdrop's luminosity
    assert abs(_lum(np.array(got[:3]) / 255) - _lum(backdrop)) < 1.5 / 255


def test_luminosity_mode_clips_color_into_gamut():
    backdrop = np.array([255, 0, 0]) / 255
    source = np.array([255, 255, 255]) / 255  # lum 1.0
    got = one_pixel(
        layer_of([255, 0, 0, 255]), layer_of([255, 255, 255, 255], BlendMode.LUMINOSITY)
    )
    # SetLum(red, 1): red + 0.7 = (1.7, .7, .7) -> ClipColor pulls it to white (lum 1)
    assert got[:3] == [255, 255, 255]
    assert _lum(backdrop) < _lum(source)


def test_hidden_and_zero_opacity_layers_are_ignored():
    base = layer_of([1, 2, 3, 255])
    assert one_pixel(base, layer_of([9, 9, 9, 255], visible=False)) == [1, 2, 3, 255]
    assert one_pixel(base, layer_of([9, 9, 9, 255], opacity=0.0)) == [1, 2, 3, 255]


def test_bbox_matches_full_composite(rng):
    from tests.conftest import random_rgba

    layers = [
        Layer("a", random_rgba(rng, 40, 50)),
        Layer("b", random_rgba(rng, 40, 50), opacity=0.6, blend_mode=BlendMode.OVERLAY),
        Layer("c", random_rgba(rng, 40, 50), blend_mode=BlendMode.COLOR),
    ]
    full = composite(layers, 40, 50)
    part = composite(layers, 40, 50, bbox=(5, 7, 33, 41))
    assert np.array_equal(part, full[5:33, 7:41])


def test_banding_gives_the_same_result(monkeypatch, rng):
    from colorstudio.core import compositing
    from tests.conftest import random_rgba

    layers = [
        Layer("a", random_rgba(rng, 30, 20)),
        Layer("b", random_rgba(rng, 30, 20), blend_mode=BlendMode.SCREEN),
    ]
    whole = composite(layers, 30, 20)
    monkeypatch.setattr(compositing, "_BAND_PIXELS", 45)  # bands of 2 rows
    assert np.array_equal(composite(layers, 30, 20), whole)


def test_flatten_on_white():
    rgba = np.array([[[0, 0, 0, 0], [0, 0, 0, 255], [255, 0, 0, 128]]], np.uint8)
    rgb = flatten_on(rgba)
    assert rgb[0, 0].tolist() == [255, 255, 255]
    assert rgb[0, 1].tolist() == [0, 0, 0]
    assert rgb[0, 2].tolist() == [255, 127, 127]


@pytest.mark.parametrize("mode", list(BlendMode))
def test_every_mode_keeps_range_and_alpha(mode, rng):
    from tests.conftest import random_rgba

    layers = [
        Layer("a", random_rgba(rng, 16, 16)),
        Layer("b", random_rgba(rng, 16, 16), opacity=0.7, blend_mode=mode),
    ]
    out = composite(layers, 16, 16)
    a_s = layers[1].pixels[..., 3] / 255 * 0.7
    a_b = layers[0].pixels[..., 3] / 255
    assert np.abs(out[..., 3].astype(int) - np.round((a_s + a_b * (1 - a_s)) * 255)).max() <= 1


def test_fit_long_side_never_enlarges_and_keeps_its_floor():
    from colorstudio.core.geometry import fit_long_side

    assert fit_long_side(600, 800, 400) == (300, 400)
    assert fit_long_side(300, 400, 800) == (300, 400)  # never enlarged
    assert fit_long_side(10, 1000, 100, minimum=4) == (4, 100)  # a floor for thin images
    assert fit_long_side(600, 800, 256, minimum=32, multiple=32) == (192, 256)
    assert fit_long_side(20, 30, 256, minimum=32, multiple=32) == (32, 32)  # networks' minimum
