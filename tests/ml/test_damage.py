"""Synthetic damage: every kind marks what it changed, the scan is not damage, seeds repeat, and
cracks look like cracks (connected, thin, branching)."""

import numpy as np
import pytest
from scipy import ndimage

from colorstudio.ml.damage import (
    DAMAGE_KINDS,
    KINDS,
    VISIBLE,
    flakes,
    fractal_noise,
    synthesize_damage,
)


@pytest.fixture
def clean():
    yy, xx = np.mgrid[0:128, 0:160]
    grey = (80 + 0.5 * xx + 20 * np.sin(yy / 9)).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


@pytest.mark.parametrize("kind", DAMAGE_KINDS)
def test_each_kind_changes_exactly_what_its_mask_says(clean, kind):
    damaged, mask = synthesize_damage(clean, np.random.default_rng(3), kinds=(kind,), severity=0.8)
    assert damaged.shape == clean.shape and damaged.dtype == np.uint8
    assert mask.any()
    change = np.abs(damaged.astype(int) - clean).max(axis=2)
    changed = change > VISIBLE + 1  # + 1: uint8 rounding
    outside = changed & ~mask
    if kind == "folds":  # the crease's shading is not damage: the photo is still there
        assert outside.mean() < 0.5
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

    from colorstudio.ml.train.restore_tasks import brush_strokes

    mask = brush_strokes((128, 160), np.random.default_rng(4), count=2)
    assert 0.02 < mask.mean() < 0.5
    _, components = ndimage.label(mask)
    assert components <= 2  # each stroke is one connected hole


def test_toned_print_is_grey_or_sepia(clean):
    from colorstudio.ml.print_look import toned_print

    color = clean.copy()
    color[..., 0] = 250  # a reddish photo
    grey = toned_print(color, sepia=False)
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 1] == grey[..., 2]).all()
    brown = toned_print(color, sepia=True).astype(int)
    assert (brown[..., 0] >= brown[..., 1]).all() and (brown[..., 1] >= brown[..., 2]).all()


def test_stains_change_the_print_but_are_not_damage(clean):
    """The picture survives under a stain: a repair must not paint over it."""
    damaged, mask = synthesize_damage(clean, np.random.default_rng(3), kinds=("spots",), severity=1)
    assert not mask.any()
    assert (np.abs(damaged.astype(int) - clean).max(axis=2) > VISIBLE).mean() > 0.005
    assert set(KINDS) - set(DAMAGE_KINDS) == {"spots"}


def test_region_scale_enlarges_flakes_and_tears_only():
    clean = np.full((256, 256, 3), 128, np.uint8)
    areas = {}
    for scale in (1.0, 2.0):
        _, tear = synthesize_damage(
            clean, np.random.default_rng(5), kinds=("torn",), severity=0.0, region_scale=scale
        )
        _, scratch = synthesize_damage(
            clean, np.random.default_rng(5), kinds=("scratches",), region_scale=scale
        )
        areas[scale] = (tear.sum(), scratch.sum())  # torn paper, a scratch
    assert areas[2.0][0] > 2.5 * areas[1.0][0]  # area grows with the square of the scale
    assert areas[2.0][1] == areas[1.0][1]  # thin damage keeps its width


def test_cracks_are_connected_branching_thin_lines():
    from colorstudio.ml.damage import crack_network

    cover = crack_network((256, 256), np.random.default_rng(2), count=1, scale=1.0)
    lines = cover > 0.5
    labels, _ = ndimage_label(lines)
    biggest = np.bincount(labels.ravel())[1:].max()
    assert biggest > 0.8 * lines.sum()  # one crack, one connected line
    assert lines.mean() < 0.05  # thin
    extent = np.ptp(np.argwhere(lines), axis=0).max()
    assert extent > 40  # and long


def test_craquelure_is_a_net_of_fine_lines():
    from colorstudio.ml.damage import craquelure

    net = craquelure((192, 192), np.random.default_rng(3), scale=1.0) > 0.5
    assert 0.01 < net.mean() < 0.2
    assert not ndimage_binary_erosion(net, iterations=2).any()  # no line is 5 px wide


def test_the_scan_is_not_damage(clean):
    scanned, mask = synthesize_damage(
        clean, np.random.default_rng(6), kinds=(), grain=5, blur=1.0, resample=0.6, jpeg_quality=70
    )
    assert not mask.any()
    assert np.abs(scanned.astype(int) - clean).mean() > 1  # ...though it changed the image


def test_bright_cracks_show_the_paper_through_a_dark_print():
    dark = np.full((192, 192, 3), 40, np.uint8)
    bright = total = 0
    for seed in range(12):
        damaged, mask = synthesize_damage(dark, np.random.default_rng(seed), kinds=("cracks",))
        assert mask.any()
        bright += (damaged[mask].max(axis=1) > 100).sum()
        total += mask.sum()
    assert 0.3 < bright / total < 0.95  # often bright (emulsion gone), sometimes dark (dirt)


def ndimage_label(mask):
    from scipy import ndimage

    return ndimage.label(mask, structure=np.ones((3, 3)))


def ndimage_binary_erosion(mask, iterations):
    from scipy import ndimage

    return ndimage.binary_erosion(mask, iterations=iterations)


def test_a_creases_crack_runs_where_its_shading_changes_side():
    from scipy import ndimage

    flat = np.full((160, 160, 3), 120, np.uint8)
    for seed in range(4):
        damaged, mask = synthesize_damage(flat, np.random.default_rng(seed), kinds=("folds",))
        shade = damaged.astype(int)[..., 1] - 120
        lighter = ndimage.binary_dilation(shade > 3, iterations=8)
        darker = ndimage.binary_dilation(shade < -3, iterations=8)
        assert mask.any()
        assert (mask & lighter & darker).sum() > 0.8 * mask.sum()  # between the two sides


