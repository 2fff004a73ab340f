"""Training images held in memory (2 CPU cores cannot afford JPEG decoding every step).

Images are decoded once, shrunk so their short side is ``short_side`` and kept as uint8 arrays;
each sample is a random resized crop with a random flip.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

log = logging.getLogger(__name__)

SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")


def list_images(folders: Sequence[str | Path]) -> list[Path]:
    files: list[Path] = []
    for folder in folders:
        folder = Path(folder)
        if folder.is_file():
            files.append(folder)
            continue
        if not folder.is_dir():
            raise FileNotFoundError(f"training data folder {folder} does not exist")
        files += sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES)
    if not files:
        raise FileNotFoundError(f"no images found in {', '.join(map(str, folders))}")
    return files


def load_rgb(path: Path, short_side: int) -> np.ndarray | None:
    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            scale = short_side / min(im.size)
            if scale < 1:
                size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
                im = im.resize(size, Image.Resampling.BICUBIC, reducing_gap=3.0)
            return np.array(im)
    except (OSError, ValueError) as err:
        log.warning("skipping %s: %s", path, err)
        return None


class ImageBank:
    """Decoded images in memory; ``sample`` returns random crops as float tensors."""

    def __init__(self, files: Sequence[Path], short_side: int = 192, min_side: int = 64) -> None:
        self.files: list[Path] = []
        self.images: list[np.ndarray] = []
        for path in files:
            rgb = load_rgb(path, short_side)
            if rgb is not None and min(rgb.shape[:2]) >= min_side:
                self.files.append(path)
                self.images.append(rgb)
        if not self.images:
            raise ValueError("no usable training images")
        log.info(
            "image bank: %d images, %.0f MB",
            len(self.images),
            sum(i.nbytes for i in self.images) / 1e6,
        )

    def __len__(self) -> int:
        return len(self.images)

    def crop(
        self, index: int, size: int, rng: np.random.Generator, scale=(0.35, 1.0)
    ) -> torch.Tensor:
        """A random resized crop: (3, size, size) sRGB float in 0..1."""
        image = self.images[index]
        h, w = image.shape[:2]
        side = int(min(h, w) * np.sqrt(rng.uniform(*scale)))
        side = max(side, min(h, w, 32))
        y = int(rng.integers(0, h - side + 1))
        x = int(rng.integers(0, w - side + 1))
        patch = torch.from_numpy(np.ascontiguousarray(image[y : y + side, x : x + side]))
        patch = patch.permute(2, 0, 1)[None].float() / 255.0
        if side != size:
            patch = F.interpolate(
                patch, size=(size, size), mode="bilinear", antialias=True, align_corners=False
            )
        if rng.random() < 0.5:
            patch = patch.flip(-1)
        return patch[0].clamp(0, 1)

    def batch(self, indices: Sequence[int], size: int, rng: np.random.Generator) -> torch.Tensor:
        return torch.stack([self.crop(i, size, rng) for i in indices])
