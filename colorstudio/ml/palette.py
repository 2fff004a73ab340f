"""The reference "palette code": a global description of an image's colours.

A soft 2-D histogram of a*b* (``BINS`` x ``BINS`` over ±110, square-rooted so rare colours still
count), plus the Lab mean and standard deviation, plus a presence flag. The colourizer is trained
with codes computed from (jittered) ground truth, so at inference a reference photo's code steers
the palette. A zero code with flag 0 means "no reference".
"""

from __future__ import annotations

import numpy as np

from colorstudio.ml.resample import area_resize

BINS = 8
CODE_DIM = BINS * BINS + 6 + 1
STATISTICS_SIZE = 128  #: larger images are area-averaged to this size first (enough pixels)


def palette_code(lab: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
    """(N, 3, H, W) float32 Lab (L 0..100) → (N, CODE_DIM) float32.

    ``weight``: optional (N, 1, H, W) in 0..1 (a reference mask: sample only there).
    """
    n = lab.shape[0]
    lab = np.asarray(lab, np.float32)
    if lab.shape[-1] * lab.shape[-2] > STATISTICS_SIZE**2:
        lab = area_resize(lab, (STATISTICS_SIZE, STATISTICS_SIZE))
        if weight is not None:
            weight = area_resize(weight, (STATISTICS_SIZE, STATISTICS_SIZE))
    w = np.ones_like(lab[:, :1]) if weight is None else np.asarray(weight, np.float32)
    w = w.reshape(n, -1).astype(np.float64)
    total = np.maximum(w.sum(1, keepdims=True), 1e-6)
    pixels = lab.reshape(n, 3, -1).astype(np.float64)
    mean = (pixels * w[:, None]).sum(2) / total
    var = ((pixels - mean[..., None]) ** 2 * w[:, None]).sum(2) / total
    std = np.sqrt(np.maximum(var, 0))
    # soft (bilinear) binning of a, b into BINS x BINS cells
    ab = (np.clip(pixels[:, 1:] / 110.0, -1, 1) + 1) / 2 * (BINS - 1)  # 0..BINS-1
    lo = np.clip(np.floor(ab), 0, BINS - 2)
    frac = ab - lo
    hist = np.zeros((n, BINS * BINS))
    for da in (0, 1):
        wa = frac[:, 0] if da else 1 - frac[:, 0]
        for db in (0, 1):
            wb = frac[:, 1] if db else 1 - frac[:, 1]
            index = ((lo[:, 0] + da) * BINS + (lo[:, 1] + db)).astype(np.int64)
            for i in range(n):
                hist[i] += np.bincount(index[i], wa[i] * wb[i] * w[i], minlength=BINS * BINS)
    hist = np.sqrt(hist / total)
    stats = np.concatenate([mean / [100.0, 110.0, 110.0], std / [50.0, 60.0, 60.0]], axis=1)
    return np.concatenate([hist, stats, np.ones((n, 1))], axis=1).astype(np.float32)


def empty_code(n: int = 1) -> np.ndarray:
    """(n, CODE_DIM) float32: the code meaning "no reference"."""
    return np.zeros((n, CODE_DIM), np.float32)
