"""Synthetic photo damage with its ground-truth mask, for training and testing restoration.

Kinds, modelled on what old prints and scans show: film **scratches** (long, thin, mostly
vertical, bright or dark), **cracks** (branching jagged lines in the emulsion), **dust** (small
specks), **spots** (soft stains and foxing, tinted), **folds** (a crease line with a band of
changed brightness) and **torn** corners (paper missing, replaced by the scanner background).
Optionally film grain and JPEG recompression on top, which are *not* damage (not in the mask):
the detector must learn to ignore them.

The mask holds the pixels the damage *visibly* changed (by more than ``VISIBLE`` levels in some
channel): a bright scratch across a white sky or dirt on a black coat leaves the photo as it was,
needs no repair, and no detector could see it — marking it would only teach a detector to guess.

numpy + Pillow + scipy only. Images are H x W x 3 uint8; masks H x W bool (True = damaged).
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

KINDS = ("scratches", "cracks", "dust", "spots", "folds", "torn")
#: smallest change (0..255, largest channel) that makes a pixel count as damaged
VISIBLE = 6.0
#: per-channel gain of a sepia-toned print over its grey value
SEPIA = np.array([1.07, 0.95, 0.74], np.float32)


def toned_print(rgb: np.ndarray, sepia: bool) -> np.ndarray:
    """An old print's look: ``rgb`` (H x W x 3 uint8) made grey, or sepia-toned; same shape."""
    grey = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    tone = SEPIA if sepia else np.ones(3, np.float32)
    return np.clip(grey[..., None] * tone + 0.5, 0, 255).astype(np.uint8)


def _draw_lines(shape, lines, width: int) -> np.ndarray:
    canvas = Image.new("L", (shape[1], shape[0]), 0)
    draw = ImageDraw.Draw(canvas)
    for points in lines:
        draw.line(points, fill=255, width=width, joint="curve")
    return np.asarray(canvas) > 0


def scratches(shape, rng: np.random.Generator, count: int) -> np.ndarray:
    h, w = shape
    lines = []
    for _ in range(count):
        x = rng.uniform(0, w)
        drift = rng.normal(0, 0.08) * h
        y0, y1 = sorted(rng.uniform(0, h, 2)) if rng.random() < 0.5 else (0.0, float(h))
        steps = 12
        points = [
            (
                x + drift * math.sin(math.pi * t / steps) + rng.normal(0, 0.6),
                y0 + (y1 - y0) * t / steps,
            )
            for t in range(steps + 1)
        ]
        lines.append(points)
    return _draw_lines(shape, lines, width=int(rng.integers(1, 3)))


def cracks(shape, rng: np.random.Generator, count: int) -> np.ndarray:
    h, w = shape
    lines = []
    for _ in range(count):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        angle = rng.uniform(0, 2 * math.pi)
        stack = [(x, y, angle, int(rng.integers(20, 60)))]
        while stack:
            x, y, angle, length = stack.pop()
            points = [(x, y)]
            for _ in range(length):
                angle += rng.normal(0, 0.35)
                x, y = x + 2.5 * math.cos(angle), y + 2.5 * math.sin(angle)
                points.append((x, y))
                if rng.random() < 0.03 and len(stack) < 6:
                    stack.append(
                        (x, y, angle + rng.choice([-1, 1]) * rng.uniform(0.5, 1.2), length // 2)
                    )
            lines.append(points)
    return _draw_lines(shape, lines, width=1)


def dust(shape, rng: np.random.Generator, count: int) -> np.ndarray:
    h, w = shape
    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    for _ in range(count):
        x, y, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.6, 2.5)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return np.asarray(canvas) > 0


def spots(shape, rng: np.random.Generator, count: int, scale: float = 1.0) -> np.ndarray:
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    mask = np.zeros(shape, bool)
    for _ in range(count):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        r = rng.uniform(0.02, 0.07) * min(h, w) * scale
        wobble = 1 + 0.12 * np.sin(
            np.arctan2(yy - cy, xx - cx) * rng.integers(2, 4) + rng.uniform(0, 6)
        )
        mask |= np.hypot(yy - cy, xx - cx) < r * wobble
    return mask


def folds(shape, rng: np.random.Generator, count: int) -> np.ndarray:
    h, w = shape
    lines = []
    for _ in range(count):
        if rng.random() < 0.5:
            y = rng.uniform(0.2, 0.8) * h
            lines.append([(0, y + rng.normal(0, 3)), (w, y + rng.normal(0, 3))])
        else:
            x = rng.uniform(0.2, 0.8) * w
            lines.append([(x + rng.normal(0, 3), 0), (x + rng.normal(0, 3), h)])
    return _draw_lines(shape, lines, width=int(rng.integers(2, 5)))


