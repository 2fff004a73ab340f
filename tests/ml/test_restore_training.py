"""Restoration training: synthetic samples, both tasks train, resume and export with a card."""

import numpy as np
import pytest
import torch
from scipy import ndimage

from colorstudio.ml.engine import Engine
from colorstudio.ml.requests import DetectDamageRequest, RestoreRequest
from colorstudio.ml.train.export import export_run
from colorstudio.ml.train.restore_tasks import (
    DetectTask,
    InpaintTask,
    damaged_sample,
    focal_bce,
    hole_l1,
    hole_mask,
    old_print_look,
    zoom_scale,
)
from colorstudio.ml.train.task_base import AdversarialTask
from colorstudio.ml.train.trainer import Trainer
from tests.ml.conftest import train_cli, train_config


def test_damaged_samples_mark_what_changed():
    rng = np.random.default_rng(0)
    rgb = np.full((64, 64, 3), 120, np.uint8)
    seen_damage = seen_clean = 0
    for _ in range(30):
        clean, damaged, mask = damaged_sample(rgb, rng)
        assert clean.shape == damaged.shape == (64, 64, 3) and mask.shape == (64, 64)
        if mask.any():
            seen_damage += 1
            assert np.abs(damaged.astype(int) - clean)[mask].max() > 10
        else:
            seen_clean += 1
    assert seen_damage > 20 and seen_clean >= 1  # a tenth stay clean on purpose


def test_old_print_look_makes_grey_and_sepia():
    rng = np.random.default_rng(1)
    rgb = np.dstack([np.full((8, 8), 200), np.full((8, 8), 40), np.full((8, 8), 90)])
    looks = [old_print_look(rgb.astype(np.uint8), rng) for _ in range(60)]
    grey = sum(
        1 for im in looks if (im[..., 0] == im[..., 1]).all() and (im[..., 1] == im[..., 2]).all()
    )
    sepia = sum(1 for im in looks if im[0, 0, 0] > im[0, 0, 1] > im[0, 0, 2] and im[0, 0, 0] < 200)
    assert grey > 10 and sepia > 2 and any(np.array_equal(im, rgb) for im in looks)


@pytest.mark.parametrize("kind", ["mixed", "damage", "strokes"])
def test_hole_masks_are_never_empty(kind):
    rng = np.random.default_rng(2)
    for _ in range(20):
        assert hole_mask((48, 48), rng, kind).any()


def test_damage_holes_are_the_damage_grown_by_at_most_two_pixels(monkeypatch):
    """``--inpaint-holes damage`` trains on what detection hands over: the synthetic damage
    mask, grown by 0–2 px, and no brush strokes; ``strokes`` never draws damage."""
    from colorstudio.ml.train import restore_tasks

    line = np.zeros((48, 48), bool)
    line[24, 8:40] = True
    monkeypatch.setattr(restore_tasks, "synthesize_damage", lambda rgb, rng, **kw: (rgb, line))
    rng = np.random.default_rng(3)
    widths = set()
    for _ in range(30):
        mask = hole_mask((48, 48), rng, "damage")
        assert mask[line].all() and not mask[:, :5].any() and not mask[:21].any()
        widths.add(int(mask[:, 24].sum()))
    assert widths == {1, 3, 5}  # grown by 0, 1 and 2 px

    def no_damage(rgb, rng, **kw):
        raise AssertionError("strokes drew damage")

    monkeypatch.setattr(restore_tasks, "synthesize_damage", no_damage)
    assert hole_mask((48, 48), rng, "strokes").any()


def test_hole_l1_ignores_pixels_outside_the_holes():
    image = torch.zeros(2, 3, 8, 8)
    mask = torch.zeros(2, 1, 8, 8)
    mask[:, :, 2:4, 2:4] = 1
    raw = image.clone()
    raw[:, :, 5:, 5:] = 1.0  # wrong only outside the holes: costs nothing
    assert hole_l1(raw, image, mask).item() == 0.0
    raw[:, :, 2:4, 2:4] = 0.5  # every hole pixel off by 0.5
    assert abs(hole_l1(raw, image, mask).item() - 0.5) < 1e-6


