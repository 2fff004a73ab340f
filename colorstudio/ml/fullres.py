"""Full-resolution pixel work in torch, in row bands so 24 MP never needs gigabytes at once.

- :func:`rgb_to_lab` / :func:`lab_to_rgb` — exact sRGB ↔ Lab; Lab → RGB fits out-of-gamut colours
  by reducing chroma only, so L* survives (within 8-bit rounding).
- :func:`resize_rows` — separable bilinear resampling of a band of an upscaled image.
- :func:`guided_upsample` — the fast guided filter (He et al. 2015) fitted at low resolution and
  applied at full resolution: chroma edges snap to the full-resolution lightness edges.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from colorstudio.ml.color import RGB_TO_XYZ, SRGB_U8_TO_LINEAR, WHITE_D65, XYZ_TO_RGB

BAND_PIXELS = 1 << 22  # ~4 M pixels per band
_EPS = (6.0 / 29.0) ** 3
_KAPPA = 1.0 / (3.0 * (6.0 / 29.0) ** 2)
_M = torch.from_numpy(RGB_TO_XYZ.astype(np.float32))
_M_INV = torch.from_numpy(XYZ_TO_RGB.astype(np.float32))
_WHITE = torch.tensor(WHITE_D65, dtype=torch.float32)
_LUT = torch.from_numpy(SRGB_U8_TO_LINEAR)


def bands(height: int, width: int) -> Iterator[tuple[int, int]]:
    rows = max(1, BAND_PIXELS // max(width, 1))
    for y0 in range(0, height, rows):
        yield y0, min(height, y0 + rows)


def _f(t: torch.Tensor) -> torch.Tensor:
    return torch.where(t > _EPS, t.clamp(min=_EPS).pow(1.0 / 3.0), t * _KAPPA + 4.0 / 29.0)


def _f_inv(t: torch.Tensor) -> torch.Tensor:
    return torch.where(t > 6.0 / 29.0, t**3, (t - 4.0 / 29.0) / _KAPPA)


def _linear_to_lab(lin: torch.Tensor) -> torch.Tensor:
    xyz = (lin @ _M.T) / _WHITE
    f = _f(xyz)
    return torch.stack(
        [
            116.0 * f[..., 1] - 16.0,
            500.0 * (f[..., 0] - f[..., 1]),
            200.0 * (f[..., 1] - f[..., 2]),
        ],
        -1,
    )


def _lab_to_linear(lab: torch.Tensor) -> torch.Tensor:
    fy = (lab[..., 0] + 16.0) / 116.0
    f = torch.stack([fy + lab[..., 1] / 500.0, fy, fy - lab[..., 2] / 200.0], -1)
    return (_f_inv(f) * _WHITE) @ _M_INV.T


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """H x W x 3 uint8 sRGB → H x W x 3 float32 Lab."""
    h, w = rgb.shape[:2]
    out = np.empty((h, w, 3), np.float32)
    for y0, y1 in bands(h, w):
        band = torch.from_numpy(np.array(rgb[y0:y1, :, :3]))  # a writable copy of the band
        out[y0:y1] = _linear_to_lab(_LUT[band.long()]).numpy()
    return out


def _fit_gamut(lab: torch.Tensor, iterations: int = 8) -> torch.Tensor:
    """Scale ab of out-of-gamut colours (…, 3) until inside sRGB; L* untouched."""
    lin = _lab_to_linear(lab)
    outside = ((lin < -1e-5) | (lin > 1 + 1e-5)).any(-1)
    if not bool(outside.any()):
        return lab
    sub = lab[outside]
    lo = torch.zeros(sub.shape[0])
    hi = torch.ones(sub.shape[0])
    for _ in range(iterations):
        mid = (lo + hi) / 2
        trial = torch.cat([sub[:, :1], sub[:, 1:] * mid[:, None]], 1)
        t = _lab_to_linear(trial)
        ok = ((t >= -1e-5) & (t <= 1 + 1e-5)).all(-1)
        lo = torch.where(ok, mid, lo)
        hi = torch.where(ok, hi, mid)
    lab = lab.clone()
    lab[outside] = torch.cat([sub[:, :1], sub[:, 1:] * lo[:, None]], 1)
    return lab


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """H x W x 3 float32 Lab → H x W x 3 uint8 sRGB (chroma fitted into the gamut)."""
    h, w = lab.shape[:2]
    out = np.empty((h, w, 3), np.uint8)
    for y0, y1 in bands(h, w):
        lin = _lab_to_linear(_fit_gamut(torch.from_numpy(np.ascontiguousarray(lab[y0:y1])))).clamp(
            0, 1
        )
        srgb = torch.where(
            lin <= 0.0031308, lin * 12.92, 1.055 * lin.clamp(min=0.0031308) ** (1 / 2.4) - 0.055
        )
        out[y0:y1] = (srgb * 255.0 + 0.5).clamp(0, 255).to(torch.uint8).numpy()
    return out


def _axis_weights(src: int, dst: int, start: int, stop: int):
    """Bilinear sample positions (align_corners=False) for output indices start..stop-1."""
    pos = (torch.arange(start, stop, dtype=torch.float32) + 0.5) * (src / dst) - 0.5
    pos = pos.clamp(0, src - 1)
    i0 = pos.floor().long()
    i1 = (i0 + 1).clamp(max=src - 1)
    return i0, i1, (pos - i0.float())


def resize_rows(src: torch.Tensor, height: int, width: int, y0: int, y1: int) -> torch.Tensor:
    """Rows y0..y1 of ``src`` (C, h, w) bilinearly resized to (C, height, width)."""
    _, h, w = src.shape
    r0, r1, wy = _axis_weights(h, height, y0, y1)
    c0, c1, wx = _axis_weights(w, width, 0, width)
    top = src[:, r0]
    bottom = src[:, r1]
    rows = top + (bottom - top) * wy[None, :, None]
    return rows[:, :, c0] + (rows[:, :, c1] - rows[:, :, c0]) * wx[None, None, :]


def box(x: torch.Tensor, radius: int) -> torch.Tensor:
    return F.avg_pool2d(x, 2 * radius + 1, 1, radius, count_include_pad=False)


def guided_coefficients(guide: torch.Tensor, src: torch.Tensor, radius: int, eps: float):
    """Guided filter at low resolution: ``src ≈ a * guide + b`` locally.

    guide (1, 1, h, w) in 0..1, src (1, C, h, w). Returns (a, b), each (C, h, w), box-smoothed.
    """
    mean_i = box(guide, radius)
    mean_p = box(src, radius)
    cov = box(guide * src, radius) - mean_i * mean_p
    var = box(guide * guide, radius) - mean_i * mean_i
    a = cov / (var + eps)
    b = mean_p - a * mean_i
    return box(a, radius)[0], box(b, radius)[0]


def guided_upsample(
    guide_small: torch.Tensor,
    src_small: torch.Tensor,
    guide_full: np.ndarray,
    radius: int = 2,
    eps: float = 1e-3,
) -> np.ndarray:
    """Upsample ``src_small`` (1, C, h, w) to the size of ``guide_full`` (H x W float32, 0..1)
    following its edges. Returns H x W x C float32."""
    a, b = guided_coefficients(guide_small, src_small, radius, eps)
    height, width = guide_full.shape
    out = np.empty((height, width, src_small.shape[1]), np.float32)
    for y0, y1 in bands(height, width):
        guide = torch.from_numpy(np.array(guide_full[y0:y1], np.float32))[None]
        q = resize_rows(a, height, width, y0, y1) * guide + resize_rows(b, height, width, y0, y1)
        out[y0:y1] = q.permute(1, 2, 0).numpy()
    return out


def resize_image(rgb: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(1, C, h, w) → (1, C, height, width), antialiased when shrinking."""
    if rgb.shape[-2:] == (height, width):
        return rgb
    shrink = height < rgb.shape[-2] or width < rgb.shape[-1]
    return F.interpolate(
        rgb, size=(height, width), mode="bilinear", antialias=shrink, align_corners=False
    )
