"""Exact sRGB ↔ CIE L*a*b* (D65 white, 2° observer): one implementation for numpy and torch.

Ranges:
- sRGB: float in 0..1 (or uint8 0..255 for the ``*_u8`` helpers).
- L*: 0..100. a*, b*: about -128..127 (sRGB gamut: a in -86..98, b in -108..95).
- Network convention (documented where converted): ``L_norm = L / 50 - 1`` in [-1, 1] and
  ``ab_norm = ab / AB_SCALE`` in about [-1, 1].

Formulas: IEC 61966-2-1 sRGB transfer curve, the sRGB→XYZ matrix for D65 and CIE 1976 L*a*b*.
Each is written once against the array API (:mod:`array_api_compat`), so the app's numpy path
(full-resolution work in bands, :mod:`colorstudio.ml.fullres`) and the trainer's
differentiable torch losses (:func:`srgb_to_lab_nchw`) run the same code; this module never
imports torch itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from array_api_compat import array_namespace

AB_SCALE = 110.0
WHITE_D65 = (0.95047, 1.0, 1.08883)
RGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375],
     [0.2126729, 0.7151522, 0.0721750],
     [0.0193339, 0.1191920, 0.9503041]],
    np.float64,
)  # fmt: skip
XYZ_TO_RGB = np.linalg.inv(RGB_TO_XYZ)
# python floats: numpy scalars would promote float32 arrays to float64 (NEP 50)
_TO_XYZ: list[list[float]] = RGB_TO_XYZ.tolist()
_TO_RGB: list[list[float]] = XYZ_TO_RGB.tolist()
_EPS = (6.0 / 29.0) ** 3
_KAPPA = 1.0 / (3.0 * (6.0 / 29.0) ** 2)

# uint8 sRGB code value → linear light, exact to float32.
_codes = np.arange(256, dtype=np.float64) / 255.0
SRGB_U8_TO_LINEAR = np.where(
    _codes <= 0.04045, _codes / 12.92, ((_codes + 0.055) / 1.055) ** 2.4
).astype(np.float32)

Array = Any  #: a numpy array or a torch tensor (the array API's common part)


# ----------------------------------------------------------------------------- the kernel
# On channel planes (3, ...): banded full-resolution work, the numpy front end (rgb_to_lab)
# and the trainer's NCHW form (srgb_to_lab_nchw) all run these.
def f_lab(t: Array) -> Array:
    """CIE's f(t) of XYZ / white (cube root above ``(6/29)^3``, linear below)."""
    xp = array_namespace(t)
    return xp.where(t > _EPS, xp.clip(t, min=_EPS) ** (1.0 / 3.0), t * _KAPPA + 4.0 / 29.0)


def f_lab_inv(t: Array) -> Array:
    """The inverse of :func:`f_lab`."""
    xp = array_namespace(t)
    return xp.where(t > 6.0 / 29.0, t * t * t, (t - 4.0 / 29.0) / _KAPPA)


def planes_to_lab(lin: Array) -> Array:
    """(3, ...) linear RGB → (..., 3) Lab."""
    xp = array_namespace(lin)
    m = _TO_XYZ
    r, g, b = lin[0, ...], lin[1, ...], lin[2, ...]
    fx = f_lab((m[0][0] * r + m[0][1] * g + m[0][2] * b) / WHITE_D65[0])
    fy = f_lab(m[1][0] * r + m[1][1] * g + m[1][2] * b)
    fz = f_lab((m[2][0] * r + m[2][1] * g + m[2][2] * b) / WHITE_D65[2])
    return xp.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], axis=-1)


def lab_to_planes(lab: Array) -> Array:
    """(..., 3) Lab → (3, ...) linear RGB (unclipped: out of gamut falls outside 0..1)."""
    xp = array_namespace(lab)
    fy = (lab[..., 0] + 16.0) / 116.0
    x = f_lab_inv(fy + lab[..., 1] / 500.0) * WHITE_D65[0]
    y = f_lab_inv(fy)
    z = f_lab_inv(fy - lab[..., 2] / 200.0) * WHITE_D65[2]
    m = _TO_RGB
    return xp.stack([m[i][0] * x + m[i][1] * y + m[i][2] * z for i in range(3)])


def srgb_decode(c: Array) -> Array:
    """sRGB 0..1 → linear light (IEC 61966-2-1), any shape, differentiable."""
    xp = array_namespace(c)
    return xp.where(c <= 0.04045, c / 12.92, ((xp.clip(c, min=0.04045) + 0.055) / 1.055) ** 2.4)


def srgb_encode(lin: Array) -> Array:
    """Linear light 0..1 → sRGB 0..1, any shape, differentiable."""
    xp = array_namespace(lin)
    gamma = 1.055 * xp.clip(lin, min=0.0031308) ** (1.0 / 2.4) - 0.055
    return xp.where(lin <= 0.0031308, lin * 12.92, gamma)


# ----------------------------------------------------------------------------- front ends
def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) sRGB, uint8 0..255 or float 0..1 → float32 Lab (small arrays; full-resolution
    images go through :func:`colorstudio.ml.fullres.rgb_to_lab`, in bands)."""
    if rgb.dtype == np.uint8:
        lin = SRGB_U8_TO_LINEAR[rgb]
    else:
        lin = srgb_decode(np.asarray(rgb, np.float32))
    return planes_to_lab(np.moveaxis(lin, -1, 0)).astype(np.float32, copy=False)


def srgb_to_lab_nchw(rgb: Array) -> Array:
    """(N, 3, H, W) sRGB in 0..1 → (N, 3, H, W) Lab (differentiable on torch tensors)."""
    xp = array_namespace(rgb)
    lab = planes_to_lab(xp.moveaxis(srgb_decode(rgb), 1, 0))
    return xp.moveaxis(lab, -1, 1)


def lab_to_srgb_nchw(lab: Array) -> Array:
    """(N, 3, H, W) Lab → (N, 3, H, W) sRGB clamped to 0..1 (differentiable on torch tensors)."""
    xp = array_namespace(lab)
    lin = xp.moveaxis(lab_to_planes(xp.moveaxis(lab, 1, -1)), 0, 1)
    return srgb_encode(xp.clip(lin, min=0.0, max=1.0))


def normalize_l(lightness):
    """L* 0..100 → network input in [-1, 1]."""
    return lightness / 50.0 - 1.0


def normalize_ab(ab):
    """a*, b* → network range (about [-1, 1])."""
    return ab / AB_SCALE
