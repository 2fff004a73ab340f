"""What the colourizer "thinks": suggested colours at a point and the provenance of its colours.

Both ask the network the same question under several conditions in one batch: with the user's
hints, without them, and under a fixed set of prototype palettes (eight hues plus neutral).
- Suggestions at (x, y): the distinct colours among those predictions (ΔE00 ≥ 8 apart), the
  prediction with the user's hints first — the colours the model finds likely there.
- Hint influence: |ab(with hints) − ab(without)| / 20, clipped to 0..1 — where the colour
  comes from the user rather than the model's guess. "With hints" is the engine's result (the
  hints' corrections spread by likeness, fused with Levin), not the network's own answer to the
  hints, which the engine mostly replaces.
- Confidence: exp(−std / 15) of the predictions across prototype palettes — where the model
  would answer the same whatever the palette.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from colorstudio.ml.color import AB_SCALE, normalize_l
from colorstudio.ml.metrics import ciede2000
from colorstudio.ml.palette import palette_code

PROTOTYPE_HUES = 8
PROTOTYPE_CHROMA = 45.0


def prototype_codes() -> torch.Tensor:
    """(PROTOTYPE_HUES + 1, CODE_DIM) palette codes: one per hue, plus a muted neutral palette."""
    codes = []
    for i in range(PROTOTYPE_HUES + 1):
        lab = torch.zeros(1, 3, 16, 16)
        lab[:, 0] = torch.linspace(25, 85, 16).view(1, 16, 1)
        if i < PROTOTYPE_HUES:
            angle = 2 * math.pi * i / PROTOTYPE_HUES
            lab[:, 1, :, :12] = PROTOTYPE_CHROMA * math.cos(angle)
            lab[:, 2, :, :12] = PROTOTYPE_CHROMA * math.sin(angle)
        codes.append(palette_code(lab))
    return torch.cat(codes)


def predict_variants(
    model, l_small: torch.Tensor, hints: torch.Tensor, code: torch.Tensor, device
) -> torch.Tensor:
    """(2 + P, 2, h, w) a*b*: [with hints, without hints, prototype palettes without hints...]."""
    protos = prototype_codes()
    codes = torch.cat([code, code, protos]).to(device)
    n = codes.shape[0]
    hint_batch = torch.cat(
        [hints, torch.zeros_like(hints), torch.zeros_like(hints).expand(len(protos), -1, -1, -1)]
    )
    lightness = normalize_l(l_small).to(device).expand(n, -1, -1, -1)
    return model(lightness, hint_batch.to(device), codes).float().cpu() * AB_SCALE


def provenance_maps(
    variants: torch.Tensor, hinted: torch.Tensor | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(hint influence, confidence), each h x w float32 in 0..1. ``hinted`` (1, 2, h, w): the
    colours the hints produced; default: the network's prediction with the hints."""
    with_hints = variants[0] if hinted is None else hinted[0]
    influence = ((with_hints - variants[1]).norm(dim=0) / 20.0).clamp(0, 1)
    spread = variants[2:].std(dim=0).norm(dim=0)
    confidence = torch.exp(-spread / 15.0)
    # Where the user hinted, the hint decides: treat those colours as certain.
    confidence = torch.maximum(confidence, influence)
    return influence.numpy().astype(np.float32), confidence.numpy().astype(np.float32)


def suggestions_at(
    variants: torch.Tensor, lightness: float, y: int, x: int, count: int
) -> list[tuple[int, int, int]]:
    """Distinct sRGB colours predicted at (y, x) of the working grid (3x3 mean), best first."""
    from colorstudio.ml import fullres

    h, w = variants.shape[-2:]
    ys, xs = slice(max(0, y - 1), min(h, y + 2)), slice(max(0, x - 1), min(w, x + 2))
    abs_ = variants[:, :, ys, xs].mean(dim=(2, 3)).numpy()
    lab = np.concatenate([np.full((len(abs_), 1), lightness, np.float32), abs_], 1).astype(
        np.float32
    )
    chosen: list[np.ndarray] = []
    for candidate in lab:
        if all(ciede2000(candidate, other) >= 8.0 for other in chosen):
            chosen.append(candidate)
        if len(chosen) == count:
            break
    rgb = fullres.lab_to_rgb(np.array(chosen, np.float32)[None])[0]
    return [(int(r), int(g), int(b)) for r, g, b in rgb]
