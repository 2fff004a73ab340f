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


def test_structure_is_picture_not_damage(monkeypatch, wall):
    monkeypatch.setattr(structure, "P_STRUCTURE", 1.0)
    monkeypatch.setattr(restore_tasks, "P_CLEAN", 1.0)  # no damage drawn
    monkeypatch.setattr(restore_tasks, "P_GREY", 0.0)
    monkeypatch.setattr(restore_tasks, "P_SEPIA", 0.0)
    monkeypatch.setattr(restore_tasks, "P_FADED", 0.0)
    changed = 0
    for seed in range(6):
        clean, _damaged, mask = restore_tasks.damaged_sample(wall, np.random.default_rng(seed))
        assert not mask.any()
        changed += int((np.abs(clean.astype(int) - wall).max(axis=2) > 20).any())
    assert changed == 6  # every photo got its structure
