"""Exact sRGB ↔ CIE L*a*b* (D65 white, 2° observer), in numpy and torch.

Ranges:
- sRGB: float in 0..1 (or uint8 0..255 for the ``*_u8`` helpers).
- L*: 0..100. a*, b*: about -128..127 (sRGB gamut: a in -86..98, b in -108..95).
- Network convention (documented where converted): ``L_norm = L / 50 - 1`` in [-1, 1] and
  ``ab_norm = ab / AB_SCALE`` in about [-1, 1].

Formulas: IEC 61966-2-1 sRGB transfer curve, the sRGB→XYZ matrix for D65 and CIE 1976 L*a*b*.
"""

from __future__ import annotations

import numpy as np
import torch

AB_SCALE = 110.0
WHITE_D65 = (0.95047, 1.0, 1.08883)
RGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375],
     [0.2126729, 0.7151522, 0.0721750],
     [0.0193339, 0.1191920, 0.9503041]],
    np.float64,
)  # fmt: skip
XYZ_TO_RGB = np.linalg.inv(RGB_TO_XYZ)
_EPS = (6.0 / 29.0) ** 3
_KAPPA = 1.0 / (3.0 * (6.0 / 29.0) ** 2)

# uint8 sRGB code value → linear light, exact to float32.
_codes = np.arange(256, dtype=np.float64) / 255.0
SRGB_U8_TO_LINEAR = np.where(
    _codes <= 0.04045, _codes / 12.92, ((_codes + 0.055) / 1.055) ** 2.4
).astype(np.float32)


# ----------------------------------------------------------------------------- numpy
def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, np.float32)
    return np.where(c <= 0.04045, c / 12.92, ((np.maximum(c, 0.04045) + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, np.float32)
    return np.where(
        c <= 0.0031308, c * 12.92, 1.055 * np.maximum(c, 0.0031308) ** (1 / 2.4) - 0.055
    )


def _f(t: np.ndarray) -> np.ndarray:
    return np.where(t > _EPS, np.cbrt(np.maximum(t, _EPS)), t * _KAPPA + 4.0 / 29.0)


def _f_inv(t: np.ndarray) -> np.ndarray:
    return np.where(t > 6.0 / 29.0, t**3, (t - 4.0 / 29.0) / _KAPPA)


def linear_to_lab(rgb_linear: np.ndarray) -> np.ndarray:
    """(..., 3) linear RGB → (..., 3) float32 Lab."""
    xyz = rgb_linear.astype(np.float32) @ RGB_TO_XYZ.T.astype(np.float32)
    fx = _f(xyz[..., 0] / WHITE_D65[0])
    fy = _f(xyz[..., 1])
    fz = _f(xyz[..., 2] / WHITE_D65[2])
    return np.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], axis=-1).astype(
        np.float32
    )


