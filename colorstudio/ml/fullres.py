"""Full-resolution pixel work in torch, in row bands so 24 MP never needs gigabytes at once.

- :func:`rgb_to_lab` / :func:`lab_to_rgb` — exact sRGB ↔ Lab (the formulas of
  :mod:`colorstudio.ml.color`, run in bands); Lab → RGB fits out-of-gamut colours by reducing
  chroma only, so L* survives (within 8-bit rounding): the one gamut fit.
- :func:`resize_rows` — separable bilinear resampling of a band of an upscaled image.
- :func:`guided_upsample` — the fast guided filter (He et al. 2015) fitted at low resolution and
  applied at full resolution: chroma edges snap to the full-resolution lightness edges.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from colorstudio.ml.color import (
    RGB_TO_XYZ,
    SRGB_U8_TO_LINEAR,
    WHITE_D65,
    XYZ_TO_RGB,
    lab_to_planes,
    planes_to_lab,
)
from colorstudio.ml.color import f_lab as _f
from colorstudio.ml.color import f_lab_inv as _f_inv

BAND_PIXELS = 1 << 22  # ~4 M pixels per band


def bands(height: int, width: int) -> Iterator[tuple[int, int]]:
    rows = max(1, BAND_PIXELS // max(width, 1))
    for y0 in range(0, height, rows):
        yield y0, min(height, y0 + rows)


def _linear_planes(rgb: np.ndarray) -> torch.Tensor:
    """H x W x 3 uint8 → (3, H, W) linear light (a LUT lookup, no arithmetic)."""
    return torch.from_numpy(SRGB_U8_TO_LINEAR[rgb]).permute(2, 0, 1)


def _linear_to_lab(lin: torch.Tensor) -> torch.Tensor:
    """(..., 3) linear RGB → (..., 3) Lab."""
    return planes_to_lab(lin.movedim(-1, 0))


def _lab_to_linear(lab: torch.Tensor) -> torch.Tensor:
    """(..., 3) Lab → (..., 3) linear RGB."""
    return lab_to_planes(lab).movedim(0, -1)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """H x W x 3 uint8 sRGB → H x W x 3 float32 Lab."""
    h, w = rgb.shape[:2]
    out = np.empty((h, w, 3), np.float32)
    for y0, y1 in bands(h, w):
        out[y0:y1] = planes_to_lab(_linear_planes(rgb[y0:y1, :, :3])).numpy()
    return out


def _lightness_planes(lin: torch.Tensor) -> torch.Tensor:
    m = RGB_TO_XYZ[1]
    return 116.0 * _f(m[0] * lin[0] + m[1] * lin[1] + m[2] * lin[2]) - 16.0


#: L* of the 256 greys, computed by the general formula: a grey photo's L* is a table lookup
_GREY_LIGHTNESS = _lightness_planes(
    torch.from_numpy(np.repeat(SRGB_U8_TO_LINEAR[np.arange(256)][None], 3, 0))
).numpy()


def lightness(rgb: np.ndarray) -> np.ndarray:
    """H x W x 3 uint8 sRGB → H x W float32 L* (a third of the work of :func:`rgb_to_lab`;
    for grey images, the usual input to colourization, a table lookup)."""
    h, w = rgb.shape[:2]
    red = rgb[..., 0]
    if np.array_equal(red, rgb[..., 1]) and np.array_equal(red, rgb[..., 2]):
        return _GREY_LIGHTNESS[red]
    out = np.empty((h, w), np.float32)
    for y0, y1 in bands(h, w):
        out[y0:y1] = _lightness_planes(_linear_planes(rgb[y0:y1, :, :3])).numpy()
    return out


def _in_gamut(lin: torch.Tensor) -> torch.Tensor:
    lo, hi = torch.aminmax(lin, dim=0)
    return (lo >= -1e-5) & (hi <= 1 + 1e-5)


def _fitted_linear(lab: torch.Tensor, iterations: int = 8) -> torch.Tensor:
    """(..., 3) Lab → (3, ...) linear RGB in 0..1, out-of-gamut colours losing chroma (not L*).

    The chroma scale is found by bisection on the out-of-gamut pixels (a third of a typical
    colourization's dark pixels). L*, and with it Y, stays fixed, so only X and Z are
    recomputed per step, on contiguous planes: the same numbers as converting whole Lab
    triples each step, about three times faster."""
    lin = lab_to_planes(lab)
    outside = (~_in_gamut(lin)).reshape(-1).nonzero().squeeze(1)
    if outside.numel():
        sub = lab.reshape(-1, 3).index_select(0, outside)
        fy = (sub[:, 0] + 16.0) / 116.0
        a, b = sub[:, 1].contiguous(), sub[:, 2].contiguous()
        y = _f_inv(fy)
        m = XYZ_TO_RGB

        def planes(scale: torch.Tensor) -> torch.Tensor:
            x = _f_inv(fy + a * scale / 500.0) * WHITE_D65[0]
            z = _f_inv(fy - b * scale / 200.0) * WHITE_D65[2]
            return torch.stack([m[i, 0] * x + m[i, 1] * y + m[i, 2] * z for i in range(3)])

        lo = torch.zeros(sub.shape[0])
        hi = torch.ones(sub.shape[0])
        for _ in range(iterations):
            mid = (lo + hi) / 2
            ok = _in_gamut(planes(mid))
            lo = torch.where(ok, mid, lo)
            hi = torch.where(ok, hi, mid)
        lin.view(3, -1)[:, outside] = planes(lo)
    return lin.clamp_(0.0, 1.0)


def _encode_u8(lin: torch.Tensor) -> torch.Tensor:
    """(3, ...) linear 0..1 → (..., 3) uint8 sRGB, rounded."""
    # in place where possible: half the time of the textbook expression, the same bytes
    gamma = lin.clamp(min=0.0031308).pow_(1 / 2.4).mul_(1.055).sub_(0.055)
    srgb = torch.where(lin <= 0.0031308, lin * 12.92, gamma)
    return srgb.mul_(255.0).add_(0.5).clamp_(0, 255).to(torch.uint8).movedim(0, -1)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """H x W x 3 float32 Lab → H x W x 3 uint8 sRGB (chroma fitted into the gamut)."""
    h, w = lab.shape[:2]
    out = np.empty((h, w, 3), np.uint8)
    for y0, y1 in bands(h, w):
        out[y0:y1] = _encode_u8(_fitted_linear(torch.from_numpy(lab[y0:y1]))).numpy()
    return out


def l_ab_to_rgb(lightness_full: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """H x W L* and H x W x 2 a*b* → H x W x 3 uint8 sRGB, without building a Lab array."""
    h, w = lightness_full.shape
    out = np.empty((h, w, 3), np.uint8)
    for y0, y1 in bands(h, w):
        lab = torch.cat(
            [torch.from_numpy(lightness_full[y0:y1])[..., None], torch.from_numpy(ab[y0:y1])], -1
        )
        out[y0:y1] = _encode_u8(_fitted_linear(lab)).numpy()
    return out


def _axis_weights(src: int, dst: int, start: int, stop: int):
    """Bilinear sample positions (align_corners=False) for output indices start..stop-1."""
    pos = (torch.arange(start, stop, dtype=torch.float32) + 0.5) * (src / dst) - 0.5
    pos = pos.clamp(0, src - 1)
    i0 = pos.floor().long()
    i1 = (i0 + 1).clamp(max=src - 1)
    return i0, i1, (pos - i0.float())


def resize_rows(
    src: torch.Tensor, height: int, width: int, y0: int, y1: int, x0: int = 0, x1: int | None = None
) -> torch.Tensor:
    """Region rows y0..y1, columns x0..x1 of ``src`` (C, h, w) bilinearly resized to
    (C, height, width) — computed without building the whole resized image."""
    h = src.shape[1]
    r0, r1, wy = _axis_weights(h, height, y0, y1)
    top = src[:, r0]
    rows = top + (src[:, r1] - top) * wy[None, :, None]  # (C, y1 - y0, w): cheap, w is small
    # Horizontally, torch's bilinear kernel (the same weights, ~10x faster than gathering);
    # the height is unchanged, so rows pass through exactly.
    wide = F.interpolate(rows[None], size=(y1 - y0, width), mode="bilinear", align_corners=False)
    return wide[0, :, :, x0:x1]


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
    box: tuple[int, int, int, int] | None = None,
) -> np.ndarray:
    """Upsample ``src_small`` (1, C, h, w) to the size of ``guide_full`` (H x W float32, 0..1)
    following its edges. With ``box`` (y0, x0, y1, x1) only that region is computed.
    Returns (box or H x W) x C float32."""
    a, b = guided_coefficients(guide_small, src_small, radius, eps)
    height, width = guide_full.shape
    by0, bx0, by1, bx1 = box if box is not None else (0, 0, height, width)
    out = np.empty((by1 - by0, bx1 - bx0, src_small.shape[1]), np.float32)
    for y0, y1 in bands(by1 - by0, (bx1 - bx0) * 4):
        rows = (by0 + y0, by0 + y1)
        a_band = resize_rows(a, height, width, *rows, bx0, bx1)
        b_band = resize_rows(b, height, width, *rows, bx0, bx1)
        guide = torch.from_numpy(np.array(guide_full[rows[0] : rows[1], bx0:bx1], np.float32))
        out[y0:y1] = torch.addcmul(b_band, a_band, guide[None]).movedim(0, -1).numpy()
    return out


def resize_image(rgb: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(1, C, h, w) → (1, C, height, width), antialiased when shrinking."""
    if rgb.shape[-2:] == (height, width):
        return rgb
    shrink = height < rgb.shape[-2] or width < rgb.shape[-1]
    return F.interpolate(
        rgb, size=(height, width), mode="bilinear", antialias=shrink, align_corners=False
    )
