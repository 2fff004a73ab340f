"""Training: simulated input, NoGAN phases, checkpoints and exact resume, export, the colourize
evaluation, batch workers (the stylizer's own: test_training_style.py)."""

import json

import numpy as np
import pytest
import torch

from colorstudio.ml.color import AB_SCALE
from colorstudio.ml.engine import Engine
from colorstudio.ml.requests import ColorizeRequest
from colorstudio.ml.train.colorize_task import ColorizeTask
from colorstudio.ml.train.data import BatchFeed
from colorstudio.ml.train.export import export_run
from colorstudio.ml.train.losses import (
    AB_BINS,
    ab_bin_index,
    likeness_corrected,
    rebalancing_table,
)
from colorstudio.ml.train.simulate import probe_points, reinhard_ab, simulate_hints
from colorstudio.ml.train.trainer import Trainer
from tests.ml.conftest import train_cli, train_config


def test_simulated_hints_take_ground_truth_colors():
    rng = np.random.default_rng(1)
    ab = torch.zeros(64, 2, 32, 32)
    ab[:, 0, :, :16], ab[:, 1, :, 16:] = 40.0, -30.0
    hints = simulate_hints(ab, rng, p_local_edit=0.0, p_reveal_all=0.0, p_stroke=0.0)
    mask = hints[:, 2] > 0
    assert set(hints[:, 2].unique().tolist()) <= {0.0, 1.0}
    assert torch.all(hints[:, :2].abs() <= 1.0)
    left = hints[:, 0][
        mask & (torch.arange(32) < 8)
    ]  # patches (<= 9 px) touching x < 8 end by x = 15
    assert torch.allclose(
        left, torch.full_like(left, 40.0 / AB_SCALE)
    )  # patch means of a flat area
    counts = mask.flatten(1).any(1).float().mean()
    assert 0.6 < counts < 1.0  # most samples get hints, some none (geometric count)


def test_local_edit_hints_reveal_known_colors():
    rng = np.random.default_rng(2)
    ab = torch.randn(8, 2, 24, 24) * 20
    hints = simulate_hints(ab, rng, p_local_edit=1.0, p_points=0.99, p_stroke=0.0)
    known = hints[:, 2] > 0
    assert known.float().mean() > 0.3
    assert torch.allclose(
        hints[:, :2][known.unsqueeze(1).expand(-1, 2, -1, -1)],
        (ab / AB_SCALE)[known.unsqueeze(1).expand(-1, 2, -1, -1)],
    )


def test_reinhard_target_takes_reference_statistics():
    ab = torch.randn(2, 16, 16) * 10
    ref = torch.randn(2, 8, 8) * 25 + 12
    moved = reinhard_ab(ab, ref)
    assert torch.allclose(moved.mean(dim=(1, 2)), ref.mean(dim=(1, 2)), atol=1e-3)


def test_rebalancing_favours_rare_colors():
    ab = torch.zeros(1, 2, 40, 40)
    ab[..., :2, :2] = 80.0  # a few saturated pixels among greys
    table = rebalancing_table(ab)
    grey_bin = ab_bin_index(torch.zeros(1, 2, 1, 1)).item()
    rare_bin = ab_bin_index(torch.full((1, 2, 1, 1), 80.0)).item()
    assert table.shape == (AB_BINS**2,)
    assert table[rare_bin] > 2 * table[grey_bin]


def test_probe_points_take_ground_truth_colors_in_the_asked_numbers():
    rng = np.random.default_rng(3)
    ab = torch.zeros(40, 2, 32, 32)
    ab[:, 0, :, :16], ab[:, 1, :, 16:] = 40.0, -30.0
    positions, colors, valid = probe_points(ab, rng, fewest=2, most=12)
    counts = valid.sum(1)
    assert counts.min() >= 2 and counts.max() <= 12 and counts.float().std() > 0
    assert torch.all(positions[valid] >= 0) and torch.all(positions[valid] < 32)
    assert not colors[~valid].any()
    x = positions[..., 1]
    inner = valid & (x >= 2) & (x < 14)  # patches of <= 3 px that stay in the left half
    assert torch.allclose(colors[inner], torch.tensor([40.0, 0.0]).expand_as(colors[inner]))


