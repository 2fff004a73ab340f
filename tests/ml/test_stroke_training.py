"""Training the colourizer on strokes painted on objects (``train colorize --stroke-share``)."""

import json

import numpy as np
import torch

from colorstudio.ml.color import AB_SCALE, srgb_to_lab_nchw
from colorstudio.ml.train.colorize_task import ColorizeTask
from colorstudio.ml.train.simulate import object_strokes
from tests.ml.conftest import train_cli, train_config


def _objects() -> torch.Tensor:
    """Four flat, coloured objects on a blue-grey ground: (3, 96, 128) sRGB float 0..1."""
    rgb = np.empty((96, 128, 3), np.uint8)
    rgb[:] = (90, 110, 140)
    rgb[10:50, 10:60] = (200, 40, 40)
    rgb[55:90, 20:70] = (40, 160, 60)
    rgb[15:80, 80:120] = (220, 190, 40)
    return torch.from_numpy(rgb).permute(2, 0, 1).float() / 255


def test_new_color_strokes_recolor_their_objects_in_the_target_and_nothing_else():
    rgb = _objects()
    ab = srgb_to_lab_nchw(rgb[None])[0, 1:]
    seen = {"new": 0, "true": 0}
    for seed in range(12):
        painted = object_strokes(rgb, ab, np.random.default_rng(seed))
        assert painted is not None  # every crop here has colourful objects
        hints, target = painted
        mask = hints[2] > 0
        changed = (target - ab).abs().amax(0) > 1.0
        assert mask.any() and not (hints[:2, ~mask]).any()
        if not changed.any():  # true colours: the strokes carry what is there
            seen["true"] += 1
            assert (hints[:2, mask] * AB_SCALE - ab[:, mask]).abs().max() < 6
            continue
        seen["new"] += 1
        assert changed[mask].all()  # the strokes' objects are recoloured…
        # …each whole, as one object: the strokes' colour at the target's pixels there
        assert (hints[:2, mask] * AB_SCALE - target[:, mask]).abs().max() < 6
        # …and the rest of the photo is left alone: at most two regions of 40 % each
        assert changed.float().mean() <= 0.8
    assert seen["new"] and seen["true"]


def test_a_stroke_on_a_shaded_object_recolors_more_of_it_than_the_evaluation_regions():
    """A ball lit from one side among other colours: its strokes' regions weigh shading less
    than the evaluation's, so a new colour covers more of the ball than one band of it."""
    from colorstudio.ml.color import lab_to_srgb_nchw
    from colorstudio.ml.strokes import color_regions

    yy, xx = torch.meshgrid(torch.arange(96.0), torch.arange(128.0), indexing="ij")
    ball = (yy - 48) ** 2 + (xx - 64) ** 2 <= 30**2
    lab = torch.stack([torch.full_like(yy, 60.0), torch.zeros_like(yy), torch.zeros_like(yy)])
    for i, (a, b) in enumerate([(-40, 30), (10, -45), (60, 10), (-20, -30), (20, 60)]):
        patch = (xx >= i * 25) & (xx < i * 25 + 25) & (yy < 12)  # other colours in the photo
        lab[1], lab[2] = torch.where(patch, a, lab[1]), torch.where(patch, b, lab[2])
    lab[0] = torch.where(ball, 20 + 60 * (xx - 34) / 60, lab[0])  # lit from the right
    lab[1], lab[2] = torch.where(ball, 45.0, lab[1]), torch.where(ball, 30.0, lab[2])
    rgb = lab_to_srgb_nchw(lab[None])[0].clamp(0, 1)
    image = (rgb.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)

    def largest_share_of_the_ball(weight: float) -> float:
        labels, keep = color_regions(image, 0, weight)
        return max((labels[ball.numpy()] == k).mean() for k in keep)

    assert largest_share_of_the_ball(0.2) > 0.9 > largest_share_of_the_ball(0.5)


def test_a_flat_crop_falls_back_to_points():
    grey = torch.full((3, 64, 64), 0.5)
    ab = srgb_to_lab_nchw(grey[None])[0, 1:]
    assert object_strokes(grey, ab, np.random.default_rng(0)) is None


def test_stroke_share_trains_and_is_recorded(tmp_path, photo_folder):
    code = train_cli("colorize", photo_folder, tmp_path / "cli", "--stroke-share", "1")
    assert code == 0
    assert json.loads((tmp_path / "cli" / "config.json").read_text())["stroke_share"] == 1.0
    task = ColorizeTask(train_config(tmp_path, photo_folder, stroke_share=1.0))
    task.bank = task.photo_bank()
    batch = task.make_batch(np.random.default_rng(0), 4)
    assert not batch["code"].any()  # strokes come without a reference


def test_the_hint_free_half_gets_no_strokes(tmp_path, photo_folder, monkeypatch):
    """With the correction loss the first half of a batch has no hints: no strokes there
    either, so no recoloured target that the network could not know of."""
    from colorstudio.ml.train import colorize_task

    painted = []
    monkeypatch.setattr(colorize_task, "object_strokes", lambda *a: painted.append(a) or None)
    for correction, expected in ((1.0, 2), (0.0, 4)):
        cfg = train_config(tmp_path, photo_folder, stroke_share=1.0, lambda_correction=correction)
        task = ColorizeTask(cfg)
        task.bank = task.photo_bank()
        painted.clear()
        task.make_batch(np.random.default_rng(0), 4)
        assert len(painted) == expected
