"""Tiny random networks for engine tests (no pretrained weights, CPU)."""

import pytest

from colorstudio.ml.engine import Engine


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
