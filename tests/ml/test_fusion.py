"""Spreading the hints' corrections, and leave-one-out fusion: the hints decide between the
network and Levin."""

import numpy as np

from colorstudio.ml import fusion
from colorstudio.ml.fusion import leave_one_out_weight, levin_at, regress_corrections, spread


def hints_from(truth: np.ndarray, points, half=1):
    ab = np.zeros_like(truth)
    mask = np.zeros((1, 1, *truth.shape[-2:]), np.float32)
    for y, x in points:
        ab[..., y - half : y + half + 1, x - half : x + half + 1] = truth[
            ..., y - half : y + half + 1, x - half : x + half + 1
        ]
        mask[..., y - half : y + half + 1, x - half : x + half + 1] = 1
    return ab, mask


POINTS = [(10, 10), (10, 50), (30, 30), (50, 10), (50, 50), (20, 40)]


def test_a_network_that_knows_the_colors_keeps_its_weight():
    xx = np.linspace(-40, 40, 64, dtype=np.float32)
    truth = np.stack([np.broadcast_to(xx, (64, 64)), np.zeros((64, 64), np.float32)])[
        None
    ]  # a smooth gradient
    lightness = np.full((1, 1, 64, 64), 50.0, np.float32)
    hint_ab, hint_mask = hints_from(truth, POINTS)
    weight = leave_one_out_weight(lightness, truth.copy(), hint_ab, hint_mask, grid=64)
    assert weight is not None and weight > 0.9


def test_a_network_the_hints_contradict_hands_over_to_levin():
    truth = np.zeros((1, 2, 64, 64), np.float32)
    truth[:, 0] = 25.0  # one flat colour
    lightness = np.full((1, 1, 64, 64), 50.0, np.float32)
    wrong = np.random.default_rng(0).normal(0, 30, (1, 2, 64, 64)).astype(np.float32)
    hint_ab, hint_mask = hints_from(truth, POINTS)
    weight = leave_one_out_weight(lightness, wrong, hint_ab, hint_mask, grid=64)
    assert weight is not None and weight < 0.1


def test_fewer_than_two_hints_cannot_be_tested():
    truth = np.zeros((1, 2, 32, 32), np.float32)
    hint_ab, hint_mask = hints_from(truth, [(10, 10)])
    assert (
        leave_one_out_weight(np.zeros((1, 1, 32, 32), np.float32), truth, hint_ab, hint_mask)
        is None
    )


def test_levin_at_a_coarse_grid_returns_the_working_size():
    truth = np.zeros((1, 2, 48, 80), np.float32)
    truth[:, 1] = -30.0
    hint_ab, hint_mask = hints_from(truth, [(20, 20), (30, 60)])
    ab = levin_at(np.full((1, 1, 48, 80), 60.0, np.float32), hint_ab, hint_mask, long_side=32)
    assert ab.shape == (1, 2, 48, 80)
    assert np.allclose(ab[0, 1], -30.0, atol=0.5)


def two_squares():
    """Two bright squares on a dark ground, apart: L* (1, 1, 64, 96)."""
    lightness = np.full((1, 1, 64, 96), 20.0, np.float32)
    lightness[..., 16:48, 8:40] = 80.0
    lightness[..., 16:48, 56:88] = 80.0
    return lightness


def red_hint_on_the_left_square():
    """Zero base a*b*, and one hint asking for a* = 40 on the left square: (base, ab, mask)."""
    base = np.zeros((1, 2, 64, 96), np.float32)
    hint_ab = np.zeros((1, 2, 64, 96), np.float32)
    hint_ab[:, 0, 30:33, 20:23] = 40.0
    hint_mask = np.zeros((1, 1, 64, 96), np.float32)
    hint_mask[..., 30:33, 20:23] = 1
    return base, hint_ab, hint_mask


def test_corrections_reach_a_separate_region_alike_to_the_hint():
    """One hint on the left square asks for red, one on the ground for nothing: the right
    square, alike to the left one but not connected to it, gets the red; Levin's propagation,
    which follows connection, gives it much less."""
    lightness = two_squares()
    base, hint_ab, hint_mask = red_hint_on_the_left_square()
    hint_mask[..., 4:7, 46:49] = 1  # the ground: a* stays 0
    out = regress_corrections(lightness, base, hint_ab, hint_mask)
    right_square = out[0, 0, 20:44, 60:84]
    ground = out[0, 0, 54:62, 40:56]
    assert right_square.mean() > 35 and np.abs(ground).max() < 2
    levin = spread(lightness, (hint_ab - base) * hint_mask, hint_mask, (64, 96))
    assert levin[0, 0, 20:44, 60:84].mean() < right_square.mean() - 10


