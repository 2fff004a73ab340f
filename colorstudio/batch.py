"""Batch processing of photo archives: ``colorstudio batch colorize|stylize IN_DIR OUT_DIR``.

- Recursive: OUT_DIR mirrors IN_DIR's folders. Outputs keep the input's format (BMP becomes PNG).
- Resumable: outputs are written atomically, so an existing output is always complete and is
  skipped on the next run — a batch survives Ctrl+C, a kill or a power cut.
- A per-file CSV report (file, status, seconds, error, output) is appended and flushed after
  every file.
- Every output name is planned first: inputs that would write the same file (``a.bmp`` and
  ``a.png``; ``x.JPG`` and ``x.jpg`` on a case-insensitive disk) are told apart visibly and the
  same way on every run (``a (2).png``); an output that resolves to an input is refused.
- The next image is decoded on a helper thread while the current one is processed.
- Inputs are only ever read; OUT_DIR may not be IN_DIR or inside it.
- A file that fails is reported and the batch goes on; EXIF is kept, colours are tagged sRGB.
"""

from __future__ import annotations

import csv
import logging
import os
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from colorstudio.core.io.atomic import same_file
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


@dataclass(frozen=True)
class Renaming:
    """An output renamed because another input of the batch writes the same file."""

    index: int  #: the input's place in the plan
    source: str  #: the input, relative to the input folder
    output: str  #: where it is written instead
    other: str  #: the input that keeps the name
    name: str  #: the output both would have written

    def __str__(self) -> str:
        return f"{self.source} → {self.output}: {self.other} also writes {self.name}"


class Plan(list):
    """(input, output) pairs in a stable order; ``renamed``: the outputs given another name."""

    def __init__(self, pairs=(), renamed: list[Renaming] | None = None) -> None:
        super().__init__(pairs)
        self.renamed = renamed or []


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def plan(in_dir: Path, out_dir: Path) -> Plan:
    """(input, output) pairs for every image below ``in_dir``, in a stable order.

    Every output name is planned before any work: inputs that would write one file (``a.bmp``
    and ``a.png`` both make ``a.png``; ``x.JPG`` and ``x.jpg`` on a case-insensitive disk) keep
    it for one of them (the one whose name it is, else the first in sorted order) and give the
    others `` (2)``, `` (3)``… before the suffix, never the name of another output. The plan
    depends only on the inputs' names, so a rerun resumes with the same names. An output that
    resolves (symlinks, hard links) to an input or into the input folder is refused."""
    given_out = Path(out_dir)
    in_dir, out_dir = Path(in_dir).resolve(), Path(out_dir).resolve()
    if not in_dir.exists():
        raise BatchError(f"{in_dir} does not exist")
    if not in_dir.is_dir():
        raise BatchError(f"{in_dir} is not a folder")
    existing = next(p for p in (out_dir, *out_dir.parents) if p.exists())
    if not existing.is_dir():
        raise BatchError(f"the output folder {given_out} cannot be made: {existing} is a file")
    if out_dir == in_dir or in_dir in out_dir.parents:
        raise BatchError(
            "the output folder must not be the input folder or inside it "
            "(inputs are never modified)"
        )
    sources = sorted(
        p for p in in_dir.rglob("*") if p.is_file() and p.suffix.lower() in IMPORT_SUFFIXES
    )
    wanted = []
    for src in sources:
        suffix = OUTPUT_SUFFIX.get(src.suffix.lower(), src.suffix.lower())
        wanted.append((out_dir / src.relative_to(in_dir)).with_suffix(suffix))
    groups: dict[str, list[int]] = {}
    for i, dst in enumerate(wanted):
        groups.setdefault(name_key(dst), []).append(i)
    taken = set(groups)
    outputs = list(wanted)
    renamed = []
    for indices in groups.values():
        keeper, *others = sorted(indices, key=lambda i: (sources[i].name != wanted[i].name, i))
        for i in sorted(others):
            dst, n = wanted[i], 2
            candidate = dst.with_name(f"{dst.stem} ({n}){dst.suffix}")
            while name_key(candidate) in taken:
                n += 1
                candidate = dst.with_name(f"{dst.stem} ({n}){dst.suffix}")
            taken.add(name_key(candidate))
            outputs[i] = candidate
            renamed.append(
                Renaming(
                    i,
                    str(sources[i].relative_to(in_dir)),
                    str(given_out / candidate.relative_to(out_dir)),
                    str(sources[keeper].relative_to(in_dir)),
                    str(given_out / wanted[keeper].relative_to(out_dir)),
                )
            )
    _refuse_writing_over_inputs(in_dir, sources, outputs)
    return Plan(zip(sources, outputs, strict=True), sorted(renamed, key=lambda r: r.index))


