"""Classical engines: the baselines the GAN must beat and the fallback without a trained model.

- Levin, Lischinski & Weiss 2004, "Colorization using Optimization": each unknown pixel's colour
  is the luminance-weighted mean of its 3x3 neighbours, scribbled pixels are fixed; one sparse
  linear system per chroma channel. Exact for flat regions: a region of constant L with one
  scribble takes exactly that scribble's colour.
- Reinhard et al. 2001, colour transfer: match the Lab mean and standard deviation of a palette
  reference (here on a*, b* only, so the photo's lightness is kept).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import splu

_OFFSETS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]


def levin_colorize(
    lightness: np.ndarray, hint_ab: np.ndarray, hint_mask: np.ndarray, screening: float = 0.0
) -> np.ndarray:
    """Propagate scribbles.

    lightness: H x W float32 L* (0..100); hint_ab: H x W x C float32 (a*, b*; or any C channels
    propagated together — one matrix factorisation serves them all); hint_mask: H x W bool (True
    where scribbled). Returns H x W x C float32.

    ``screening`` > 0 adds a pull towards 0 at every free pixel (a screened Poisson variant), so
    values fade with distance from the scribbles, over about 1 / sqrt(screening) pixels — used to
    spread the user's *corrections* to a network prediction without shifting the whole image.
    """
    h, w = lightness.shape
    n = h * w
    channels = hint_ab.shape[-1]
    if not hint_mask.any():
        return np.zeros((h, w, channels), np.float32)
    y = lightness.astype(np.float64) / 100.0
    padded = np.pad(y, 1, mode="edge")
    window = np.stack(
        [padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] for dy, dx in [*_OFFSETS, (0, 0)]]
    )
    # As the authors' getColorExact: csig = 0.6 * local variance, at least enough for the most
    # similar neighbour to keep weight 0.01, and at least 2e-6; w = exp(-d^2 / csig).
    neighbours = window[:-1]
    nearest = ((neighbours - y[None]) ** 2).min(axis=0)
    csig = np.maximum(np.maximum(window.var(axis=0) * 0.6, -nearest / np.log(0.01)), 2e-6)
    index = np.arange(n).reshape(h, w)
    rows, cols, vals = [], [], []
    weights = []
    valid_masks = []
    for dy, dx in _OFFSETS:
        valid = np.zeros((h, w), bool)
        valid[max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)] = True
        neighbour = np.roll(np.roll(y, -dy, axis=0), -dx, axis=1)
        wgt = np.exp(-((y - neighbour) ** 2) / csig) * valid
        weights.append(wgt)
        valid_masks.append(valid)
    total = np.maximum(np.sum(weights, axis=0), 1e-12)
    free = ~hint_mask
    for (dy, dx), wgt, valid in zip(_OFFSETS, weights, valid_masks, strict=True):
        sel = valid & free
        r = index[sel]
        s = index[
            np.clip(np.arange(h)[:, None] + dy, 0, h - 1),
            np.clip(np.arange(w)[None, :] + dx, 0, w - 1),
        ][sel]
        rows.append(r)
        cols.append(s)
        vals.append(-(wgt / total)[sel])
    rows.append(np.arange(n))
    cols.append(np.arange(n))
    vals.append(np.where(free.ravel(), 1.0 + screening, 1.0))
    matrix = sparse.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )
    # The matrix is an M-matrix (unit diagonal, non-positive neighbours summing to at most 1,
    # every scribble row an identity row) with a symmetric pattern: LU needs no pivoting, and
    # minimum-degree ordering on A + Aᵀ halves the factorisation time against the default.
    lu = splu(
        matrix,
        permc_spec="MMD_AT_PLUS_A",
        diag_pivot_thresh=0.0,
        options={"SymmetricMode": True},
    )
    b = np.where(hint_mask[..., None], hint_ab, 0.0).reshape(n, channels)
    return lu.solve(b).reshape(h, w, channels).astype(np.float32)


def reinhard_ab(
    lab: np.ndarray, reference_lab: np.ndarray, reference_mask: np.ndarray | None = None
) -> np.ndarray:
    """Move the image's a*, b* statistics to the reference's.

    lab: H x W x 3 float32; reference_lab: h x w x 3 float32; reference_mask: h x w weights 0..1.
    Returns H x W x 2 float32. A grey image (no chroma spread) receives the reference's mean tint.
    """
    ref = reference_lab[..., 1:].reshape(-1, 2).astype(np.float64)
    if reference_mask is not None:
        wgt = reference_mask.reshape(-1).astype(np.float64)
        if wgt.sum() <= 0:
            wgt = np.ones_like(wgt)
    else:
        wgt = np.ones(len(ref))
    wgt = wgt / wgt.sum()
    ref_mean = (ref * wgt[:, None]).sum(0)
    ref_std = np.sqrt((((ref - ref_mean) ** 2) * wgt[:, None]).sum(0))
    ab = lab[..., 1:].astype(np.float64)
    mean = ab.reshape(-1, 2).mean(0)
    std = ab.reshape(-1, 2).std(0)
    scale = np.where(std > 1.0, ref_std / np.maximum(std, 1e-6), 0.0)
    return ((ab - mean) * scale + ref_mean).astype(np.float32)
