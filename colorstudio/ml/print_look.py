"""How an old print looks and how it reaches a file: grey or sepia toning, fading, and the scan
(blur, resampling, grain, JPEG, a greyscale scan). None of it is damage; :mod:`damage` draws
the damage over a print made here and passes the result through :func:`scan`.

numpy + Pillow + scipy only. Images are H x W x 3 (uint8 unless stated).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from scipy import ndimage

#: per-channel gain of a sepia-toned print over its grey value
SEPIA = np.array([1.07, 0.95, 0.74], np.float32)


def luma(rgb: np.ndarray) -> np.ndarray:
    """Rec. 601 luma of H x W x 3 (any range): H x W float32."""
    return rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def toned_print(rgb: np.ndarray, sepia: bool) -> np.ndarray:
    """An old print's look: ``rgb`` (H x W x 3 uint8) made grey, or sepia-toned; same shape."""
    grey = luma(rgb)
    tone = SEPIA if sepia else np.ones(3, np.float32)
    return np.clip(grey[..., None] * tone + 0.5, 0, 255).astype(np.uint8)


def faded_print(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A faded, yellowed print: contrast lowered towards a warm paper tone (H x W x 3 uint8)."""
    paper = np.array([236, 226, 200], np.float32) * rng.uniform(0.9, 1.0)
    keep = rng.uniform(0.55, 0.85)
    out = rgb.astype(np.float32) * keep + paper * (1 - keep)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def scan(
    image: np.ndarray,
    rng: np.random.Generator,
    grain: float = 0.0,
    jpeg_quality: int | None = None,
    blur: float = 0.0,
    resample: float = 1.0,
    grey: bool = False,
) -> np.ndarray:
    """What a scanner and a file do to a print, none of it damage: a blur (Gaussian sigma, px),
    a resampling to ``resample`` × the size and back, film grain (noise std in 0..255 units) and
    JPEG; with ``grey`` only the luma is kept (three equal channels). ``image``: H x W x 3
    float32 in 0..255; uint8 of the same shape out."""
    out = np.repeat(luma(image)[..., None], 3, axis=2) if grey else image
    if blur > 0:
        out = ndimage.gaussian_filter(out, (blur, blur, 0))
    if grain > 0:
        noise = ndimage.gaussian_filter(rng.normal(0, 1, out.shape[:2]), 0.5) * 1.8
        out = out + (noise * grain)[..., None]
    result = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    h, w = result.shape[:2]
    if resample < 1:
        small = (max(1, round(w * resample)), max(1, round(h * resample)))
        im = Image.fromarray(result).resize(small, Image.Resampling.BILINEAR)
        result = np.asarray(im.resize((w, h), Image.Resampling.BICUBIC))
    if jpeg_quality is not None:
        buffer = io.BytesIO()
        Image.fromarray(result).save(buffer, "JPEG", quality=int(jpeg_quality))
        result = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    if grey:  # JPEG's chroma rounding leaves the channels a level apart
        result = np.repeat(result[..., 1:2], 3, axis=2)
    return result
