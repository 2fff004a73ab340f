"""Picture structure for the detector's hard negatives: drawn into the picture, never damage."""

import numpy as np
import pytest
from scipy import ndimage

from colorstudio.ml.train import restore_tasks, structure
from colorstudio.ml.train.structure import STRUCTURE_KINDS, add_structure


@pytest.fixture
def wall():
    rng = np.random.default_rng(0)
    grey = 170 + rng.normal(0, 3, (160, 200))
    return np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


@pytest.mark.parametrize("kind", STRUCTURE_KINDS)
def test_each_structure_changes_part_of_the_picture(wall, kind):
    changed_share = []
    for seed in range(4):
        out = add_structure(wall, np.random.default_rng(seed), kind)
        assert out.shape == wall.shape and out.dtype == np.uint8
        changed = np.abs(out.astype(int) - wall).max(axis=2) > 20
        changed_share.append(changed.mean())
    assert 0.002 < np.mean(changed_share) < 0.6  # marks in a part of the photo, not all of it


def test_a_facade_is_windows_repeated_on_a_grid(wall):
    counts = []
    for seed in range(6):
        out = add_structure(wall, np.random.default_rng(seed), "facade")
        marks = np.abs(out.astype(int) - wall).max(axis=2) > 20
        counts.append(ndimage.label(marks)[1])
    assert np.median(counts) >= 4


def test_unknown_structure_is_refused(wall):
    with pytest.raises(ValueError, match="unknown structure"):
        add_structure(wall, np.random.default_rng(0), "graffiti")


def test_structure_is_drawn_inside_its_region(monkeypatch, wall):
    monkeypatch.setattr(structure, "_region", lambda shape, rng: (40.0, 60.0, 70.0, 90.0))
    for kind in STRUCTURE_KINDS:
        for seed in range(3):
            out = add_structure(wall, np.random.default_rng(seed), kind)
            changed = np.abs(out.astype(int) - wall).max(axis=2) > 12
            rows, cols = np.nonzero(changed)
            assert len(rows), kind
            # the region plus the softening and the anti-aliasing (text may overhang a little)
            margin = 10 if kind == "text" else 3
            assert rows.min() >= 40 - 3 and rows.max() <= 110 + margin, kind
            assert cols.min() >= 60 - 3 and cols.max() <= 150 + margin, kind


def test_small_photos_get_no_structure_and_never_fail():
    for side in (1, 8, 20, 28, 40):
        tiny = np.full((side, side + 3, 3), 90, np.uint8)
        for seed in range(20):
            out = add_structure(tiny, np.random.default_rng(seed))
            assert out.shape == tiny.shape


def test_structure_is_picture_not_damage(monkeypatch, wall):
    """Structure is drawn into the photo before its damage, and the mask is the damage's
    alone: the damage is drawn over the structure, never the other way round."""
    monkeypatch.setattr(structure, "P_STRUCTURE", 1.0)
    monkeypatch.setattr(restore_tasks, "old_print_look", lambda rgb, rng: rgb)
    seen = []

    def damage(clean, rng, *args, **kwargs):
        seen.append(clean)
        mask = np.zeros(clean.shape[:2], bool)
        mask[5:9, 5:60] = True  # a scratch
        damaged = clean.copy()
        damaged[mask] = 255
        return damaged, mask

    monkeypatch.setattr(restore_tasks, "synthesize_damage", damage)
    for seed in range(4):
        _clean, damaged, mask = restore_tasks.damaged_sample(wall, np.random.default_rng(seed))
        assert (np.abs(seen[-1].astype(int) - wall).max(axis=2) > 20).any()  # structured
        assert mask[5:9, 5:60].all() and mask.sum() == 4 * 55  # the damage's mask, untouched
        assert (damaged[5:9, 5:60] > 200).all()  # the damage lies on top
