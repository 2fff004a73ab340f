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

from colorstudio.ml.color import AB_SCALE, normalize_l
from colorstudio.ml.metrics import ciede2000
from colorstudio.ml.palette import palette_code

PROTOTYPE_HUES = 8
PROTOTYPE_CHROMA = 45.0


def prototype_codes() -> np.ndarray:
    """(PROTOTYPE_HUES + 1, CODE_DIM) float32 palette codes: one per hue, plus a muted neutral
    palette."""
    lab = np.zeros((PROTOTYPE_HUES + 1, 3, 16, 16), np.float32)
    lab[:, 0] = np.linspace(25, 85, 16, dtype=np.float32)[:, None]
    for i in range(PROTOTYPE_HUES):
        angle = 2 * math.pi * i / PROTOTYPE_HUES
        lab[i, 1, :, :12] = PROTOTYPE_CHROMA * math.cos(angle)
        lab[i, 2, :, :12] = PROTOTYPE_CHROMA * math.sin(angle)
    return palette_code(lab)


def variant_inputs(l_small: np.ndarray, hints: np.ndarray, code: np.ndarray) -> dict:
    """The colourizer's inputs (``l``, ``hints``, ``code``) for the batch of
    :func:`predict_variants`: [with hints, without hints, each prototype palette without
    hints]. ``l_small`` (1, 1, h, w) L*, ``hints`` (1, 3, h, w) as the network takes them,
    ``code`` (1, CODE_DIM)."""
    protos = prototype_codes()
    codes = np.concatenate([code, code, protos]).astype(np.float32)
    n = len(codes)
    hint_batch = np.zeros((n, *hints.shape[1:]), np.float32)
    hint_batch[0] = hints[0]
    lightness = np.broadcast_to(normalize_l(l_small), (n, *l_small.shape[1:]))
    return {"l": lightness, "hints": hint_batch, "code": codes}


def predict_variants(run, l_small: np.ndarray, hints: np.ndarray, code: np.ndarray) -> np.ndarray:
    """(2 + P, 2, h, w) float32 a*b*: [with hints, without hints, prototype palettes without
    hints...]. ``run(**inputs)``: the colourizer's ``ab`` output for its inputs."""
    return run(**variant_inputs(l_small, hints, code)) * AB_SCALE


def provenance_maps(
    variants: np.ndarray, hinted: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(hint influence, confidence), each h x w float32 in 0..1. ``hinted`` (1, 2, h, w): the
    colours the hints produced; default: the network's prediction with the hints."""
    with_hints = variants[0] if hinted is None else hinted[0]
    influence = np.clip(np.linalg.norm(with_hints - variants[1], axis=0) / 20.0, 0, 1)
    spread = np.linalg.norm(variants[2:].std(axis=0, ddof=1), axis=0)
    confidence = np.exp(-spread / 15.0)
    # Where the user hinted, the hint decides: treat those colours as certain.
    confidence = np.maximum(confidence, influence)
    return influence.astype(np.float32), confidence.astype(np.float32)


def suggestions_at(
    variants: np.ndarray, lightness: float, y: int, x: int, count: int
) -> list[tuple[int, int, int]]:
    """Distinct sRGB colours predicted at (y, x) of the working grid (3x3 mean), best first."""
    from colorstudio.ml import fullres

    h, w = variants.shape[-2:]
    ys, xs = slice(max(0, y - 1), min(h, y + 2)), slice(max(0, x - 1), min(w, x + 2))
    abs_ = variants[:, :, ys, xs].mean(axis=(2, 3))
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