def test_likeness_corrected_carries_a_hint_to_what_is_alike_and_passes_gradients():
    """Two regions of different lightness, the prediction wrong by a constant in each: one hint
    in each makes the corrected prediction right everywhere (within the phantom's share), and
    the loss after the corrections reaches the prediction's gradient."""
    lightness = torch.full((1, 1, 16, 16), 30.0)
    lightness[..., 8:] = 80.0
    truth = torch.zeros(1, 2, 16, 16)
    truth[:, 0, :, :8], truth[:, 1, :, 8:] = 20.0, -25.0
    pred = (truth + torch.tensor([6.0, -4.0])[None, :, None, None]).requires_grad_(True)
    positions = torch.tensor([[[3, 2], [12, 13]]])
    colors = torch.stack([truth[0, :, 3, 2], truth[0, :, 12, 13]])[None]
    valid = torch.ones(1, 2, dtype=torch.bool)
    corrected = likeness_corrected(lightness, pred, positions, colors, valid)
    before = (pred - truth).abs().mean()
    after = (corrected - truth).abs().mean()
    assert before.item() == pytest.approx(5.0)
    assert after.item() < 0.05 * before.item()
    after.backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0
    lost = likeness_corrected(lightness, pred, positions, colors, torch.zeros_like(valid))
    assert torch.equal(lost, pred)  # no hint: no correction


def test_likeness_corrected_is_float32_under_bf16_autocast():
    """Training autocasts to bf16 (CUDA, and CPUs with AMX): the corrections' squared
    distances lost up to 33 Lab units there. They are computed in float32 whatever the cast."""
    g = torch.Generator().manual_seed(0)
    lightness = torch.rand(1, 1, 32, 32, generator=g) * 100
    pred = (torch.rand(1, 2, 32, 32, generator=g) - 0.5) * 160
    positions = torch.randint(0, 32, (1, 12, 2), generator=g)
    colors = (torch.rand(1, 12, 2, generator=g) - 0.5) * 160
    valid = torch.ones(1, 12, dtype=torch.bool)
    exact = likeness_corrected(lightness, pred, positions, colors, valid)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        under_amp = likeness_corrected(lightness, pred, positions, colors, valid)
    assert under_amp.dtype == torch.float32
    assert torch.allclose(under_amp, exact, atol=1e-3)


def test_likeness_corrected_matches_the_engines_corrections():
    """The training's differentiable corrections are the engine's (fusion.regress_corrections,
    at full size) for single-pixel hints: what the loss optimises is what the engine does."""
    from colorstudio.ml import fusion

    generator = torch.Generator().manual_seed(4)
    lightness = torch.rand(1, 1, 24, 20, generator=generator) * 100
    pred = torch.randn(1, 2, 24, 20, generator=generator) * 15
    positions = torch.tensor([[[2, 3], [20, 15], [11, 9], [5, 17]]])
    colors = torch.randn(1, 4, 2, generator=generator) * 30
    hint_ab, hint_mask = torch.zeros(1, 2, 24, 20), torch.zeros(1, 1, 24, 20)
    for (y, x), color in zip(positions[0], colors[0], strict=True):
        hint_ab[0, :, y, x], hint_mask[0, 0, y, x] = color, 1.0
    arrays = (t.numpy() for t in (lightness, pred, hint_ab, hint_mask))
    engine = pred + torch.from_numpy(fusion.regress_corrections(*arrays))
    trained = likeness_corrected(lightness, pred, positions, colors, torch.ones(1, 4, dtype=bool))
    assert (engine - pred).abs().max() > 1.0  # the hints do correct
    assert torch.allclose(trained, engine, atol=1e-3)


