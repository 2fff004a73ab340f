"""Batch processing of photo archives: ``colorstudio batch colorize|stylize IN_DIR OUT_DIR``.

- Recursive: OUT_DIR mirrors IN_DIR's folders. Outputs keep the input's format (BMP becomes PNG).
- Resumable: outputs are written atomically, so an existing output is always complete and is
  skipped on the next run — a batch survives Ctrl+C, a kill or a power cut.
- A per-file CSV report (file, status, seconds, error) is appended and flushed after every file.
- The next image is decoded on a helper thread while the current one is processed.
- Inputs are only ever read; OUT_DIR may not be IN_DIR or inside it.
- A file that fails is reported and the batch goes on; EXIF is kept, colours are tagged sRGB.
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from colorstudio.core.io.errors import FileFormatError
from colorstudio.core.io.images import IMPORT_SUFFIXES, ImportedImage, load_image, save_image

log = logging.getLogger(__name__)

OUTPUT_SUFFIX = {".bmp": ".png"}


class BatchError(Exception):
    """A batch that cannot start (bad folders); ``str()`` is shown to the user."""


@dataclass
class BatchSummary:
    done: int = 0
    skipped: int = 0
    failed: int = 0
    interrupted: bool = False
    failures: list[tuple[str, str]] = field(default_factory=list)


def plan(in_dir: Path, out_dir: Path) -> list[tuple[Path, Path]]:
    """(input, output) pairs for every image below ``in_dir``, in a stable order."""
    in_dir, out_dir = Path(in_dir).resolve(), Path(out_dir).resolve()
    if not in_dir.is_dir():
        raise BatchError(f"{in_dir} is not a folder")
    if out_dir == in_dir or in_dir in out_dir.parents:
        raise BatchError(
            "the output folder must not be the input folder or inside it "
            "(inputs are never modified)"
        )
    pairs = []
    for src in sorted(
        p for p in in_dir.rglob("*") if p.is_file() and p.suffix.lower() in IMPORT_SUFFIXES
    ):
        rel = src.relative_to(in_dir)
        suffix = OUTPUT_SUFFIX.get(src.suffix.lower(), src.suffix.lower())
        pairs.append((src, (out_dir / rel).with_suffix(suffix)))
    return pairs


def _prefetched(sources: list[Path]) -> Iterator[tuple[Path, Future]]:
    """Yield (path, future of its decoded image), decoding one image ahead."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch") as pool:
        pending = [(p, pool.submit(load_image, p)) for p in sources[:1]]
        for i in range(len(sources)):
            path, future = pending.pop(0)
            if i + 1 < len(sources):
                pending.append((sources[i + 1], pool.submit(load_image, sources[i + 1])))
            yield path, future


def run_batch(
    pairs: list[tuple[Path, Path]],
    process: Callable[[ImportedImage], object],
    report: Path,
    quality: int = 92,
    progress: Callable[[int, int], None] | None = None,
) -> BatchSummary:
    """Process every pair not done yet. ``process(imported)`` returns the engine's Result."""
    summary = BatchSummary()
    report.parent.mkdir(parents=True, exist_ok=True)
    new_report = not report.exists()
    todo = []
    with report.open("a", newline="") as handle:
        writer = csv.writer(handle)
        if new_report:
            writer.writerow(["file", "status", "seconds", "error"])
        for src, dst in pairs:
            if dst.exists():
                summary.skipped += 1
                writer.writerow([str(src), "skipped (already done)", "0", ""])
            else:
                todo.append((src, dst))
        handle.flush()
        outputs = dict(todo)
        try:
            for count, (src, future) in enumerate(_prefetched([s for s, _ in todo]), start=1):
                start = time.perf_counter()
                try:
                    imported = future.result()
                    result = process(imported)
                    image = result.image
                    if image.shape[2] == 3:  # the engine returns RGB: keep the input's alpha
                        image = np.dstack([image, imported.rgba[..., 3]])
                    outputs[src].parent.mkdir(parents=True, exist_ok=True)
                    save_image(outputs[src], image, quality=quality, exif=imported.exif)
                except (FileFormatError, OSError, ValueError, RuntimeError) as err:
                    summary.failed += 1
                    summary.failures.append((str(src), str(err)))
                    writer.writerow(
                        [str(src), "failed", f"{time.perf_counter() - start:.2f}", str(err)]
                    )
                else:
                    summary.done += 1
                    writer.writerow([str(src), "done", f"{time.perf_counter() - start:.2f}", ""])
                handle.flush()
                if progress is not None:
                    progress(count, len(todo))
        except KeyboardInterrupt:
            summary.interrupted = True  # outputs are atomic: nothing half-written remains
    return summary