def test_unknown_kinds_are_refused(clean):
    with pytest.raises(ValueError, match="scrach"):
        synthesize_damage(clean, np.random.default_rng(0), kinds=("scrach",))


def test_fractal_noise_is_normalised_and_has_large_structure():
    noise = fractal_noise((128, 160), np.random.default_rng(0))
    assert noise.shape == (128, 160) and noise.dtype == np.float32
    assert abs(float(noise.mean())) < 1e-4 and abs(float(noise.std()) - 1) < 1e-3
    far = np.corrcoef(noise[:, :-16].ravel(), noise[:, 16:].ravel())[0, 1]
    assert far > 0.1  # white noise: 0 ± 0.01 at 16 px apart


def test_flakes_have_ragged_edges_and_edge_flaking_hugs_a_border():
    rng = np.random.default_rng(3)
    patch = flakes((160, 160), rng, 3, 1.5, None) > 0.5
    assert 0 < patch.mean() < 0.5
    labels, n = ndimage.label(patch)
    assert n > 3 * 3  # islands break off the three patches
    # ragged: more outline than discs of the same areas would have
    outline = (patch & ~ndimage.binary_erosion(patch)).sum()
    assert outline > 1.05 * sum(2 * np.sqrt(np.pi * (labels == i).sum()) for i in range(1, n + 1))
    band = np.zeros((160, 160))
    for seed in range(8):
        band += flakes((160, 160), np.random.default_rng(seed), 0, 1.5, None, edge=True) > 0.5
    edges = np.concatenate([band[:8].ravel(), band[-8:].ravel(), band[:, :8].ravel(),
                            band[:, -8:].ravel()])  # fmt: skip
    assert edges.mean() > 4 * band[40:120, 40:120].mean()


def test_a_greyscale_scan_shows_damage_only_in_luma(clean):
    rgb = np.repeat(clean[..., :1], 3, axis=2)  # a grey print
    damaged, mask = synthesize_damage(
        rgb, np.random.default_rng(2), severity=1.0, jpeg_quality=70, grey_scan=True
    )
    assert np.array_equal(damaged[..., 0], damaged[..., 1])
    assert np.array_equal(damaged[..., 1], damaged[..., 2])  # no colour to give damage away
    assert mask.any()
    luma_change = np.abs(damaged[..., 0].astype(int) - clean[..., 0])
    assert np.median(luma_change[mask]) > VISIBLE  # what is marked changed the luma


def test_damage_that_changes_only_color_is_not_marked_in_a_greyscale_scan(monkeypatch):
    from colorstudio.ml import damage

    grey = np.full((32, 32, 3), 120, np.uint8)
    same_luma = np.array([200.0, (120 - 0.299 * 200 - 0.114 * 120) / 0.587, 120.0], np.float32)
    cover = np.zeros((32, 32), np.float32)
    cover[8:24, 8:24] = 1.0

    def one_layer(shape, rng, kinds, severity, region_scale, fold, dark_support):
        yield "cracks", cover, same_luma

    monkeypatch.setattr(damage, "_layers", one_layer)
    rng = np.random.default_rng(0)
    in_color, marked = synthesize_damage(grey, rng, kinds=("cracks",))
    assert marked[8:24, 8:24].all() and in_color[16, 16, 0] == 200  # a colour scan shows it
    scanned, unmarked = synthesize_damage(grey, rng, kinds=("cracks",), grey_scan=True)
    assert not unmarked.any()  # nothing a greyscale scan could show
    assert np.abs(scanned.astype(int) - 120).max() <= 1


def _pattern() -> np.ndarray:
    yy, xx = np.mgrid[0:128, 0:160]
    grey = (128 + 60 * np.sin(xx / 5) * np.sin(yy / 7)).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def test_a_prints_gaps_in_the_emulsion_all_show_one_support_mostly_paper(monkeypatch):
    from colorstudio.ml import damage

    monkeypatch.setattr(damage, "_dirt", lambda rng: np.array([128.0, 128, 128], np.float32))
    clean = np.full((96, 128, 3), 128, np.uint8)  # dirt changes nothing: only the support shows
    supports = []
    for seed in range(40):
        damaged, mask = synthesize_damage(
            clean, np.random.default_rng(seed), kinds=("cracks", "flakes", "scratches"),
            severity=1.0, region_scale=2.0,
        )  # fmt: skip
        if mask.sum() < 50:
            continue
        brighter = (damaged[..., 0][mask] > 128).mean()
        assert brighter > 0.97 or brighter < 0.03  # one material under the whole print
        supports.append(brighter > 0.5)
    assert len(supports) > 30
    assert 0.7 < np.mean(supports) < 0.97  # paper mostly, a dark backing now and then


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_losses_with_remnants_keep_some_of_the_picture(monkeypatch, share):
    from colorstudio.ml import damage

    clean = _pattern()

    def kept(remnants: float) -> float:
        monkeypatch.setattr(damage, "P_REMNANTS", remnants)
        correlations = []
        for seed in range(12):
            damaged, mask = synthesize_damage(
                clean, np.random.default_rng(seed), kinds=("flakes",), severity=1.0,
                region_scale=2.0,
            )  # fmt: skip
            inner = ndimage.binary_erosion(mask, iterations=2)  # not the anti-aliased rims
            if inner.sum() > 50:
                correlations.append(np.corrcoef(damaged[..., 0][inner], clean[..., 0][inner])[0, 1])
        return float(np.mean(correlations))

    if share == 1.0:
        assert kept(1.0) > kept(0.0) + 0.2
    else:
        assert kept(0.0) < 0.3  # a whole loss: what shows is the support, not the picture