def test_one_hint_recolors_what_is_alike_and_leaves_the_rest(monkeypatch):
    """One red hint on the left square: the right square, alike, turns red; the dark ground,
    unlike it, keeps the network's colour. Without the phantom "no correction" sample the one
    correction was given everywhere: the whole photo took a tint."""
    lightness = two_squares()
    base, hint_ab, hint_mask = red_hint_on_the_left_square()
    out = regress_corrections(lightness, base, hint_ab, hint_mask)
    assert out[0, 0, 20:44, 60:84].mean() > 35
    assert np.abs(out[0, 0, 54:62, 40:56]).max() < 2
    no_prior = fusion.LikenessModel(prior=None)
    tinted = regress_corrections(lightness, base, hint_ab, hint_mask, model=no_prior)
    assert np.allclose(tinted[0, 0], 40.0, atol=1e-3)


def test_one_correction_asked_everywhere_is_given_everywhere(monkeypatch):
    """Without the phantom sample, the regression is the plain kernel-weighted mean."""
    no_prior = fusion.LikenessModel(prior=None)
    lightness = two_squares()
    base = np.random.default_rng(1).normal(0, 20, (1, 2, 64, 96)).astype(np.float32)
    hint_mask = np.zeros((1, 1, 64, 96), np.float32)
    for y, x in [(5, 5), (30, 20), (40, 70), (60, 90)]:
        hint_mask[..., y - 1 : y + 2, x - 1 : x + 2] = 1
    hint_ab = (base + np.array([12.0, -7.0], np.float32)[None, :, None, None]) * hint_mask
    out = regress_corrections(lightness, base, hint_ab, hint_mask, model=no_prior)
    assert np.allclose(out[0, 0], 12.0, atol=1e-3)
    assert np.allclose(out[0, 1], -7.0, atol=1e-3)


def test_a_long_stroke_is_sampled_within_bounds(monkeypatch):
    lightness = two_squares()
    base = np.zeros((1, 2, 64, 96), np.float32)
    hint_mask = np.zeros((1, 1, 64, 96), np.float32)
    hint_mask[..., 10:54, 4:92] = 1  # one stroke over most of the photo: ~1,000 cells
    hint_ab = np.full((1, 2, 64, 96), 30.0, np.float32) * hint_mask
    few = fusion.LikenessModel(max_samples=50)
    out = regress_corrections(lightness, base, hint_ab, hint_mask, model=few)
    assert out.shape == (1, 2, 64, 96) and np.isfinite(out).all()
    assert np.allclose(out, 30.0, atol=1e-3)


def test_the_hints_support_is_where_a_pixel_is_like_a_hint(monkeypatch):
    """Support near 1 on both bright squares (alike the hinted one), near 0 on the dark ground;
    the corrections computed with it are :func:`regress_corrections`'. Without the phantom
    sample every pixel is fully supported."""
    lightness = two_squares()
    base, hint_ab, hint_mask = red_hint_on_the_left_square()
    corrections, support = fusion.corrections_and_support(lightness, base, hint_ab, hint_mask)
    assert support.shape == (1, 1, 64, 96)
    assert support[0, 0, 20:44, 60:84].min() > 0.9 and support[0, 0, 54:62, 40:56].max() < 0.05
    assert np.array_equal(corrections, regress_corrections(lightness, base, hint_ab, hint_mask))
    no_prior = fusion.LikenessModel(prior=None)
    _, everywhere = fusion.corrections_and_support(
        lightness, base, hint_ab, hint_mask, model=no_prior
    )
    assert np.allclose(everywhere, 1.0, atol=1e-5)


