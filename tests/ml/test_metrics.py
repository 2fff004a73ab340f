"""Metrics against published values."""

import numpy as np
import pytest

from colorstudio.ml.metrics import ciede2000, colorfulness, psnr

# Sharma, Wu & Dalal (2005), "The CIEDE2000 color-difference formula: implementation notes,
# supplementary test data" — pairs 1, 2, 3, 7 and 17 of their table.
SHARMA = [
    ((50.0000, 2.6772, -79.7751), (50.0000, 0.0000, -82.7485), 2.0425),
    ((50.0000, 3.1571, -77.2803), (50.0000, 0.0000, -82.7485), 2.8615),
    ((50.0000, 2.8361, -74.0200), (50.0000, 0.0000, -82.7485), 3.4412),
    ((50.0000, 0.0000, 0.0000), (50.0000, -1.0000, 2.0000), 2.3669),
    ((50.0000, 2.5000, 0.0000), (73.0000, 25.0000, -18.0000), 27.1492),
]


@pytest.mark.parametrize(("lab1", "lab2", "expected"), SHARMA)
def test_ciede2000_matches_sharma(lab1, lab2, expected):
    assert ciede2000(np.array(lab1), np.array(lab2)) == pytest.approx(expected, abs=1e-4)
    assert ciede2000(np.array(lab2), np.array(lab1)) == pytest.approx(expected, abs=1e-4)


def test_psnr():
    a = np.zeros((4, 4, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 255  # MSE = 255^2 / 48
    assert psnr(a, b) == pytest.approx(10 * np.log10(48), abs=1e-9)
    assert psnr(a, a) == float("inf")


def test_colorfulness_is_zero_for_grey_and_grows_with_saturation():
    grey = np.full((8, 8, 3), 120, np.uint8)
    assert colorfulness(grey) == 0
    half = grey.copy()
    half[:, :4] = (200, 60, 60)
    full = half.copy()
    full[:, 4:] = (40, 200, 90)
    assert 0 < colorfulness(half) < colorfulness(full)