def test_focal_loss_moves_the_weight_onto_the_pixels_the_detector_gets_wrong():
    target = torch.zeros(1, 1, 4, 4)
    target[..., 0, :2] = 1  # two damaged pixels
    logits = torch.full((1, 1, 4, 4), -4.0)  # sure there is no damage: right on 14 pixels
    logits[..., 0, :2] = 4.0  # and right on the damage
    logits[..., 3, 3] = 3.0  # one picture pixel it takes for damage
    plain = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, target, weight=1 + 2 * target
    )
    assert torch.isclose(focal_bce(logits, target, 0.0), plain)

    def share_of_the_mistake(gamma: float) -> float:
        x = logits.clone().requires_grad_(True)
        focal_bce(x, target, gamma).backward()
        assert x.grad is not None
        grad = x.grad.abs()
        return (grad[..., 3, 3] / grad.sum()).item()

    assert share_of_the_mistake(2.0) > 0.99 > share_of_the_mistake(0.0)


@pytest.mark.parametrize("task", ["detect", "inpaint"])
def test_training_resumes_exactly_and_exports(tmp_path, photo_folder, task):
    kind = DetectTask if task == "detect" else InpaintTask
    extra = {"detector_context": (2, 4)} if task == "detect" else {}
    full = train_config(tmp_path / "a", photo_folder, task, **extra)
    Trainer(full, kind(full)).run()
    split = train_config(tmp_path / "b", photo_folder, task, max_minutes=0.0, **extra)
    Trainer(split, kind(split)).run()  # stops at once, after a checkpoint at step 0
    resumed = train_config(tmp_path / "b", photo_folder, task, **extra)
    Trainer(resumed, kind(resumed)).run(resume=True)
    a = torch.load(tmp_path / "a" / "run" / "checkpoint.pt", weights_only=True)
    b = torch.load(tmp_path / "b" / "run" / "checkpoint.pt", weights_only=True)
    for key, value in a["task"]["generator"].items():
        assert torch.equal(value, b["task"]["generator"][key]), key
    assert (tmp_path / "a" / "run" / "samples").is_dir()

    models = tmp_path / "models"
    entry, metrics = (
        export_run(
            tmp_path / "a" / "run",
            f"{task}-test",
            models,
            eval_dir=photo_folder,
            eval_limit=2,
            calibrate=sorted(photo_folder.iterdir())[:2],
        )
        if task == "detect"
        else export_run(tmp_path / "a" / "run", f"{task}-test", models)
    )
    card = (models / f"{task}-test.md").read_text()
    assert entry.task == task and entry.sha256 in card
    assert "trained from scratch" in card
    engine = Engine(models_dir=models, device="cpu")
    image = np.full((40, 56, 3), 128, np.uint8)
    if task == "detect":
        assert entry.config == {"context": [2, 4]}  # the manifest rebuilds the context block
        assert "Operating point: logits z mapped to" in card
        assert "damage detector" in metrics and metrics in card
        assert engine.run(DetectDamageRequest(image)).mask.shape == (40, 56)
    else:
        mask = np.zeros((40, 56), np.uint8)
        mask[10:20, 10:20] = 255
        assert engine.run(RestoreRequest(image, mask)).engine == "inpainter"


def test_calibration_moves_the_operating_point_into_the_weights(photo_folder):
    from colorstudio.ml.evaluate_restore import CALIBRATION_THRESHOLDS, calibrate_detector
    from colorstudio.ml.networks.restore import DamageDetector

    torch.manual_seed(0)
    detector = DamageDetector().eval()
    fitted = calibrate_detector(detector, sorted(photo_folder.iterdir())[:2], size=64)
    scores = fitted.scores
    assert fitted.threshold in CALIBRATION_THRESHOLDS
    assert scores[fitted.threshold] == max(scores.values()) and fitted.slope > 0
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        before = detector.probabilities(x)
        detector.calibrate(0.7, slope=2.0, offset=-1.0)
        after = detector.probabilities(x)
    calibrated = 2.0 * torch.logit(before) - 1.0
    wanted = torch.sigmoid(calibrated - torch.logit(torch.tensor(0.7)))
    assert torch.allclose(after, wanted, atol=1e-5)
    clear = (calibrated - torch.logit(torch.tensor(0.7))).abs() > 1e-3
    assert torch.equal((torch.sigmoid(calibrated) >= 0.7)[clear], (after >= 0.5)[clear])


