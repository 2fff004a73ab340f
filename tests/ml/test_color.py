"""sRGB ↔ Lab against published reference values (Lindbloom, D65)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from colorstudio.ml import fullres, resample
from colorstudio.ml.color import lab_to_planes, lab_to_srgb_nchw, rgb_to_lab, srgb_to_lab_nchw

REFERENCE = [
    ((255, 0, 0), (53.2408, 80.0925, 67.2032)),
    ((0, 255, 0), (87.7347, -86.1827, 83.1793)),
    ((0, 0, 255), (32.2970, 79.1875, -107.8602)),
    ((255, 255, 255), (100.0, 0.0, 0.0)),
    ((0, 0, 0), (0.0, 0.0, 0.0)),
    ((128, 128, 128), (53.5850, 0.0, 0.0)),
]


@pytest.mark.parametrize(("rgb", "lab"), REFERENCE)
def test_reference_values_numpy_torch_and_fullres(rgb, lab):
    pixel = np.array([[rgb]], np.uint8)
    assert np.allclose(rgb_to_lab(pixel)[0, 0], lab, atol=0.01)
    assert np.allclose(fullres.rgb_to_lab(pixel)[0, 0], lab, atol=0.01)
    t = torch.tensor(rgb, dtype=torch.float32).view(1, 3, 1, 1) / 255
    assert np.allclose(srgb_to_lab_nchw(t)[0, :, 0, 0].numpy(), lab, atol=0.01)
    assert fullres.lightness(pixel)[0, 0] == pytest.approx(lab[0], abs=0.01)
    assert np.allclose(rgb_to_lab(pixel.astype(np.float32) / 255)[0, 0], lab, atol=0.01)


def test_uint8_round_trip_is_exact(rng):
    rgb = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert np.array_equal(fullres.lab_to_rgb(rgb_to_lab(rgb)), rgb)
    assert np.array_equal(fullres.lab_to_rgb(fullres.rgb_to_lab(rgb)), rgb)
    assert np.array_equal(rgb_to_lab(rgb), fullres.rgb_to_lab(rgb))  # one kernel


def test_torch_round_trip_and_gradients():
    x = torch.rand(2, 3, 8, 8, requires_grad=True)
    back = lab_to_srgb_nchw(srgb_to_lab_nchw(x))
    assert torch.allclose(back, x, atol=1e-4)
    back.sum().backward()
    assert torch.isfinite(x.grad).all()


def test_gamut_fit_keeps_lightness_and_hue():
    lab = np.array([[70.0, 120.0, -90.0], [50.0, 0.0, 0.0], [95.0, -80.0, 90.0]], np.float32)
    lin = lab_to_planes(torch.from_numpy(lab)).numpy()
    assert (lin[:, 0] < 0).any() or (lin[:, 0] > 1).any()  # the first is out of gamut
    out = fullres.lab_to_rgb(lab[None])
    back = rgb_to_lab(out)[0]
    assert np.abs(back[:, 0] - lab[:, 0]).max() < 0.5  # L* kept
    assert np.abs(back[1] - lab[1]).max() < 0.5  # in gamut: untouched (8-bit rounding)
    ratio = back[0, 1:] / lab[0, 1:]
    assert ratio[0] == pytest.approx(ratio[1], abs=0.03) and 0 < ratio[0] < 1  # hue, less chroma


def test_grey_lightness_table_matches_the_formula(rng):
    grey = rng.integers(0, 256, (40, 50), dtype=np.uint8)
    rgb = np.repeat(grey[..., None], 3, axis=2)
    expected = fullres.rgb_to_lab(rgb)[..., 0]
    assert np.abs(fullres.lightness(rgb) - expected).max() < 1e-4
    tinted = rgb.copy()
    tinted[..., 2] //= 2  # not grey: the general path
    assert np.abs(fullres.lightness(tinted) - fullres.rgb_to_lab(tinted)[..., 0]).max() < 1e-4


@pytest.mark.parametrize("rows", [(0, 90), (17, 53), (89, 90)])
def test_resize_rows_is_torchs_bilinear_on_any_band(rows):
    src = torch.rand(2, 13, 21)
    whole = F.interpolate(src[None], size=(90, 140), mode="bilinear", align_corners=False)[0]
    y0, y1 = rows
    band = resample.resize_rows(src.numpy(), 90, 140, y0, y1, 30, 101)
    assert band.shape == (2, y1 - y0, 71) and band.dtype == np.float32
    assert np.abs(band - whole[:, y0:y1, 30:101].numpy()).max() < 1e-5


@pytest.mark.parametrize("shape", [(90, 140), (7, 5), (13, 21), (26, 7)])
def test_numpy_resampling_matches_the_torch_operations_the_networks_learned(shape):
    """area_resize ≡ adaptive_avg_pool2d (overlapping bins and whole ratios), bilinear ≡
    interpolate(bilinear, align_corners=False), box_mean ≡ avg_pool2d without the padding."""
    x = torch.rand(1, 2, 26, 42) * 100
    pooled = F.adaptive_avg_pool2d(x, shape).numpy()
    assert np.abs(resample.area_resize(x.numpy(), shape) - pooled).max() < 1e-4
    up = F.interpolate(x, size=shape, mode="bilinear", align_corners=False).numpy()
    assert np.abs(resample.bilinear(x.numpy(), shape) - up).max() < 1e-3
    boxed = F.avg_pool2d(x, 5, 1, 2, count_include_pad=False).numpy()
    assert np.abs(resample.box_mean(x.numpy(), 2) - boxed).max() < 1e-4
