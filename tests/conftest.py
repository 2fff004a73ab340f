"""Shared fixtures. GUI tests run offscreen; user data goes to a temporary folder."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _isolated_user_data(tmp_path, monkeypatch):
    """Never touch the real user data folder (recovery files) or the user's Qt settings (recent
    files, last folder, editor settings): both point into the test's temporary folder."""
    monkeypatch.setenv("COLORSTUDIO_DATA_DIR", str(tmp_path / "userdata"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "qtsettings"))  # for child processes
    from PySide6.QtCore import QSettings

    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(tmp_path / "qtsettings"))


@pytest.fixture(scope="session")
def random_colorizer():
    """A colourizer with random weights (no pretrained encoder), lively enough to change colours."""
    import torch

    from colorstudio.ml.networks import define_generator

    torch.manual_seed(0)
    model = define_generator("colorizer_lite0", pretrained=False)
    torch.nn.init.normal_(model.head.weight, std=0.05)  # produce visible colour
    for film in (model.film32, model.film16, model.film8):  # FiLM starts as identity: wake it up
        torch.nn.init.normal_(film.to_params.weight, std=0.2)
    return model.eval()


@pytest.fixture
def exported_colorizer(tmp_path, random_colorizer):
    """A model folder holding the random colourizer, exported as the shipped ones are."""
    from colorstudio.ml.weights import export_generator

    models = tmp_path / "models"
    export_generator(
        random_colorizer,
        name="c",
        task="colorize",
        architecture="colorizer_lite0",
        models_dir=models,
    )
    return models


@pytest.fixture(scope="session")
def random_stylizer():
    import torch

    from colorstudio.ml.networks import define_generator

    torch.manual_seed(0)
    return define_generator("stylizer_adain", pretrained=False, widths=(32, 16, 8)).eval()


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def random_rgba(rng, height: int, width: int, opaque: bool = False) -> np.ndarray:
    rgba = rng.integers(0, 256, (height, width, 4), dtype=np.uint8)
    if opaque:
        rgba[..., 3] = 255
    return rgba


@pytest.fixture
def exported_restorers(tmp_path):
    """A model folder with a tiny random damage detector and inpainter, exported for real."""
    import torch

    from colorstudio.ml.networks import define_generator
    from colorstudio.ml.weights import export_generator

    models = tmp_path / "restore-models"
    torch.manual_seed(0)
    for name, task, architecture, config in (
        ("d", "detect", "detector_unet", {"widths": [4, 8, 8, 8]}),
        ("i", "inpaint", "inpainter_gated", {"width": 8}),
    ):
        export_generator(
            define_generator(architecture, **config),
            name=name,
            task=task,
            architecture=architecture,
            models_dir=models,
            config=config,
        )
    return models