def torn(shape, rng: np.random.Generator, count: int, scale: float = 1.0) -> np.ndarray:
    h, w = shape
    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    corners = [(0, 0), (w, 0), (w, h), (0, h)]
    for index in rng.choice(4, size=min(count, 4), replace=False):
        cx, cy = corners[index]
        size = rng.uniform(0.06, 0.18) * min(h, w) * scale
        sx, sy = (1 if cx == 0 else -1), (1 if cy == 0 else -1)
        edge = [
            (
                cx + sx * size * t + rng.normal(0, size * 0.05),
                cy + sy * size * (1 - t) + rng.normal(0, size * 0.05),
            )
            for t in np.linspace(0, 1, 9)
        ]
        draw.polygon([(cx, cy), *edge], fill=255)
    return np.asarray(canvas) > 0


def brush_strokes(shape, rng: np.random.Generator, count: int) -> np.ndarray:
    """Free-form holes like a user's mask brush (DeepFill v2's training masks): a few random
    walks drawn with a round brush 4–14 % of the short side wide. Not damage; used to train the
    inpainter on the masks people paint by hand."""
    h, w = shape
    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    short = min(h, w)
    for _ in range(count):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        width = max(2, int(rng.uniform(0.04, 0.14) * short))
        points = [(x, y)]
        angle = rng.uniform(0, 2 * math.pi)
        for _ in range(int(rng.integers(2, 6))):
            angle += rng.normal(0, 1.0)
            length = rng.uniform(0.1, 0.35) * short
            x = float(np.clip(x + length * math.cos(angle), 0, w))
            y = float(np.clip(y + length * math.sin(angle), 0, h))
            points.append((x, y))
        draw.line(points, fill=255, width=width, joint="curve")
        for px, py in points:
            r = width / 2
            draw.ellipse((px - r, py - r, px + r, py + r), fill=255)
    return np.asarray(canvas) > 0


GENERATORS = {
    "scratches": scratches,
    "cracks": cracks,
    "dust": dust,
    "spots": spots,
    "folds": folds,
    "torn": torn,
}


def synthesize_damage(
    rgb: np.ndarray,
    rng: np.random.Generator,
    kinds: tuple[str, ...] | None = None,
    severity: float = 0.5,
    grain: float = 0.0,
    jpeg_quality: int | None = None,
    region_scale: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Damage ``rgb`` (H x W x 3 uint8). Returns (damaged image, damage mask).

    ``kinds``: a subset of KINDS (default: a random mix). ``severity`` 0..1 scales how much.
    ``grain`` (noise std in 0..255 units) and ``jpeg_quality`` degrade the whole image but are
    not damage, so they are not in the mask. ``region_scale`` enlarges the damage that covers
    areas (stains, torn corners, the band beside a fold) relative to the image: a training crop
    is a small part of a photo, and the damage on it should be as large as on the whole photo.
    """
    h, w = rgb.shape[:2]
    if kinds is None:
        kinds = tuple(k for k in KINDS if rng.random() < 0.55) or (str(rng.choice(KINDS)),)
    scale = max(h, w) / 256
    counts = {
        "scratches": 1 + int(4 * severity * rng.random() + 1),
        "cracks": 1 + int(2 * severity),
        "dust": int((20 + 200 * severity) * scale * rng.uniform(0.5, 1)),
        "spots": 1 + int(3 * severity),
        "folds": 1,
        "torn": 1,
    }
    out = rgb.astype(np.float32)
    mask = np.zeros((h, w), bool)
    for kind in kinds:
        sized = {"scale": region_scale} if kind in ("spots", "torn") else {}
        region = GENERATORS[kind]((h, w), rng, counts[kind], **sized)
        if not region.any():
            continue
        before = out.copy()
        if kind == "spots":  # stains: tinted and softened, yellow-brown or bleached
            tint = np.array([185, 150, 90]) if rng.random() < 0.6 else np.array([245, 240, 230])
            soft = ndimage.gaussian_filter(region.astype(np.float32), 2.0)[..., None] * rng.uniform(
                0.5, 0.85
            )
            out = out * (1 - soft) + tint * soft
            region = soft[..., 0] > 0.15
        elif kind == "torn":
            out[region] = rng.uniform(20, 250)  # the scanner lid or the album page behind
        elif kind == "folds":
            band = ndimage.binary_dilation(region, iterations=int(3 * scale * region_scale) + 2)
            out[band & ~region] *= rng.uniform(0.85, 1.15)
            out[region] = np.clip(out[region] * 0.3 + 200, 0, 255)
        else:
            value = 235.0 if rng.random() < 0.6 else 25.0  # bright (emulsion gone) or dark (dirt)
            alpha = rng.uniform(0.75, 1.0)
            out[region] = out[region] * (1 - alpha) + value * alpha
        mask |= region & (np.abs(out - before).max(axis=2) > VISIBLE)
    if grain > 0:
        out += rng.normal(0, grain, out.shape[:2])[..., None]
    damaged = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    if jpeg_quality is not None:
        buffer = io.BytesIO()
        Image.fromarray(damaged).save(buffer, "JPEG", quality=int(jpeg_quality))
        damaged = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    return damaged, mask