def test_colorize_training_with_the_correction_loss(tmp_path, photo_folder):
    """``--lambda-correction``: half of each batch is predicted without hints and scored after
    the likeness corrections too; the loss is logged and the config records the weight."""
    code = train_cli("colorize", photo_folder, tmp_path / "cli", "--lambda-correction", "0.5")
    assert code == 0
    assert json.loads((tmp_path / "cli" / "config.json").read_text())["lambda_correction"] == 0.5
    cfg = train_config(tmp_path, photo_folder, lambda_correction=1.0, steps_critic=0, steps_gan=0)
    task = ColorizeTask(cfg)
    run = Trainer(cfg, task).run()
    rows = [row.split(",") for row in (run / "log.csv").read_text().splitlines()]
    values = [float(row[rows[0].index("corr")]) for row in rows[1:]]
    assert len(values) == 2 and all(v > 0 for v in values)
    batch = task.make_batch(np.random.default_rng(0), 4)
    assert not batch["hints"][:2].any()  # the hint-free half
    assert batch["probe_at"].shape[0] == 2 and batch["probe_valid"].any(1).all()


def test_snapshots_export_as_their_mean(tmp_path, photo_folder, capsys):
    """``--snapshot-every N`` keeps the generator's weights every N steps; ``train export
    --average`` writes their mean (BN statistics included) and says so on the card; a step
    without a snapshot is refused with a message."""
    from colorstudio.cli import main
    from colorstudio.ml.train.trainer import snapshot_path

    run = tmp_path / "run"
    assert train_cli("colorize", photo_folder, run, "--snapshot-every", "1", steps=2) == 0
    first, second = (torch.load(snapshot_path(run, s), weights_only=True) for s in (1, 2))
    models = tmp_path / "models"
    assert main(["train", "export", str(run), "--name", "c", "--models", str(models),
                 "--average", "1", "2"]) == 0  # fmt: skip
    exported = torch.load(models / "c.pt", weights_only=True)
    moved = 0
    for key, value in exported.items():
        if value.is_floating_point():
            mean = ((first[key] + second[key]) / 2).half()
            assert torch.allclose(value.float(), mean.float(), atol=1e-3), key
            moved += int(not torch.equal(first[key], second[key]))
    assert moved > 10  # the two snapshots differ, so the mean is neither
    assert "mean of the weights at steps 1, 2" in (models / "c.md").read_text()
    assert main(["train", "export", str(run), "--name", "c", "--models", str(models),
                 "--average", "1", "3"]) == 2  # fmt: skip
    assert "no snapshot at step(s) 3" in capsys.readouterr().err


def test_nogan_training_checkpoints_resumes_and_exports(tmp_path, photo_folder):
    cfg = train_config(tmp_path, photo_folder)
    trainer = Trainer(cfg, ColorizeTask(cfg))
    run = trainer.run()
    assert trainer.step == 4
    rows = (run / "log.csv").read_text().splitlines()
    assert rows[0].startswith("step,phase,images_per_s") and len(rows) == 5
    assert [r.split(",")[1] for r in rows[1:]] == ["pretrain", "pretrain", "critic", "gan"]
    assert any((run / "samples").iterdir())
    longer = train_config(tmp_path, photo_folder, steps_gan=2)
    resumed = Trainer(longer, ColorizeTask(longer))
    resumed.run(resume=True)
    assert resumed.step == 5  # continued, did not start over
    models = tmp_path / "models"
    entry, metrics = export_run(run, "colorizer-test", models, eval_dir=photo_folder, eval_limit=2)
    manifest = json.loads((models / "manifest.json").read_text())
    assert manifest["models"][0]["card"] == "colorizer-test.md"
    assert "| 10 |" in metrics and "gan PSNR" in metrics and "Local edit" in metrics
    card = (models / "colorizer-test.md").read_text()
    for needle in (
        "Training data",
        "trained 5 steps",
        "Hardware",
        "| hints |",
        entry.sha256,
        "contact sheet",
    ):
        assert needle in card
    assert (models / "colorizer-test-sheet.jpg").is_file()
    result = Engine(models_dir=models).run(
        ColorizeRequest(np.full((40, 50, 3), 100, np.uint8), working_size=64)
    )
    assert result.engine == "gan"


