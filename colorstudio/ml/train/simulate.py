"""Simulated user input for training (Zhang et al. 2017 and our extensions).

- Hint points: count ~ geometric(p = 1/8) - 1, patch sizes 1..9 px, colour = the patch's mean ab,
  positions half centre-biased Gaussian, half uniform.
- Free strokes: short polylines painted with one colour, only where the ground truth's colour is
  nearly constant (as a user would paint "this area is blue").
- Local-edit masks: everything outside a random blob is given as dense hints (the known
  colours), so the network learns to recolour a region consistently with its surroundings.
- References: none, another crop of the same photo, or another photo whose palette the target is
  moved towards (Reinhard transfer of a*b*), so the palette code is learned rather than ignored.
- Strokes on objects (:func:`object_strokes`): what users paint and what ``eval colorize``'s
  stroke protocols measure — strokes inside regions of one colour, in the region's own colour
  or with its hue turned, and then the *target* recoloured too, so that the network learns
  how far a stroke reaches: over its object, and nowhere else.

All tensors: ab in Lab units (about ±110), (N, 2, H, W); hints (N, 3, H, W) = (ab/110, mask).
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn.functional as F

from colorstudio.ml import fullres
from colorstudio.ml.color import AB_SCALE
from colorstudio.ml.strokes import PROTOCOLS, stroke_case


def _paint_patch(hints, ab, y, x, size):
    h, w = ab.shape[-2:]
    y0, x0 = max(0, y - size // 2), max(0, x - size // 2)
    y1, x1 = min(h, y0 + size), min(w, x0 + size)
    color = ab[:, y0:y1, x0:x1].mean(dim=(1, 2))
    hints[:2, y0:y1, x0:x1] = (color / AB_SCALE)[:, None, None]
    hints[2, y0:y1, x0:x1] = 1.0


def _stroke_mask(h, w, rng: np.random.Generator) -> torch.Tensor:
    width = int(rng.integers(2, 7))
    points = [(rng.uniform(0, w), rng.uniform(0, h))]
    for _ in range(int(rng.integers(1, 4))):
        angle, length = rng.uniform(0, 2 * np.pi), rng.uniform(8, 0.3 * w)
        px, py = points[-1]
        points.append((float(np.clip(px + length * np.cos(angle), 0, w - 1)),
                       float(np.clip(py + length * np.sin(angle), 0, h - 1))))  # fmt: skip
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    mask = torch.zeros(h, w, dtype=torch.bool)
    for (ax, ay), (bx, by) in itertools.pairwise(points):
        dx, dy = bx - ax, by - ay
        t = (((xx - ax) * dx + (yy - ay) * dy) / max(dx * dx + dy * dy, 1e-6)).clamp(0, 1)
        dist = ((xx - ax - t * dx) ** 2 + (yy - ay - t * dy) ** 2).sqrt()
        mask |= dist <= width / 2
    return mask


def _blob_mask(h, w, rng: np.random.Generator) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    mask = torch.zeros(h, w, dtype=torch.bool)
    for _ in range(int(rng.integers(1, 4))):
        cy, cx = rng.uniform(-0.6, 0.6, 2)
        ry, rx = rng.uniform(0.15, 0.5, 2)
        mask |= ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
    return mask


def simulate_hints(
    ab: torch.Tensor,
    rng: np.random.Generator,
    p_points: float = 1 / 8,
    p_stroke: float = 0.3,
    p_local_edit: float = 0.15,
    p_reveal_all: float = 0.01,
) -> torch.Tensor:
    """(N, 2, H, W) ground-truth ab → (N, 3, H, W) simulated hints."""
    n, _, h, w = ab.shape
    hints = torch.zeros(n, 3, h, w)
    for i in range(n):
        if rng.random() < p_reveal_all:
            hints[i, :2], hints[i, 2] = ab[i] / AB_SCALE, 1.0
            continue
        if rng.random() < p_local_edit:
            known = ~_blob_mask(h, w, rng)
            hints[i, :2] = torch.where(known, ab[i] / AB_SCALE, 0.0)
            hints[i, 2] = known.float()
        for _ in range(int(rng.geometric(p_points)) - 1):
            size = int(rng.integers(1, 10))
            if rng.random() < 0.5:
                y, x = (
                    int(np.clip(rng.normal(h / 2, h / 4), 0, h - 1)),
                    int(np.clip(rng.normal(w / 2, w / 4), 0, w - 1)),
                )
            else:
                y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
            _paint_patch(hints[i], ab[i], y, x, size)
        if rng.random() < p_stroke:
            for _ in range(int(rng.integers(1, 3))):
                mask = _stroke_mask(h, w, rng)
                if mask.sum() < 4:
                    continue
                colors = ab[i][:, mask]
                if colors.std(dim=1).max() > 8.0:  # a user paints one colour on one colour
                    continue
                hints[i, :2][:, mask] = (colors.mean(dim=1) / AB_SCALE)[:, None]
                hints[i, 2][mask] = 1.0
    return hints


def reinhard_ab(ab: torch.Tensor, ref_ab: torch.Tensor, strength: float = 1.0) -> torch.Tensor:
    """Move ``ab`` (2, H, W) towards the mean/std of ``ref_ab`` (2, h, w)."""
    mu, sd = ab.mean(dim=(1, 2), keepdim=True), ab.std(dim=(1, 2), keepdim=True) + 1e-3
    rmu, rsd = ref_ab.mean(dim=(1, 2), keepdim=True), ref_ab.std(dim=(1, 2), keepdim=True) + 1e-3
    moved = (ab - mu) / sd * rsd + rmu
    return (ab + strength * (moved - ab)).clamp(-AB_SCALE, AB_SCALE)


def downsample_hints(hints: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Area-downsample hints keeping point colours exact (the engine uses the same rule)."""
    ab, mask = hints[:, :2], hints[:, 2:3]
    m = F.adaptive_avg_pool2d(mask, size)
    a = F.adaptive_avg_pool2d(ab * mask, size) / m.clamp(min=1e-6)
    return torch.cat([a * (m > 0), (m > 0).float()], dim=1)


