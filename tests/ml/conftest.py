"""Tiny random networks for engine tests (no pretrained weights, CPU)."""

import numpy as np
import pytest
from PIL import Image

from colorstudio.ml.engine import Engine
from colorstudio.ml.train.trainer import TrainConfig


@pytest.fixture
def engine(tmp_path, random_colorizer, random_stylizer):
    return Engine(
        models_dir=tmp_path / "no-models",
        device="cpu",
        colorizer=random_colorizer,
        stylizer=random_stylizer,
    )


@pytest.fixture
def colorizer_runs(engine, monkeypatch):
    """Each run of the engine's colourizer network, as the pipelines call it (either runtime):
    a list of (inputs, outputs), dicts of float32 arrays by name."""
    net = engine.colorizer_net()
    real = net.run
    runs = []

    def run(threads, outputs=None, **inputs):
        result = real(threads, outputs, **inputs)
        runs.append((inputs, dict(zip(outputs or net.outputs, result, strict=True))))
        return result

    monkeypatch.setattr(net, "run", run)
    return runs


def hinted_amount(runs) -> list[float]:
    """The hint mask's sum in each colourizer run (0: the hint-free prediction)."""
    return [float(inputs["hints"][:, 2].sum()) for inputs, _ in runs]


@pytest.fixture
def classical_engine(tmp_path):
    return Engine(models_dir=tmp_path / "no-models", device="cpu")


@pytest.fixture(scope="session")
def photo_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for i in range(6):
        yy, xx = np.mgrid[0:80, 0:96]
        rgb = np.stack(
            [(xx * 2 + 40 * i) % 256, (yy * 3) % 256, np.full_like(xx, 60 * i % 256)], -1
        )
        rgb = np.clip(rgb + rng.normal(0, 4, rgb.shape), 0, 255).astype(np.uint8)
        Image.fromarray(rgb).save(folder / f"p{i}.png")
    return folder


def train_config(tmp_path, photo_folder, task: str = "colorize", **overrides) -> TrainConfig:
    """A training run small enough for a test: 32 px crops, a few steps of every phase the task
    has (detection has no adversarial phases), CPU, written to ``tmp_path / "run"``."""
    gan_steps = 0 if task == "detect" else 1
    values = dict(
        task=task,
        data=(str(photo_folder),),
        out=str(tmp_path / "run"),
        size=32,
        batch=2,
        steps_pretrain=2,
        steps_critic=gan_steps,
        steps_gan=gan_steps,
        checkpoint_every=2,
        sample_every=2,
        log_every=1,
        device="cpu",
        short_side=64,
    )
    values.update(overrides)
    return TrainConfig(**values)


def train_cli(task: str, photo_folder, run, *options: str, steps: int = 1) -> int:
    """``colorstudio train TASK`` through the CLI, as small as :func:`train_config`'s runs:
    32 px crops, batch 2, ``steps`` pretraining steps and no adversarial phases, on the CPU."""
    from colorstudio.cli import main

    return main(
        ["train", task, "--data", str(photo_folder), "--out", str(run), "--size", "32",
         "--batch", "2", "--steps-pretrain", str(steps), "--steps-critic", "0", "--steps-gan",
         "0", "--device", "cpu", *options]
    )  # fmt: skip


def grey_photo(rng, h=120, w=160):
    """A smooth grey image with structure (gradients and a disc), H x W x 3 uint8."""
    yy, xx = np.mgrid[0:h, 0:w]
    value = 60 + 100 * (xx / w) + 50 * ((yy - h / 2) ** 2 + (xx - w / 3) ** 2 < (h / 4) ** 2)
    value = np.clip(value + rng.normal(0, 3, (h, w)), 0, 255).astype(np.uint8)
    return np.repeat(value[..., None], 3, axis=2)