def test_resume_is_exact(tmp_path, photo_folder):
    def weights(task):
        return torch.cat([p.detach().flatten() for p in task.g.parameters() if p.requires_grad])

    straight_cfg = train_config(
        tmp_path / "a", photo_folder, steps_pretrain=4, steps_critic=0, steps_gan=0
    )
    straight = ColorizeTask(straight_cfg)
    Trainer(straight_cfg, straight).run()
    first_cfg = train_config(
        tmp_path / "b", photo_folder, steps_pretrain=2, steps_critic=0, steps_gan=0
    )
    Trainer(first_cfg, ColorizeTask(first_cfg)).run()
    second_cfg = train_config(
        tmp_path / "b", photo_folder, steps_pretrain=4, steps_critic=0, steps_gan=0
    )
    resumed = ColorizeTask(second_cfg)
    Trainer(second_cfg, resumed).run(resume=True)
    assert torch.equal(weights(straight), weights(resumed))


def test_time_budget_stops_after_a_checkpoint(tmp_path, photo_folder):
    cfg = train_config(tmp_path, photo_folder, steps_pretrain=1000, max_minutes=0.0)
    trainer = Trainer(cfg, ColorizeTask(cfg))
    trainer.run()
    assert trainer.step == 0 and (tmp_path / "run" / "checkpoint.pt").is_file()


def test_training_runs_unchanged_under_torchrun(tmp_path, photo_folder):
    """Two processes on the CPU (gloo): DistributedDataParallel, rank 0 writes the checkpoint;
    each rank's batches come from a batch worker of its own (``--workers``, as on GPUs)."""
    import os
    import subprocess
    import sys

    run = tmp_path / "ddp"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "-m",
        "colorstudio",
        "train",
        "colorize",
        "--data",
        str(photo_folder),
        "--out",
        str(run),
        "--size",
        "32",
        "--batch",
        "2",
        "--steps-pretrain",
        "2",
        "--steps-critic",
        "1",
        "--steps-gan",
        "1",
        "--device",
        "cpu",
        "--threads",
        "1",
        "--workers",
        "1",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=300, env=env, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("run saved in") == 1
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    assert state["step"] == 4


