"""Tiny random networks for engine tests (no pretrained weights, CPU)."""

import pytest
import torch

from colorstudio.ml.engine import Engine
from colorstudio.ml.networks import define_generator


@pytest.fixture(scope="session")
def random_colorizer():
    torch.manual_seed(0)
    model = define_generator("colorizer_lite0", pretrained=False)
    torch.nn.init.normal_(model.head.weight, std=0.05)  # produce visible colour
    for film in (model.film32, model.film16, model.film8):  # FiLM starts as identity: wake it up
        torch.nn.init.normal_(film.to_params.weight, std=0.2)
    return model.eval()


@pytest.fixture(scope="session")
def random_stylizer():
    torch.manual_seed(0)
    return define_generator("stylizer_adain", pretrained=False, widths=(32, 16, 8)).eval()


@pytest.fixture
def engine(tmp_path, random_colorizer, random_stylizer):
    return Engine(
        models_dir=tmp_path / "no-models",
        device="cpu",
        colorizer=random_colorizer,
        stylizer=random_stylizer,
    )


@pytest.fixture
def classical_engine(tmp_path):
    return Engine(models_dir=tmp_path / "no-models", device="cpu")