def lab_to_linear(lab: np.ndarray) -> np.ndarray:
    """(..., 3) Lab → (..., 3) float32 linear RGB (may fall outside 0..1: out of gamut)."""
    lab = lab.astype(np.float32)
    fy = (lab[..., 0] + 16.0) / 116.0
    fx = fy + lab[..., 1] / 500.0
    fz = fy - lab[..., 2] / 200.0
    xyz = np.stack(
        [_f_inv(fx) * WHITE_D65[0], _f_inv(fy), _f_inv(fz) * WHITE_D65[2]], axis=-1
    ).astype(np.float32)
    return xyz @ XYZ_TO_RGB.T.astype(np.float32)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) sRGB: uint8 0..255 or float 0..1 → float32 Lab."""
    if rgb.dtype == np.uint8:
        return linear_to_lab(SRGB_U8_TO_LINEAR[rgb])
    return linear_to_lab(srgb_to_linear(rgb))


def lightness_u8(rgb: np.ndarray) -> np.ndarray:
    """H x W x 3 uint8 sRGB → H x W float32 L* (0..100); cheaper than a full Lab conversion."""
    lin = SRGB_U8_TO_LINEAR[rgb]
    y = lin @ RGB_TO_XYZ[1].astype(np.float32)
    return (116.0 * _f(y) - 16.0).astype(np.float32)


def fit_chroma_to_gamut(lab: np.ndarray, iterations: int = 10) -> np.ndarray:
    """Scale a*, b* towards 0 (keeping L* and hue) until each colour is inside sRGB.

    (..., 3) float32 Lab → same. Grey of any L* in 0..100 is inside the gamut, so a scale always
    exists; bisection finds it to 2**-iterations. Pixels already inside are returned unchanged.
    """
    lab = lab.astype(np.float32, copy=True)
    lin = lab_to_linear(lab)
    outside = ((lin < -1e-6) | (lin > 1 + 1e-6)).any(axis=-1)
    if not outside.any():
        return lab
    sub = lab[outside]
    lo = np.zeros(len(sub), np.float32)
    hi = np.ones(len(sub), np.float32)
    for _ in range(iterations):
        mid = (lo + hi) / 2
        trial = np.concatenate([sub[:, :1], sub[:, 1:] * mid[:, None]], axis=1)
        lin_t = lab_to_linear(trial)
        ok = ((lin_t >= -1e-6) & (lin_t <= 1 + 1e-6)).all(axis=-1)
        lo = np.where(ok, mid, lo)
        hi = np.where(ok, hi, mid)
    sub[:, 1:] *= lo[:, None]
    lab[outside] = sub
    return lab


def lab_to_rgb_u8(lab: np.ndarray) -> np.ndarray:
    """(..., 3) Lab → uint8 sRGB. Out-of-gamut colours lose chroma, not lightness."""
    lin = lab_to_linear(fit_chroma_to_gamut(lab))
    return np.clip(linear_to_srgb(np.clip(lin, 0.0, 1.0)) * 255.0 + 0.5, 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------- torch
_M_T = torch.from_numpy(RGB_TO_XYZ.astype(np.float32))
_M_INV_T = torch.from_numpy(XYZ_TO_RGB.astype(np.float32))


def torch_srgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) sRGB in 0..1 → (N, 3, H, W) Lab (differentiable)."""
    lin = torch.where(
        rgb <= 0.04045, rgb / 12.92, ((rgb.clamp(min=0.04045) + 0.055) / 1.055) ** 2.4
    )
    xyz = torch.einsum("ij,njhw->nihw", _M_T.to(rgb), lin)
    white = torch.tensor(WHITE_D65, dtype=rgb.dtype, device=rgb.device).view(1, 3, 1, 1)
    t = xyz / white
    f = torch.where(t > _EPS, t.clamp(min=_EPS) ** (1.0 / 3.0), t * _KAPPA + 4.0 / 29.0)
    return torch.stack(
        [116.0 * f[:, 1] - 16.0, 500.0 * (f[:, 0] - f[:, 1]), 200.0 * (f[:, 1] - f[:, 2])], dim=1
    )


def torch_lab_to_srgb(lab: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) Lab → (N, 3, H, W) sRGB clamped to 0..1 (differentiable)."""
    fy = (lab[:, 0] + 16.0) / 116.0
    f = torch.stack([fy + lab[:, 1] / 500.0, fy, fy - lab[:, 2] / 200.0], dim=1)
    t = torch.where(f > 6.0 / 29.0, f**3, (f - 4.0 / 29.0) / _KAPPA)
    white = torch.tensor(WHITE_D65, dtype=lab.dtype, device=lab.device).view(1, 3, 1, 1)
    lin = torch.einsum("ij,njhw->nihw", _M_INV_T.to(lab), t * white).clamp(0.0, 1.0)
    return torch.where(
        lin <= 0.0031308, lin * 12.92, 1.055 * lin.clamp(min=0.0031308) ** (1.0 / 2.4) - 0.055
    )


def normalize_l(lightness):
    """L* 0..100 → network input in [-1, 1]."""
    return lightness / 50.0 - 1.0


def normalize_ab(ab):
    """a*, b* → network range (about [-1, 1])."""
    return ab / AB_SCALE