def name_key(path: Path) -> str:
    """How a file system that ignores case and Unicode normalisation (macOS, Windows) sees a
    name: NFC-normalised and case-folded."""
    return unicodedata.normalize("NFC", str(path)).casefold()


def _refuse_writing_over_inputs(in_dir: Path, sources: list[Path], outputs: list[Path]) -> None:
    """BatchError if an output is, or lies inside the input folder through a symlink, an input
    (compared by resolved path and, for existing files, by device and inode)."""
    by_path = {os.path.realpath(src): src for src in sources}
    by_identity = {key: src for src in sources if (key := _identity(src)) is not None}
    for dst in outputs:
        real, identity = os.path.realpath(dst), _identity(dst)
        src = by_path.get(real) or (by_identity.get(identity) if identity else None)
        if src is not None:
            raise BatchError(f"{dst} is the input {src}: inputs are never overwritten")
        if in_dir in Path(real).parents:
            raise BatchError(
                f"{dst} lies inside the input folder {in_dir} (through a link): "
                "inputs are never modified"
            )


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
    with report.open("a", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        if new_report:
            writer.writerow(["file", "status", "seconds", "error", "output"])
        for src, dst in pairs:
            if dst.exists() and not dst.is_file():  # not a result of ours: never "done"
                summary.failed += 1
                error = "something that is not a file is in the way of the output"
                writer.writerow([str(src), "failed", "0", error, str(dst)])
            elif dst.exists():
                summary.skipped += 1
                writer.writerow([str(src), "skipped (already done)", "0", "", str(dst)])
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
                    seconds = f"{time.perf_counter() - start:.2f}"
                    writer.writerow([str(src), "failed", seconds, str(err), str(outputs[src])])
                else:
                    summary.done += 1
                    seconds = f"{time.perf_counter() - start:.2f}"
                    notes = "; ".join(imported.notes)  # e.g. only the first frame was used
                    writer.writerow([str(src), "done", seconds, notes, str(outputs[src])])
                handle.flush()
                if progress is not None:
                    progress(count, len(todo))
        except KeyboardInterrupt:
            summary.interrupted = True  # outputs are atomic: nothing half-written remains
    return summary


def check_report(
    report: Path,
    in_dir: Path,
    pairs: list[tuple[Path, Path]],
    reads: Sequence[Path] = (),
    out_dir: Path | None = None,
) -> None:
    """BatchError unless the CSV report can be appended to safely: a file (or none yet) in a
    folder that exists, not inside the input folder, not an output, not a file the batch reads
    (``reads``: the painting, the palettes)."""
    real = Path(os.path.realpath(report))
    root = Path(in_dir).resolve()
    if real == root or root in real.parents:
        raise BatchError(f"the report {report} must not be inside the input folder {root}")
    if name_key(Path(real)) in {name_key(dst) for _, dst in pairs}:
        raise BatchError(f"the report {report} is also an output of the batch")
    for source in reads:
        if same_file(report, source):
            raise BatchError(f"the report {report} is the input {source}: choose another file")
    # the batch creates its output folder and the folders below it
    made = Path(os.path.realpath(out_dir)) if out_dir is not None else None
    if not real.parent.is_dir() and not (
        made is not None and (real.parent == made or made in real.parent.parents)
    ):
        raise BatchError(f"the report {report}: the folder {real.parent} does not exist")
    if real.exists() and not real.is_file():
        raise BatchError(f"the report {report} is not a file (a folder or a device)")