def test_calibration_recovers_a_miscalibrated_detectors_slope_and_offset(monkeypatch, tmp_path):
    """A detector whose logits are 3x too sharp and 2 too high is mapped back, and the counts
    behind each threshold's score are those of a plain count."""
    from colorstudio.ml import evaluate_restore
    from colorstudio.ml.evaluate_restore import CALIBRATION_THRESHOLDS, Counts

    rng = np.random.default_rng(0)
    true_logit = rng.normal(-2.0, 2.0, (64, 64))
    truth = rng.random((64, 64)) < 1 / (1 + np.exp(-true_logit))  # damage as likely as said
    miscalibrated = 1 / (1 + np.exp(-(3 * true_logit + 2)))

    monkeypatch.setattr(
        evaluate_restore, "damaged_case", lambda path, seed, size: (None, None, truth)
    )
    monkeypatch.setattr(evaluate_restore, "damage_map", lambda *a: miscalibrated)
    fitted = evaluate_restore.calibrate_detector(
        torch.nn.Identity(), [tmp_path / f"{i}.png" for i in range(20)]
    )
    assert 0.28 < fitted.slope < 0.4 and -1.2 < fitted.offset < -0.45  # 1/3 and -2/3
    t = CALIBRATION_THRESHOLDS[30]
    counts = Counts()
    z = np.log(miscalibrated / (1 - miscalibrated))
    counts.add(fitted.slope * z + fitted.offset >= np.log(t / (1 - t)), truth)
    assert abs(fitted.scores[t] - counts.f(2.0)) < 1e-9


def test_inpaint_training_adds_the_fine_branch_to_exported_weights(tmp_path, photo_folder):
    """``train inpaint --init-from FILE --inpaint-fine --inpaint-holes damage``: the run records
    its options, starts from the file (a step at a negligible rate leaves it there) with a
    zero-initialised full-resolution branch, so it fills exactly as the file did; the export
    carries the branch in its manifest config and the engine rebuilds it."""
    import json

    from colorstudio.ml.networks.restore import GatedInpainter
    from colorstudio.ml.train.export import export_run
    from colorstudio.ml.weights import export_generator

    torch.manual_seed(0)
    start = GatedInpainter()
    with torch.no_grad():
        for p in start.parameters():
            p.add_(0.05)  # unlike a fresh initialisation anywhere
    entry = export_generator(
        start, name="start", task="inpaint", architecture="inpainter_gated", models_dir=tmp_path
    )
    run = tmp_path / "run"
    code = train_cli(
        "inpaint", photo_folder, run, "--lr", "1e-12", "--inpaint-holes", "damage",
        "--inpaint-fine", "--init-from", str(tmp_path / entry.file),
    )  # fmt: skip
    assert code == 0
    config = json.loads((run / "config.json").read_text())
    assert config["inpaint_holes"] == "damage" and config["inpaint_fine"] is True
    trained = torch.load(run / "checkpoint.pt", weights_only=True)["task"]["generator"]
    assert any(name.startswith("fine.") for name in trained)
    for name, value in start.state_dict().items():
        assert torch.allclose(trained[name].float(), value.half().float(), atol=1e-3), name
    models = tmp_path / "models"
    exported, _ = export_run(run, "inpainter", models)
    assert exported.config == {"fine": True}
    image = torch.rand(1, 3, 32, 40)
    mask = torch.zeros(1, 1, 32, 40)
    mask[..., 10:14, 5:30] = 1
    rebuilt = Engine(models_dir=models, device="cpu").torch_model("inpaint")
    assert rebuilt.fine is not None
    with torch.no_grad():
        expected = start.half().float()(image, mask)
        assert torch.allclose(rebuilt.float()(image, mask), expected, atol=2e-3)


def test_detector_zoom_magnifies_the_crops_it_asks_for(photo_folder):
    from colorstudio.ml.train.data import ImageBank

    assert zoom_scale(1.0, 192, 320) == (0.35, 1.0)  # the bank's default: never magnified
    low, high = zoom_scale(3.0, 192, 320)
    assert high == 1.0 and np.sqrt(low) * 320 * 3 == pytest.approx(192)
    with pytest.raises(ValueError):
        zoom_scale(0.5, 192, 320)
    bank = ImageBank(sorted(photo_folder.iterdir()), short_side=64, min_side=32)
    rng = np.random.default_rng(0)
    # a crop of the smallest allowed side, magnified 3x, is smoother than an unmagnified one
    zoomed = bank.crop(0, 64, rng, (low * 0.999, low))
    plain = bank.crop(0, 64, rng, (0.999, 1.0))

    def roughness(t):
        return (t[:, :, 1:] - t[:, :, :-1]).abs().mean().item()

    assert roughness(zoomed) < roughness(plain)