def probe_points(
    ab: torch.Tensor, rng: np.random.Generator, fewest: int = 2, most: int = 30
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Hint points the trainer's correction loss asks for *after* the prediction (they are not
    the network's input): per image a count drawn log-uniformly in ``fewest``..``most``, uniform
    positions, colour = the ground truth's mean over a 1–3 px patch (what the engine's working
    size makes of a user's dab). Returns positions (N, K, 2) long (y, x), colours (N, K, 2) in Lab
    units and a validity mask (N, K) bool, K = ``most``."""
    n, _, h, w = ab.shape
    positions = torch.zeros(n, most, 2, dtype=torch.long)
    colors = torch.zeros(n, most, 2)
    valid = torch.zeros(n, most, dtype=torch.bool)
    for i in range(n):
        count = int(np.exp(rng.uniform(np.log(fewest), np.log(most + 1))))
        count = min(most, max(fewest, count))
        for k in range(count):
            y, x, size = int(rng.integers(0, h)), int(rng.integers(0, w)), int(rng.integers(1, 4))
            y0, x0 = max(0, y - size // 2), max(0, x - size // 2)
            colors[i, k] = ab[i, :, y0 : y0 + size, x0 : x0 + size].mean(dim=(1, 2))
            positions[i, k] = torch.tensor([y, x])
            valid[i, k] = True
    return positions, colors, valid


#: the regions strokes are painted in weigh L* this much against a*b* (the evaluation's:
#: 0.5): objects are told apart by hue and chroma more than by shading, which at 0.5 splits a
#: lit object into bands of lightness, and a stroke that reached one band would teach the
#: network to stop at the next (measured on training photos: at 0.2 an animal in grass is
#: one region, at 0.5 three to five)
OBJECT_LIGHTNESS_WEIGHT = 0.2


def object_strokes(
    rgb: torch.Tensor, ab: torch.Tensor, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """A user's strokes on objects of one crop, as hints, and the target they ask for.

    ``rgb`` (3, H, W) sRGB float 0..1 (the ground truth); ``ab`` (2, H, W) its a*b* in Lab
    units. One or two colour regions (shading weighed less than in the evaluation:
    OBJECT_LIGHTNESS_WEIGHT) get one to three mouse-like strokes
    (:func:`colorstudio.ml.strokes.stroke_case`), in the region's own colour ("true", half the
    time) or with its hue turned by 90–180° ("new"). For new colours the target's stroked
    regions take the strokes' colour, their own variation around their mean (the shading)
    turned by the same angle; nothing else changes. Returns (hints (3, H, W) as
    :func:`simulate_hints`'s, target a*b* (2, H, W)), or None when the crop has no region
    that suits (too flat or, for new colours, too grey)."""
    image = (rgb.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    protocol = PROTOCOLS[int(rng.integers(len(PROTOCOLS)))]
    case = stroke_case(image, protocol, int(rng.integers(2**31)), OBJECT_LIGHTNESS_WEIGHT)
    if case is None:
        return None
    painted = torch.from_numpy(case.hints[..., 3] > 0)
    stroke_ab = torch.from_numpy(fullres.rgb_to_lab(case.hints[..., :3])[..., 1:]).permute(2, 0, 1)
    hints = torch.zeros(3, *painted.shape)
    hints[:2] = torch.where(painted, stroke_ab / AB_SCALE, 0.0)
    hints[2] = painted.float()
    target = ab.clone()
    for number in np.unique(case.regions[case.turn != 0]):  # the recoloured regions
        where = case.regions == number
        inside = torch.from_numpy(where)
        angle = torch.tensor(float(case.turn[where][0]))
        own = ab[:, inside]  # (2, pixels)
        d = own - own.mean(1, keepdim=True)  # the region's shading, turned with its hue
        shading = torch.stack([angle.cos() * d[0] - angle.sin() * d[1],
                               angle.sin() * d[0] + angle.cos() * d[1]])  # fmt: skip
        color = torch.from_numpy(case.colors[where][0]).float()[:, None]
        target[:, inside] = color + shading
    return hints, target
