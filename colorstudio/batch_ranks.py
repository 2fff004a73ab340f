"""A batch split between processes: ``torchrun … -m colorstudio batch …`` (one process per
GPU, on one or several machines) or any launcher that sets RANK and WORLD_SIZE.

- **Which process takes which photo** is decided by a stable rule: a hash of the photo's path
  relative to the input folder, modulo the number of processes. It does not depend on the
  order files are listed in or on other files, so a second run (with new photos added, say)
  gives every photo to the same process, and that process finds its finished outputs and
  skips them: resume works per process.
- **Reports**: each process appends to its own CSV beside the report (``report.rank1.csv``);
  when every process has finished (a barrier over torch.distributed, gloo), process 0 appends
  their rows to the report, atomically, and removes them. (After a crash they stay, and the
  next run's merge takes them along.)
- **Devices**: on GPUs each process uses the GPU of its LOCAL_RANK.

One process (no RANK/WORLD_SIZE) is the plain batch: one report, no barrier.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from colorstudio.core.io.atomic import atomic_write_bytes

HEADER = ["file", "status", "seconds", "error", "output"]
#: how long a finished process waits for the others (a share may take days on a big archive)
WAIT = timedelta(days=7)


@dataclass(frozen=True)
class Ranks:
    """This process's place in the batch: ``rank`` of ``world`` processes, ``local`` its index
    on this machine (its GPU)."""

    rank: int = 0
    world: int = 1
    local: int = 0
    local_world: int = 1  #: processes on this machine (they share its cores)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Ranks:
        """From torchrun's RANK, WORLD_SIZE and LOCAL_RANK (absent: one process). ValueError
        on values that make no sense."""
        env = dict(os.environ) if env is None else env
        try:
            rank = int(env.get("RANK", "0"))
            world = int(env.get("WORLD_SIZE", "1"))
            local = int(env.get("LOCAL_RANK", "0"))
            local_world = int(env.get("LOCAL_WORLD_SIZE", str(world)))
        except ValueError:
            raise ValueError(
                "RANK, WORLD_SIZE, LOCAL_RANK and LOCAL_WORLD_SIZE must be whole numbers"
            ) from None
        if world < 1 or not 0 <= rank < world or not 0 <= local < max(1, local_world):
            raise ValueError(f"RANK {rank} of WORLD_SIZE {world} is not a valid process")
        return cls(rank, world, local, max(1, local_world))

    def owner(self, relative: str) -> int:
        """The rank that processes the photo at ``relative`` (its path under the input folder,
        with forward slashes): a stable hash modulo the number of processes."""
        digest = hashlib.blake2b(relative.encode("utf-8"), digest_size=8).digest()
        return int.from_bytes(digest, "big") % self.world

    def share(self, pairs: Sequence[tuple[Path, Path]], in_dir: Path) -> list[tuple[Path, Path]]:
        """The (input, output) pairs this process takes."""
        if self.world == 1:
            return list(pairs)
        root = Path(in_dir).resolve()  # as the plan's paths are
        return [
            (src, dst)
            for src, dst in pairs
            if self.owner(src.relative_to(root).as_posix()) == self.rank
        ]

    def report(self, report: Path) -> Path:
        """The CSV this process appends to: the report itself for one process, else
        ``NAME.rankR.csv`` beside it."""
        if self.world == 1:
            return report
        return report.with_name(f"{report.stem}.rank{self.rank}{report.suffix or '.csv'}")

    def device(self, wanted: str, cuda_available: bool) -> str:
        """The device for this process: its own GPU (LOCAL_RANK) when ``wanted`` is "auto" or
        "cuda" (no index) and several processes run with CUDA; else ``wanted``."""
        if wanted in ("auto", "cuda") and cuda_available and self.world > 1:
            return f"cuda:{self.local}"
        return wanted

    def threads(self, wanted: int | None) -> int | None:
        """CPU threads for this process: the machine's cores shared among its processes unless
        ``wanted`` says otherwise (one process: None, the engine's default)."""
        if wanted is not None or self.local_world == 1:
            return wanted
        return max(1, (os.cpu_count() or 1) // self.local_world)


def merge_reports(report: Path, world: int) -> int:
    """Append the processes' rows (:meth:`Ranks.report`) to ``report`` — as one process
    appends its own — atomically, then remove their files. Returns the number of rows added."""
    rows: list[list[str]] = []
    if report.exists():
        with report.open(newline="", encoding="utf-8") as handle:
            rows = [row for row in csv.reader(handle) if row and row != HEADER]
    before = len(rows)
    # every process's file, also those of an earlier run with more processes
    parts = sorted(report.parent.glob(f"{report.stem}.rank*{report.suffix or '.csv'}"))
    for path in parts:
        with path.open(newline="", encoding="utf-8") as handle:
            rows.extend(row for row in csv.reader(handle) if row and row != HEADER)
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADER)
    writer.writerows(rows)
    atomic_write_bytes(report, text.getvalue().encode("utf-8"))
    for path in parts:
        path.unlink(missing_ok=True)
    return len(rows) - before


def start(ranks: Ranks) -> None:
    """Join the other processes (torch.distributed, gloo: it needs no GPU) before any work, so
    a launcher's missing settings fail at once; the end-of-batch wait allows WAIT. Nothing to
    join with one process."""
    if ranks.world == 1:
        return
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("gloo", rank=ranks.rank, world_size=ranks.world, timeout=WAIT)


def barrier(ranks: Ranks) -> bool:
    """Wait until every process has finished its share; False (said in one line) when the
    others could not be reached — their rows then stay in their files and the next run's merge
    takes them along."""
    if ranks.world == 1:
        return True
    import torch.distributed as dist

    try:
        dist.barrier()
        return True
    except Exception as err:  # gloo reports a lost peer or a timeout in several types
        print(f"process {ranks.rank}: the other processes did not finish ({err}); the reports "
              "stay in report.rank*.csv and are merged on the next run")  # fmt: skip
        return False
    finally:
        dist.destroy_process_group()