def test_a_window_of_the_whole_print_is_the_plain_sample():
    """A window as large as the sample is the crop itself: the same draws, the same damage."""
    yy, xx = np.mgrid[0:64, 0:64]
    rgb = np.stack([60 + 2 * xx, 60 + 2 * yy, 180 - xx - yy], -1).astype(np.uint8)
    for seed in range(6):
        clean, plain, mask = damaged_sample(rgb, np.random.default_rng(seed))
        c, windowed, m = damaged_sample(rgb, np.random.default_rng(seed), (0, 0, 64, 64))
        assert np.array_equal(mask, m) and np.array_equal(clean, c)
        # one rounding more before the scan's grain and JPEG, which may move pixels a level
        assert np.abs(plain.astype(int) - windowed).mean() < 1.0


def test_a_magnified_window_shows_the_prints_damage_larger_not_denser():
    """Magnified 3x, a window shows a ninth of the print's damage, each mark 3x larger: the
    damaged share stays about the print's, and the marks are several times larger."""

    rgb = np.full((96, 96, 3), 120, np.uint8)
    share, size = {1: [], 3: []}, {1: [], 3: []}
    for seed in range(40):
        for m in (1, 3):
            side = 96 // m
            rng = np.random.default_rng(seed)
            _, _, mask = damaged_sample(
                rgb, rng, (32 if m == 3 else 0, 32 if m == 3 else 0, side, 96)
            )
            share[m].append(mask.mean())
            count = ndimage.label(mask)[1]
            if count:
                size[m].append(mask.sum() / count)
    assert 0.5 < np.mean(share[3]) / np.mean(share[1]) < 2.0
    assert np.median(size[3]) > 3 * np.median(size[1])


def test_detection_batches_damage_magnified_crops_through_their_window(tmp_path, photo_folder):
    seen = []
    cfg = train_config(tmp_path, photo_folder, task="detect", detector_zoom=3.0, size=48)
    task = DetectTask(cfg)
    task.bank = AdversarialTask.photo_bank(task)
    from colorstudio.ml.train import restore_tasks

    real = restore_tasks.damaged_sample

    def recording(rgb, rng, window=None):
        seen.append(window)
        return real(rgb, rng, window)

    restore_tasks.damaged_sample = recording
    try:
        batch = task.make_batch(np.random.default_rng(0), 40)
    finally:
        restore_tasks.damaged_sample = real
    assert batch["damaged"].shape == (40, 3, 48, 48) and batch["mask"].shape == (40, 1, 48, 48)
    windows = [w for w in seen if w is not None]
    assert windows and all(w[2] < w[3] == 48 for w in windows)  # only magnified ones
    assert len(windows) < len(seen)  # the others are damaged as crops


def test_the_cli_refuses_a_zoom_below_one(tmp_path, photo_folder, capsys):
    with pytest.raises(SystemExit):
        train_cli("detect", photo_folder, tmp_path / "run", "--detector-zoom", "0.5")
    assert "--detector-zoom must be at least 1" in capsys.readouterr().err


def test_damage_holes_are_drawn_where_every_loss_shows(monkeypatch):
    """Hole shapes come from damage drawn on a stand-in photo; on black, a dark backing seen
    through a partial loss changed too little to count, leaving gaps in the hole. The stand-in
    must differ from paper (200..255) and from a backing or dirt (below 75) by more than
    VISIBLE at the faintest remnant opacity (0.3)."""
    from colorstudio.ml.damage import VISIBLE
    from colorstudio.ml.train import restore_tasks

    bases = []

    def spy(rgb, rng, **kw):
        bases.append(rgb)
        return rgb, np.ones(rgb.shape[:2], bool)

    monkeypatch.setattr(restore_tasks, "synthesize_damage", spy)
    rng = np.random.default_rng(0)
    for kind in ("damage", "mixed", "mixed", "mixed"):
        hole_mask((32, 32), rng, kind)
    assert bases
    for base in bases:
        assert base.min() > 75 + VISIBLE / 0.3 and base.max() < 200 - VISIBLE / 0.3
