"""The slim student encoder (``SlimVGG``): its layout, its pruned start, a stylizer that stores
it, its distillation for a trained decoder (``train style --style-slim``) and its export."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from colorstudio.ml.engine import Engine
from colorstudio.ml.networks.encoders import VGG19Features
from colorstudio.ml.networks.stylizer import AdaINStylizer, SlimVGG
from colorstudio.ml.requests import ReferenceImage, StylizeRequest
from colorstudio.ml.train.export import export_run
from colorstudio.ml.train.trainer import TrainConfig
from tests.ml.conftest import train_cli


def test_slim_vgg_keeps_vggs_stride_and_last_width_and_starts_as_it_pruned():
    torch.manual_seed(0)
    vgg = VGG19Features("block3_conv1", taps=("block1_conv1", "block3_conv1"), pretrained=False)
    slim = SlimVGG(0.5, "block3_conv1")
    slim.prune_from(vgg)
    widths = {name: conv.out_channels for name, conv in slim.convs.items()}
    assert widths == {
        "block1_conv1": 32,
        "block1_conv2": 32,
        "block2_conv1": 64,
        "block2_conv2": 64,
        "block3_conv1": 256,
    }
    x = torch.rand(2, 3, 40, 56)
    with torch.no_grad():
        out = slim(x)
        assert set(out) == {"block3_conv1"} and out["block3_conv1"].shape == (2, 256, 10, 14)
        teacher = vgg(x)["block1_conv1"]
        first = vgg.convs["block1_conv1"].weight
        keep = first.abs().sum((1, 2, 3)).topk(32).indices.sort().values
        mine = F.relu(slim.convs["block1_conv1"](x.flip(1) * 255.0 - slim.mean))
    assert torch.allclose(mine, teacher[:, keep], atol=1e-3)  # relu1_1's kept channels: exact


def test_a_stylizer_stores_its_slim_encoder_and_has_one_student():
    stylizer = AdaINStylizer(level=3, slim=0.5, pretrained=False)
    state = stylizer.exportable_state_dict()
    assert any(k.startswith("encoder.convs.block1_conv1") for k in state)
    assert stylizer.channels == 256  # the decoder reads VGG19's width
    again = AdaINStylizer(level=3, slim=0.5, pretrained=False)
    again.load_exportable_state_dict(state)
    with pytest.raises(ValueError, match="one student"):
        AdaINStylizer(level=3, slim=0.5, student=8, pretrained=False)


def test_the_learning_rate_decay():
    steps = {"steps_pretrain": 10, "steps_critic": 0, "steps_gan": 0}
    cosine = TrainConfig(task="style", data=(), out="x", lr_decay="cosine", **steps)
    assert [cosine.lr_factor(s) for s in (0, 5, 10)] == pytest.approx([1.0, 0.5, 0.0])
    flat = TrainConfig(task="style", data=(), out="x", **steps)
    assert flat.lr_factor(7) == 1.0


def test_a_slim_encoder_distils_for_a_frozen_decoder_and_exports(tmp_path, photo_folder, capsys):
    """``--style-slim`` moves only the encoder (from VGG19 pruned); the decoder is the file's;
    the export's manifest rebuilds it and the engine stylizes with it."""
    start, file = _decoder_file(tmp_path)
    run = tmp_path / "run"
    options = (
        *("--style-data", str(photo_folder), "--style-level", "3", "--style-widths", "16", "8"),
        *("4", "--style-slim", "0.5", "--steps-distill", "3", "--lr-decay", "cosine"),
    )
    assert train_cli("style", photo_folder, run, *options, "--init-from", file, steps=0) == 0
    trained = torch.load(run / "checkpoint.pt", weights_only=True)["task"]["generator"]
    for name, value in start.decoder.state_dict().items():  # frozen: the file's, bit for bit
        assert torch.equal(trained[f"decoder.{name}"], value.half().float()), name
    pruned = SlimVGG(0.5, "block3_conv1")
    pruned.prune_from(VGG19Features("block3_conv1", taps=("block3_conv1",)))
    moved = [not torch.allclose(trained[f"encoder.{k}"], v) for k, v in pruned.state_dict().items()]
    assert any(moved)
    models = tmp_path / "models"
    exported, _ = export_run(run, "slim-test", models, eval_dir=photo_folder, eval_limit=1)
    assert exported.config == {"level": 3, "slim": 0.5, "widths": [16, 8, 4]}
    assert "slim encoder 0.5" in (models / "slim-test.md").read_text()
    painting = ReferenceImage(np.full((16, 16, 3), 200, np.uint8), "style")
    request = StylizeRequest(np.zeros((40, 48, 3), np.uint8), style=painting, working_size=48)
    engine = Engine(models_dir=models)
    assert engine.run(request).image.shape == (40, 48, 3)
    assert isinstance(engine.stylizer().encoder, SlimVGG)
    with pytest.raises(SystemExit):  # a slim encoder is distilled for a trained decoder
        train_cli("style", photo_folder, tmp_path / "r2", *options, steps=0)
    assert "--init-from" in capsys.readouterr().err


def test_the_slim_distillation_judges_the_students_picture_by_the_style_loss(
    tmp_path, photo_folder
):
    """``--lambda-style`` adds the style loss of the student's picture: the same run from the
    same start moves the encoder differently, and the log reports the term; at 0 it is left out."""
    _start, file = _decoder_file(tmp_path)
    encoders, logs = [], []
    for weight in ("0", "5"):
        run = tmp_path / f"run{weight}"
        options = (
            *("--style-data", str(photo_folder), "--style-level", "3", "--style-widths", "16"),
            *("8", "4", "--style-slim", "0.5", "--steps-distill", "10"),
            *("--lambda-style", weight, "--init-from", file),
        )
        assert train_cli("style", photo_folder, run, *options, steps=0) == 0
        state = torch.load(run / "checkpoint.pt", weights_only=True)["task"]["generator"]
        encoders.append({k: v for k, v in state.items() if k.startswith("encoder.")})
        rows = (run / "log.csv").read_text().splitlines()
        logs.append(dict(zip(rows[0].split(","), rows[-1].split(","), strict=True)))
    assert logs[0]["style"] == "" and float(logs[1]["style"]) > 0
    assert logs[0]["l1"] != "" and logs[1]["l1"] != ""
    assert any(not torch.equal(encoders[0][k], encoders[1][k]) for k in encoders[0])


def _decoder_file(folder) -> tuple[AdaINStylizer, str]:
    """A small level-3 stylizer with a random decoder, exported into ``folder``: the model a
    slim encoder is distilled for (``--init-from``), and its file."""
    from colorstudio.ml.weights import export_generator

    torch.manual_seed(0)
    start = AdaINStylizer(level=3, widths=(16, 8, 4))
    for p in start.decoder.parameters():
        p.data.normal_(0, 0.05)
    entry = export_generator(
        start, name="start", task="stylize", architecture="stylizer_adain", models_dir=folder
    )
    return start, str(folder / entry.file)
