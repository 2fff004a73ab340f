"""The "object" hint model: strokes spread along the photo and stop at objects' outlines."""

import numpy as np
import pytest

from colorstudio.ml import hints
from colorstudio.ml.fullres import rgb_to_lab
from colorstudio.ml.requests import ColorizeRequest
from tests.ml.conftest import hinted_amount


def two_objects(h: int = 60, w: int = 120):
    """A cup (left half: L* 30, one meaning) beside a table (right half: L* 90, another
    meaning): lightness (H, W), meaning (2, H, W), base a*b* (2, H, W) all zero."""
    lightness = np.where(np.arange(w) < w // 2, 30.0, 90.0)[None].repeat(h, 0)
    meaning = np.zeros((2, h, w), np.float32)
    meaning[0, :, : w // 2] = 1
    meaning[1, :, w // 2 :] = 1
    return lightness, meaning, np.zeros((2, h, w))


def stroke(h, w, rows, cols, ab=(40.0, -50.0)):
    hint_ab = np.zeros((2, h, w))
    mask = np.zeros((h, w))
    mask[rows, cols] = 1
    hint_ab[:, rows, cols] = np.array(ab)[:, None, None]
    return hint_ab, mask


def test_a_stroke_colors_its_object_and_stops_at_the_outline():
    lightness, meaning, base = two_objects()
    hint_ab, mask = stroke(60, 120, slice(28, 32), slice(20, 30))
    photo = hints.paths(lightness, meaning)
    out = hints.honour(photo, base, hint_ab, mask)
    change, support = hints.corrections(photo, base, hint_ab, mask)
    share = out[0] / 40  # of the stroke's a*
    # the whole cup takes the stroke's colour, even its far corners
    assert share[:, :55].min() > 0.9 and support[:, :55].min() > 0.9
    # the outline cuts it: the table takes less, the less the farther from the cup
    assert share[:, 65:].max() < 0.7 and share[:, -5:].max() < 0.5
    assert np.all(np.diff(support[30, 65:]) <= 1e-6)
    # hinted pixels take the hint exactly
    np.testing.assert_allclose(out[:, 28:32, 20:30], hint_ab[:, 28:32, 20:30])
    assert change.shape == (2, 60, 120) and support.shape == (60, 120)


def test_the_same_stroke_reaches_across_when_nothing_separates_the_objects():
    """Without the outline (one lightness, one meaning) the colour spreads over the photo: it is
    the path's cost, not the distance alone, that keeps a stroke on its object."""
    lightness = np.full((60, 120), 50.0)
    meaning = np.zeros((2, 60, 120), np.float32)
    meaning[0] = 1
    hint_ab, mask = stroke(60, 120, slice(28, 32), slice(20, 30))
    out = hints.honour(hints.paths(lightness, meaning), np.zeros((2, 60, 120)), hint_ab, mask)
    assert (out[0, :, 65:] / 40).min() > 0.95


def test_far_from_every_stroke_a_pixel_keeps_the_network_color():
    """Position is part of the path: in one huge flat area a correction still fades."""
    lightness = np.full((40, 400), 50.0)
    meaning = np.zeros((1, 40, 400), np.float32)
    base = np.full((2, 40, 400), 5.0)
    hint_ab, mask = stroke(40, 400, slice(18, 22), slice(2, 6))
    model = hints.HintModel(reach=0.2)
    out = hints.honour(hints.paths(lightness, meaning, model), base, hint_ab, mask, model)
    assert np.abs(out[:, :, -20:] - 5).max() < 1
    assert np.abs(out[:, :, 10:20] - hint_ab[:, 20:21, 3:4]).max() < 5


def test_no_hints_change_nothing_and_many_dots_still_work():
    lightness, meaning, base = two_objects()
    photo = hints.paths(lightness, meaning)
    assert np.array_equal(hints.honour(photo, base, base, np.zeros((60, 120))), base)
    rng = np.random.default_rng(0)
    mask = np.zeros((60, 120))
    mask.flat[rng.choice(60 * 120, 400, replace=False)] = 1  # more than max_strokes dots
    hint_ab = np.stack([np.full((60, 120), 30.0), np.full((60, 120), -30.0)]) * mask
    grouped = hints.honour(photo, base, hint_ab, mask, hints.HintModel(max_strokes=16))
    alone = hints.honour(photo, base, hint_ab, mask, hints.HintModel(max_strokes=400))
    assert np.isfinite(grouped).all() and grouped[0].mean() > 20
    assert np.abs(grouped - alone).mean() < 3  # grouping nearby dots changes little


def test_one_more_stroke_beyond_the_limit_changes_the_photo_only_near_it():
    """Grouping strokes beyond max_strokes is gradual: no cliff where every stroke's weight
    changes at once."""
    lightness = np.full((64, 128), 50.0)
    meaning = np.zeros((1, 64, 128), np.float32)
    base = np.zeros((2, 64, 128))
    mask = np.zeros((64, 128))
    hint_ab = np.zeros((2, 64, 128))
    for i, (y, x) in enumerate((y, x) for y in range(2, 30, 3) for x in range(2, 126, 4)):
        mask[y, x] = 1
        hint_ab[0, y, x] = 40 if i % 2 else -40
    model = hints.HintModel(max_strokes=int(mask.sum()))
    photo = hints.paths(lightness, meaning)
    before = hints.honour(photo, base, hint_ab, mask, model)
    mask[60, 120], hint_ab[0, 60, 120] = 1, 40
    after = hints.honour(photo, base, hint_ab, mask, model)
    assert np.abs(after - before)[:, :20, :64].mean() < 2


def test_photos_smaller_than_the_grid_work():
    for shape in ((1, 1), (1, 40), (2, 50), (40, 3)):
        lightness = np.full(shape, 50.0)
        mask = np.zeros(shape)
        mask[0, 0] = 1
        hint_ab = np.zeros((2, *shape))
        hint_ab[:, 0, 0] = 30
        photo = hints.paths(lightness, np.ones((1, *shape)))
        out = hints.honour(photo, np.zeros((2, *shape)), hint_ab, mask)
        assert out.shape == (2, *shape) and out[0, 0, 0] == 30


def test_a_request_names_a_known_reach(rng):
    image = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    assert ColorizeRequest(image).hint_reach == "object"
    with pytest.raises(ValueError, match="hint reach"):
        ColorizeRequest(image, hint_reach="galaxy")


def test_the_engine_keeps_a_stroke_on_its_object_and_runs_the_network_without_hints(
    engine, colorizer_runs, rng
):
    """The object reach asks the network only for its hint-free colours (cached per photo);
    the hints are honoured where painted, far less beyond the outline, and the preview is the
    same model."""
    h, w = 64, 128
    value = np.where(np.arange(w) < w // 2, 50, 220).astype(np.uint8)
    image = np.repeat(np.broadcast_to(value, (h, w))[..., None], 3, 2).copy()
    layer = np.zeros((h, w, 4), np.uint8)
    layer[28:36, 10:30] = (40, 60, 230, 255)
    free = engine.run(ColorizeRequest(image)).image
    local = engine.run(ColorizeRequest(image, hints=layer)).image
    previewed = engine.run(ColorizeRequest(image, hints=layer, preview=True)).image
    calls = hinted_amount(colorizer_runs)
    assert calls and all(c == 0 for c in calls)  # the hinted network never ran
    assert np.array_equal(previewed, local)  # the preview is the same model

    lab_free, lab_local = rgb_to_lab(free), rgb_to_lab(local)
    assert lab_local[32, 20, 2] < lab_free[32, 20, 2] - 20  # blue where painted
    moved = np.hypot(*(lab_local[..., 1:] - lab_free[..., 1:]).transpose(2, 0, 1))
    assert moved[:, 72:].max() < moved[:, :56].mean()  # far less on the other object

    np.testing.assert_allclose(lab_local[..., 0], lab_free[..., 0], atol=1)  # L* kept