def test_levin_takes_over_only_where_the_hints_have_support(monkeypatch):
    """Two red hints on one bright square: held out in turn, each is predicted exactly by
    Levin from the other, so the fusion hands over to Levin — which paints every pixel red.
    Scaled by the hints' support, the squares turn red and the dark ground, unlike any hint,
    keeps the network's colour. (A user's two yellow strokes on lanterns turned the man in
    front of them yellow.)"""
    from colorstudio.ml import colorize

    lightness = two_squares()
    base, hint_ab, hint_mask = red_hint_on_the_left_square()
    hint_ab[:, 0, 40:43, 30:33] = 40.0
    hint_mask[..., 40:43, 30:33] = 1

    def honoured() -> np.ndarray:
        return colorize.honour_hints(lightness, base, hint_ab, hint_mask, False, lambda: base)

    out = honoured()
    assert out[0, 0, 20:44, 60:84].mean() > 30  # the other square, alike: red
    assert np.abs(out[0, 0, 54:62, 40:56]).max() < 5  # the ground keeps the network's a* = 0
    real = fusion.corrections_and_support

    def full_support(*args):  # the same corrections, Levin's share everywhere: plain fusion
        return real(*args)[0], np.ones((1, 1, 64, 96), np.float32)

    monkeypatch.setattr(fusion, "corrections_and_support", full_support)
    assert honoured()[0, 0, 54:62, 40:56].mean() > 30


def test_a_stroke_drops_the_pixels_it_only_crossed():
    """A stroke mostly on a bright square that runs onto the dark ground: its dark pixels are
    no longer hints; a stroke within one lightness is left as it is."""
    lightness = two_squares()
    hint_ab = np.zeros((1, 2, 64, 96), np.float32)
    hint_mask = np.zeros((1, 1, 64, 96), np.float32)
    hint_mask[..., 30:33, 12:46] = 1  # columns 12-39 on the square, 40-45 on the ground
    hint_ab[:, 1] = 60.0 * hint_mask[:, 0]
    ab, mask = fusion.drop_stray_hint_pixels(lightness, hint_ab, hint_mask)
    assert mask[0, 0, 30:33, 12:40].min() == 1 and mask[0, 0, 30:33, 40:46].max() == 0
    assert np.array_equal(ab, hint_ab * mask)
    inside = hint_mask.copy()
    inside[..., 30:33, 40:46] = 0
    same_ab, same_mask = fusion.drop_stray_hint_pixels(lightness, hint_ab * inside, inside)
    assert np.array_equal(same_mask, inside) and np.array_equal(same_ab, hint_ab * inside)


def test_no_stroke_loses_every_pixel():
    """A hint two pixels wide across an edge (L* 10 and 90): the mean of its middle values (50)
    is within the tolerance of neither, so the median taken is one the stroke has."""
    lightness = np.full((1, 1, 8, 8), 10.0, np.float32)
    lightness[..., :, 4:] = 90.0
    hint_mask = np.zeros((1, 1, 8, 8), np.float32)
    hint_mask[..., 3, 3:5] = 1
    hint_ab = hint_mask * 30.0
    _, mask = fusion.drop_stray_hint_pixels(
        lightness, np.broadcast_to(hint_ab, (1, 2, 8, 8)), hint_mask
    )
    assert mask.sum() == 1


def test_the_second_opinion_moves_the_result_part_way_to_the_hinted_network():
    """Two hints on the left square; the hinted network (unlike the hint-free one) calls the
    dark ground blue. The result moves SECOND_OPINION_SHARE of the way to the second opinion,
    whose base is SECOND_OPINION_HINTED hinted: the ground takes that fraction of the blue,
    the squares stay red and the hinted pixels keep the hint."""
    from colorstudio.ml import colorize

    lightness = two_squares()
    base, hint_ab, hint_mask = red_hint_on_the_left_square()
    hint_ab[:, 0, 40:43, 30:33] = 40.0
    hint_mask[..., 40:43, 30:33] = 1
    hinted = np.zeros((1, 2, 64, 96), np.float32)
    hinted[:, 1] = -30.0 * (lightness[:, 0] < 50)

    def honoured(with_hinted: bool) -> np.ndarray:
        return colorize.honour_hints(
            lightness, base, hint_ab, hint_mask, False, lambda: base,
            (lambda: hinted) if with_hinted else None,
        )  # fmt: skip

    alone, both = honoured(False), honoured(True)
    expected = -30.0 * colorize.SECOND_OPINION_SHARE * colorize.SECOND_OPINION_HINTED
    assert np.abs(alone[0, 1, 54:62, 40:56]).max() < 1
    assert np.abs(both[0, 1, 54:62, 40:56] - expected).max() < 1.5  # the ground: part blue
    assert both[0, 0, 20:44, 60:84].mean() > 30  # the right square: still red
    assert np.array_equal(both[..., 30:33, 20:23], hint_ab[..., 30:33, 20:23])
