"""Training images held in memory (2 CPU cores cannot afford JPEG decoding every step), and
the feed that turns them into batches.

Images are decoded once, shrunk so their short side is ``short_side`` and kept as uint8 arrays;
each sample is a random resized crop with a random flip. :class:`BatchFeed` makes the batches in
the training process or in worker processes.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable, Iterable, Iterator, Sequence
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
            raise FileNotFoundError(f"no folder {folder}")
        files += sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES)
    if not files:
        raise FileNotFoundError(f"no images found in {', '.join(map(str, folders))}")
    return files


def load_rgb(path: Path, short_side: int) -> np.ndarray | None:
    try:
        with Image.open(path) as opened:
            im = opened.convert("RGB")
            scale = short_side / min(im.size)
            if scale < 1:
                size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
                im = im.resize(size, Image.Resampling.BICUBIC, reducing_gap=3.0)
            return np.array(im)
    except (OSError, ValueError) as err:
        log.warning("skipping %s: %s", path, err)
        return None


#: the area fractions of its photo a random crop takes (never magnified at 320 px and 192 px crops)
CROP_SCALE = (0.35, 1.0)


def square(array: np.ndarray, window: tuple[int, int, int], size: int) -> np.ndarray:
    """The square ``window`` (top, left, side) of ``array`` (H x W x C, any dtype) resized to
    ``size`` (bilinear, antialiased when shrinking): size x size x C float32, same units."""
    y, x, side = window
    patch = torch.from_numpy(np.ascontiguousarray(array[y : y + side, x : x + side], np.float32))
    patch = patch.permute(2, 0, 1)[None]
    if side != size:
        patch = F.interpolate(
            patch, size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )
    return patch[0].permute(1, 2, 0).numpy()


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

    def window(
        self, index: int, rng: np.random.Generator, scale=CROP_SCALE
    ) -> tuple[int, int, int]:
        """A random square of the decoded photo: (top, left, side) in its pixels, its area a
        fraction of the photo's drawn from ``scale`` (at least 32 px or the photo's side)."""
        h, w = self.images[index].shape[:2]
        side = int(min(h, w) * np.sqrt(rng.uniform(*scale)))
        side = max(side, min(h, w, 32))
        y = int(rng.integers(0, h - side + 1))
        x = int(rng.integers(0, w - side + 1))
        return y, x, side

    def crop(
        self, index: int, size: int, rng: np.random.Generator, scale=CROP_SCALE
    ) -> torch.Tensor:
        """A random resized crop: (3, size, size) sRGB float in 0..1."""
        window = self.window(index, rng, scale)
        patch = torch.from_numpy(square(self.images[index], window, size) / 255.0)
        if rng.random() < 0.5:
            patch = patch.flip(1)
        return patch.permute(2, 0, 1).clamp(0, 1)

    def batch(
        self, indices: Iterable[int], size: int, rng: np.random.Generator, scale=CROP_SCALE
    ) -> torch.Tensor:
        return torch.stack([self.crop(i, size, rng, scale) for i in indices])


class _BatchStream(torch.utils.data.IterableDataset):
    """Endless batches from ``make(rng, size)``; each worker process seeds its own generator."""

    def __init__(self, make: Callable, size: int, seed: Sequence[int]) -> None:
        super().__init__()
        self.make, self.size, self.seed = make, size, tuple(seed)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([*self.seed, 0 if info is None else info.id])
        while True:
            yield self.make(rng, self.size)


class BatchFeed:
    """The training batches of ``make(rng, size)`` (CPU tensors).

    With ``workers`` = 0 they are made in the training process from the trainer's generator
    between steps: a run is then reproducible and resumes batch for batch. With ``workers`` > 0,
    that many processes make them in the background while the network trains, each with its own
    generator seeded from ``seed`` plus its index (give the step a run starts at, so a resumed
    run does not repeat its batches). A GPU step takes milliseconds and a batch of crops and
    simulated hints tens to hundreds on one core, so on a GPU the workers are what keep it busy.
    Workers are forked processes; where fork is unavailable (Windows) batches are made in
    process, with a warning."""

    PREFETCH = 4  #: batches each worker keeps ready

    def __init__(
        self,
        make: Callable[[np.random.Generator, int], dict[str, torch.Tensor]],
        size: int,
        workers: int = 0,
        seed: Sequence[int] = (0,),
        pin_memory: bool = False,
    ) -> None:
        self.make, self.size = make, size
        if workers > 0 and "fork" not in multiprocessing.get_all_start_methods():
            log.warning("batch workers need fork, unavailable here: batches are made in process")
            workers = 0
        self._loader = (
            torch.utils.data.DataLoader(
                _BatchStream(make, size, seed),
                batch_size=None,
                num_workers=workers,
                multiprocessing_context="fork",
                pin_memory=pin_memory,
                prefetch_factor=self.PREFETCH,
                persistent_workers=True,
            )
            if workers
            else None
        )
        self._batches: Iterator[dict[str, torch.Tensor]] | None = None

    def next(self, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        """The next batch; ``rng`` (the trainer's) is used only without workers."""
        if self._loader is None:
            return self.make(rng, self.size)
        if self._batches is None:
            self._batches = iter(self._loader)
        return next(self._batches)

    def close(self) -> None:
        """Stop the worker processes (a no-op without workers)."""
        self._batches = None
        self._loader = None
