"""Synthetic damage: every kind marks what it changed, grain/JPEG are not damage, seeds repeat."""

import numpy as np
import pytest

from colorstudio.ml.damage import KINDS, VISIBLE, synthesize_damage


@pytest.fixture
def clean():
    yy, xx = np.mgrid[0:128, 0:160]
    grey = (80 + 0.5 * xx + 20 * np.sin(yy / 9)).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_changes_exactly_what_its_mask_says(clean, kind):
    damaged, mask = synthesize_damage(clean, np.random.default_rng(3), kinds=(kind,), severity=0.8)
    assert damaged.shape == clean.shape and damaged.dtype == np.uint8
    assert mask.any()
    change = np.abs(damaged.astype(int) - clean).max(axis=2)
    changed = change > VISIBLE + 1  # + 1: uint8 rounding
    outside = changed & ~mask
    if kind in ("spots", "folds"):  # soft edges/bands reach a little beyond the mask
        assert outside.mean() < 0.15
    else:
        assert not outside.any()
    assert (change[mask] >= VISIBLE - 1).all()  # every marked pixel really is damaged


@pytest.mark.parametrize("kind", KINDS)
def test_damage_that_does_not_show_is_not_in_the_mask(kind):
    """A bright scratch on a bright print changes nothing: no detector could (or should) find it."""
    bright = np.full((96, 128, 3), 235, np.uint8)
    damaged, mask = synthesize_damage(bright, np.random.default_rng(4), kinds=(kind,), severity=1)
    change = np.abs(damaged.astype(int) - bright).max(axis=2)
    assert (change[mask] >= VISIBLE - 1).all()  # every marked pixel shows (within rounding)


def test_thin_kinds_are_thin_and_big_kinds_are_big(clean):
    rng = np.random.default_rng(0)
    _, scratch = synthesize_damage(clean, rng, kinds=("scratches",))
    _, tear = synthesize_damage(clean, np.random.default_rng(1), kinds=("torn",), severity=1.0)
    assert scratch.mean() < 0.06
    assert tear[:5, :5].any() or tear[:5, -5:].any() or tear[-5:, :5].any() or tear[-5:, -5:].any()


def test_grain_and_jpeg_are_not_damage(clean):
    damaged, mask = synthesize_damage(
        clean, np.random.default_rng(5), kinds=("dust",), grain=6.0, jpeg_quality=60
    )
    changed = np.abs(damaged.astype(int) - clean).max(axis=2) > 2
    assert changed[~mask].mean() > 0.3  # grain changed pixels everywhere...
    assert mask.mean() < 0.05  # ...but only the dust is marked


def test_same_seed_same_damage(clean):
    a = synthesize_damage(clean, np.random.default_rng(9))
    b = synthesize_damage(clean, np.random.default_rng(9))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_brush_strokes_make_connected_holes_of_moderate_size():
    from scipy import ndimage

    from colorstudio.ml.damage import brush_strokes

    mask = brush_strokes((128, 160), np.random.default_rng(4), count=2)
    assert 0.02 < mask.mean() < 0.5
    _, components = ndimage.label(mask)
    assert components <= 2  # each stroke is one connected hole


def test_toned_print_is_grey_or_sepia(clean):
    from colorstudio.ml.damage import toned_print

    color = clean.copy()
    color[..., 0] = 250  # a reddish photo
    grey = toned_print(color, sepia=False)
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 1] == grey[..., 2]).all()
    brown = toned_print(color, sepia=True).astype(int)
    assert (brown[..., 0] >= brown[..., 1]).all() and (brown[..., 1] >= brown[..., 2]).all()


def test_region_scale_enlarges_stains_and_tears_only():
    clean = np.full((96, 96, 3), 128, np.uint8)
    areas = {}
    for scale in (1.0, 2.0):
        _, stains = synthesize_damage(
            clean, np.random.default_rng(5), kinds=("spots",), severity=0.0, region_scale=scale
        )
        _, scratch = synthesize_damage(
            clean, np.random.default_rng(5), kinds=("scratches",), region_scale=scale
        )
        areas[scale] = (stains.sum(), scratch.sum())
    assert areas[2.0][0] > 2.5 * areas[1.0][0]  # area grows with the square of the scale
    assert areas[2.0][1] == areas[1.0][1]  # thin damage keeps its width
