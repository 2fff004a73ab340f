"""The reference "palette code": a global description of an image's colours.

A soft 2-D histogram of a*b* (``BINS`` x ``BINS`` over ±110, square-rooted so rare colours still
count), plus the Lab mean and standard deviation, plus a presence flag. The colourizer is trained
with codes computed from (jittered) ground truth, so at inference a reference photo's code steers
the palette. A zero code with flag 0 means "no reference".
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

BINS = 8
CODE_DIM = BINS * BINS + 6 + 1


def palette_code(lab: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """(N, 3, H, W) Lab (L 0..100) → (N, CODE_DIM) float32.

    ``weight``: optional (N, 1, H, W) in 0..1 (a reference mask: sample only there).
    """
    n = lab.shape[0]
    lab = lab.float()
    if lab.shape[-1] * lab.shape[-2] > 128 * 128:  # statistics need no more pixels
        lab = F.adaptive_avg_pool2d(lab, (128, 128))
        if weight is not None:
            weight = F.adaptive_avg_pool2d(weight.float(), (128, 128))
    w = torch.ones_like(lab[:, :1]) if weight is None else weight.float()
    w = w.flatten(1)
    total = w.sum(1, keepdim=True).clamp(min=1e-6)
    pixels = lab.flatten(2)  # N, 3, P
    mean = (pixels * w[:, None]).sum(2) / total
    var = ((pixels - mean[..., None]) ** 2 * w[:, None]).sum(2) / total
    std = var.clamp(min=0).sqrt()
    # soft (bilinear) binning of a, b into BINS x BINS cells
    ab = ((pixels[:, 1:] / 110.0).clamp(-1, 1) + 1) / 2 * (BINS - 1)  # 0..BINS-1
    lo = ab.floor().clamp(0, BINS - 2)
    frac = ab - lo
    hist = torch.zeros(n, BINS * BINS, device=lab.device)
    for da in (0, 1):
        wa = frac[:, 0] if da else 1 - frac[:, 0]
        for db in (0, 1):
            wb = frac[:, 1] if db else 1 - frac[:, 1]
            index = ((lo[:, 0] + da) * BINS + (lo[:, 1] + db)).long()
            hist.scatter_add_(1, index, wa * wb * w)
    hist = (hist / total).sqrt()
    mean_scale = torch.tensor([100.0, 110.0, 110.0], device=lab.device)
    std_scale = torch.tensor([50.0, 60.0, 60.0], device=lab.device)
    stats = torch.cat([mean / mean_scale, std / std_scale], dim=1)
    flag = torch.ones(n, 1, device=lab.device)
    return torch.cat([hist, stats, flag], dim=1)


def empty_code(n: int = 1, device: torch.device | str = "cpu") -> torch.Tensor:
    """The code meaning "no reference"."""
    return torch.zeros(n, CODE_DIM, device=device)