def test_sigterm_checkpoints_and_exits_cleanly(tmp_path, photo_folder):
    import os
    import signal
    import subprocess
    import sys
    import time

    run = tmp_path / "killed"
    command = [
        sys.executable,
        "-m",
        "colorstudio",
        "train",
        "colorize",
        "--data",
        str(photo_folder),
        "--out",
        str(run),
        "--size",
        "32",
        "--batch",
        "2",
        "--steps-pretrain",
        "100000",
        "--device",
        "cpu",
        "--threads",
        "1",
        "--checkpoint-every",
        "100000",
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    deadline = time.time() + 120
    while not (run / "samples").is_dir() and time.time() < deadline:  # setup done, steps running
        time.sleep(0.2)
    time.sleep(2.0)
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err[-2000:]
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    assert state["step"] > 0  # the steps done before the signal were kept


def test_resume_applies_the_new_learning_rate(tmp_path, photo_folder):
    first = train_config(tmp_path, photo_folder, steps_pretrain=2, steps_critic=0, steps_gan=0)
    Trainer(first, ColorizeTask(first)).run()
    lower = train_config(
        tmp_path, photo_folder, steps_pretrain=3, steps_critic=0, steps_gan=0, lr_g=1e-5, lr_d=2e-5
    )
    task = ColorizeTask(lower)
    Trainer(lower, task).run(resume=True)
    assert [g["lr"] for g in task.opt_g.param_groups] == [1e-5]
    assert [g["lr"] for g in task.opt_d.param_groups] == [2e-5]


def test_the_cards_loss_table_stops_at_the_exported_checkpoint(tmp_path):
    """A run copied between two checkpoints has log rows past the checkpoint's step; the card
    must show the losses of the weights it describes."""
    from colorstudio.ml.train.export import last_losses

    rows = ["step,phase,l1"] + [f"{s},pretrain,{s / 1000:.3f}" for s in range(10, 101, 10)]
    (tmp_path / "log.csv").write_text("\n".join(rows) + "\n")
    table = last_losses(tmp_path, 70)
    assert table[0] == "| step | phase | l1 |"
    assert [line.split(" | ")[0] for line in table[2:]] == ["| 50", "| 60", "| 70"]
    assert "| 100 |" in last_losses(tmp_path)[-1]
    assert last_losses(tmp_path, 5) == []
    assert last_losses(tmp_path / "missing", 70) == []
    # the log has a column for every task's losses: the card shows those this run logged
    rows = ["step,phase,images_per_s,l1,adv,corr", "10,pretrain,9.5,0.2,,0.1"]
    (tmp_path / "log.csv").write_text("\n".join(rows) + "\n")
    assert last_losses(tmp_path) == [
        "| step | phase | images_per_s | l1 | corr |",
        "|---|---|---|---|---|",
        "| 10 | pretrain | 9.5 | 0.2 | 0.1 |",
    ]


def test_colorize_training_warm_starts_the_hint_spread_inputs(tmp_path, photo_folder):
    """``train colorize --init-from FILE --spread-only`` with a colourizer exported without the
    hint-spread inputs: the new input channels start at zero and are all that trains — every
    other weight and BN statistic stays the file's — and the export records the architecture
    for the engine."""
    from colorstudio.ml.networks.colorizer import HintColorizer
    from colorstudio.ml.weights import export_generator

    torch.manual_seed(0)
    start = HintColorizer(pretrained=False)
    entry = export_generator(
        start, name="start", task="colorize", architecture="colorizer_lite0", models_dir=tmp_path
    )
    run = tmp_path / "run"
    code = train_cli(
        "colorize", photo_folder, run, "--lr", "1e-3", "--spread-only",
        "--init-from", str(tmp_path / entry.file), steps=2,
    )  # fmt: skip
    assert code == 0
    config = json.loads((run / "config.json").read_text())
    assert config["hint_spread"] is True and config["spread_only"] is True
    trained = torch.load(run / "checkpoint.pt", weights_only=True)["task"]["generator"]
    for name, value in start.state_dict().items():
        old = value.half().float() if value.is_floating_point() else value
        got = trained[name][:, : old.shape[1]] if old.dim() == 4 else trained[name]
        assert torch.equal(got, old), name
    assert trained["up1.body.0.0.weight"][:, -3:].abs().max() > 0  # the new inputs trained
    exported, _ = export_run(run, "colorizer", tmp_path / "models")
    assert exported.config == {"hint_spread": True}
    rebuilt = Engine(models_dir=tmp_path / "models", device="cpu").colorizer()
    assert rebuilt.hint_spread


def test_colorize_evaluation_measures_the_local_edit(tmp_path, photo_folder):
    """The report's local-edit line: a region shown grey and recoloured from its surroundings.
    Levin's recolour must beat leaving it grey; the region is seeded and inside the photo."""
    from colorstudio.ml.evaluate import edit_region, evaluate_colorize

    region = edit_region((60, 90), 3)
    assert region.any() and not region.all()
    assert np.array_equal(region, edit_region((60, 90), 3))
    files = sorted(photo_folder.iterdir())[:2]
    report = evaluate_colorize(Engine(models_dir=tmp_path / "none"), files, hint_counts=(0, 1))
    assert set(report.local_edit) == {"grey", "levin"}
    assert report.local_edit["levin"] > report.local_edit["grey"] + 1.0
    assert "Local edit" in report.markdown()


def test_colorize_evaluation_reports_the_network_alone(tmp_path, photo_folder, random_colorizer):
    """With a colourizer the report has the network's own row beside the engine's, at every
    hint count and in the local edit; they differ once there are hints (the engine honours
    them, the untrained network does not)."""
    from colorstudio.ml.evaluate import evaluate_colorize

    engine = Engine(models_dir=tmp_path / "none", device="cpu", colorizer=random_colorizer)
    files = sorted(photo_folder.iterdir())[:2]
    report = evaluate_colorize(engine, files, hint_counts=(0, 5))
    assert report.methods == ("grey", "levin", "gan", "gan-photo", "network")
    assert report.value("gan", 5, "psnr") != report.value("gan-photo", 5, "psnr")  # two reaches
    assert set(report.local_edit) == {"grey", "levin", "gan", "network"}
    assert report.value("gan", 5, "psnr") != report.value("network", 5, "psnr")
    assert "network PSNR" in report.markdown()


def test_colorize_evaluation_averages_draws_of_hints(tmp_path, photo_folder, random_colorizer):
    """Several sets of random hints per photo: the hint-free row does not change (it has no
    hints to draw), the hinted rows do, and the report gives the GAN's lead over Levin with a
    standard error; a draw count below one is refused."""
    from colorstudio.ml.evaluate import evaluate_colorize

    engine = Engine(models_dir=tmp_path / "none", device="cpu", colorizer=random_colorizer)
    files = sorted(photo_folder.iterdir())[:3]
    one = evaluate_colorize(engine, files, hint_counts=(0, 5), draws=1)
    two = evaluate_colorize(engine, files, hint_counts=(0, 5), draws=2)
    assert two.draws == 2 and one.draws == 1
    assert two.value("gan", 0, "psnr") == pytest.approx(one.value("gan", 0, "psnr"))
    assert two.value("levin", 5, "psnr") != pytest.approx(one.value("levin", 5, "psnr"))
    mean, error = two.lead[5]
    assert mean == pytest.approx(two.value("gan", 5, "psnr") - two.value("levin", 5, "psnr"))
    assert error > 0 and set(two.lead) == {5}
    assert "± " in two.markdown() and "2 set(s) of random hints" in two.markdown()
    with pytest.raises(ValueError, match="draws"):
        evaluate_colorize(engine, files, hint_counts=(0,), draws=0)


def _draw(rng: np.random.Generator, n: int) -> dict[str, torch.Tensor]:
    return {"x": torch.from_numpy(rng.random((n, 3))).float(), "n": torch.tensor(n)}


def test_batch_feed_workers_make_batches_of_their_own():
    """Without workers the feed draws from the trainer's generator (so a run resumes batch for
    batch); with them each worker process has its own stream, and a run started at another
    step (the seed) gets other batches."""
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    inline = BatchFeed(_draw, 4)
    assert torch.equal(inline.next(rng_a)["x"], _draw(rng_b, 4)["x"])
    feed = BatchFeed(_draw, 4, workers=2, seed=(0, 0, 0))
    batches = [feed.next(rng_a)["x"] for _ in range(6)]
    feed.close()
    assert all(b.shape == (4, 3) for b in batches)
    assert len({tuple(b.flatten().tolist()) for b in batches}) == 6  # no worker repeats another
    later = BatchFeed(_draw, 4, workers=2, seed=(0, 0, 100))
    first_later = later.next(rng_a)["x"]
    later.close()
    assert not any(torch.equal(first_later, b) for b in batches)


def test_training_with_batch_workers(tmp_path, photo_folder):
    """``train --workers 2``: the steps run on batches made by worker processes and the run
    records the setting."""
    run = tmp_path / "run"
    assert train_cli("colorize", photo_folder, run, "--workers", "2", steps=3) == 0
    assert json.loads((run / "config.json").read_text())["workers"] == 2
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    assert state["step"] == 3
    assert all(torch.isfinite(v).all() for v in state["task"]["generator"].values())
