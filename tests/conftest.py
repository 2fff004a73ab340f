"""Shared fixtures. GUI tests run offscreen; user data goes to a temporary folder."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _isolated_user_data(tmp_path, monkeypatch):
    """Never touch the real user data folder (recovery files, settings)."""
    monkeypatch.setenv("COLORSTUDIO_DATA_DIR", str(tmp_path / "userdata"))


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def random_rgba(rng, height: int, width: int, opaque: bool = False) -> np.ndarray:
    rgba = rng.integers(0, 256, (height, width, 4), dtype=np.uint8)
    if opaque:
        rgba[..., 3] = 255
    return rgba
