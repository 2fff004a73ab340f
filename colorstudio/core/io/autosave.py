"""Autosave to a recovery folder and recovery after a crash.

Each editor session writes ``<session>.ora`` plus ``<session>.json`` (what was open, when) into
the recovery folder whenever its document is dirty and the interval has passed. A clean exit or
a save removes them; files still there at the next start belong to a session that crashed, and are
offered for recovery. Writes are atomic and verified, so a crash during autosave leaves the
previous one intact.

While a session has an autosave it holds an OS lock on ``<session>.lock`` (released by the OS
when the process dies, kill -9 included): another running instance never offers, restores or
deletes a live session's autosave.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from colorstudio.core.document import Document
from colorstudio.core.io.atomic import atomic_write_bytes, clean_stale_parts
from colorstudio.core.io.errors import ProjectFileError
from colorstudio.core.io.ora import LoadedProject, load_ora, save_ora

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 120.0


class SessionLock:
    """An exclusive OS lock on one file, held by this process until :meth:`release`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: io.BufferedRandom | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another process (or handle) holds it, or
        the lock file cannot be opened (then nothing that belongs to it may be touched)."""
        if self._handle is not None:
            return True
        for _attempt in range(3):
            try:
                handle = open(self.path, "a+b")  # noqa: SIM115 - held open while locked
            except OSError as err:
                log.warning("cannot open the lock file %s: %s", self.path, err)
                return False
            try:
                _lock(handle)
            except OSError:
                handle.close()
                return False
            if _same_file(handle, self.path):
                self._handle = handle
                return True
            handle.close()  # the file was removed or replaced between open and lock: again
        return False

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing drops the lock
            self._handle = None


def _same_file(handle, path: Path) -> bool:
    """Whether the open ``handle`` is still the file ``path`` names."""
    try:
        opened, named = os.fstat(handle.fileno()), os.stat(path)
    except OSError:
        return False
    return (opened.st_dev, opened.st_ino) == (named.st_dev, named.st_ino)


if os.name == "posix":
    import fcntl

    def _lock(handle) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

else:  # pragma: no cover - Windows
    import msvcrt

    def _lock(handle) -> None:
        handle.seek(0)
        # typeshed has msvcrt's functions on Windows only; the type check runs as Linux
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]


def session_is_live(folder: Path, session: str) -> bool:
    """True when the session that wrote ``folder/<session>.*`` is still running."""
    lock_path = Path(folder) / f"{session}.lock"
    if not lock_path.exists():
        return False
    probe = SessionLock(lock_path)
    if probe.acquire():
        probe.release()
        return False
    return True


@dataclass(frozen=True)
class RecoveryFile:
    project_path: Path
    info_path: Path
    source_path: str | None
    saved_at: float
    pid: int

    @property
    def title(self) -> str:
        name = Path(self.source_path).name if self.source_path else "Untitled"
        stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.saved_at))
        return f"{name} (autosaved {stamp})"


class Autosaver:
    """Writes recovery copies of one session's document."""

    def __init__(
        self, folder: str | os.PathLike[str], interval_s: float = DEFAULT_INTERVAL_S
    ) -> None:
        self.folder = Path(folder)
        self.interval_s = float(interval_s)
        self.session = uuid.uuid4().hex[:12]
        self.last_save: float | None = None
        self._lock = SessionLock(self.folder / f"{self.session}.lock")

    @property
    def project_path(self) -> Path:
        return self.folder / f"{self.session}.ora"

    @property
    def info_path(self) -> Path:
        return self.folder / f"{self.session}.json"

    def due(self, doc: Document, now: float | None = None) -> bool:
        """True when ``doc`` is dirty and the interval has passed since the last autosave."""
        now = time.monotonic() if now is None else now
        if not doc.dirty:
            return False
        return self.last_save is None or now - self.last_save >= self.interval_s

    def save(self, doc: Document, source_path: str | None, now: float | None = None) -> Path:
        """Write the recovery copy now (atomically). Returns its path."""
        self.last_save = time.monotonic() if now is None else now  # a failure waits too
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self._lock.acquire():
            raise OSError(f"the recovery file {self._lock.path.name} is locked by another process")
        save_ora(doc, self.project_path, compress_level=1)
        info = {"source_path": source_path, "saved_at": time.time(), "pid": os.getpid()}
        atomic_write_bytes(self.info_path, json.dumps(info).encode())
        self.last_save = time.monotonic() if now is None else now
        log.info("autosaved to %s", self.project_path)
        return self.project_path

    def discard(self) -> None:
        """Remove this session's recovery copy (after a save or a clean close)."""
        for path in (self.project_path, self.info_path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        self._lock.release()
        with contextlib.suppress(OSError):
            self._lock.path.unlink()
        self.last_save = None


def find_recoveries(
    folder: str | os.PathLike[str], exclude_session: str | None = None
) -> list[RecoveryFile]:
    """Recovery files left by sessions that did not close cleanly, newest first (never those
    of a session still running)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = []
    for info_path in folder.glob("*.json"):
        if (exclude_session and info_path.stem == exclude_session) or session_is_live(
            folder, info_path.stem
        ):
            continue
        project_path = info_path.with_suffix(".ora")
        if not project_path.is_file():
            continue
        try:
            found.append(RecoveryFile(project_path, info_path, *_recovery_info(info_path)))
        except (OSError, ValueError) as err:
            log.warning("ignoring unreadable recovery info %s: %s", info_path, err)
    return sorted(found, key=lambda r: r.saved_at, reverse=True)


#: a recovery info file holds three short fields: anything larger was not written by us
MAX_INFO_BYTES = 64 << 10


def _recovery_info(info_path: Path) -> tuple[str | None, float, int]:
    """(source path, saved at, pid) of a recovery info file. ValueError for anything but the
    object :class:`Autosaver` writes (a damaged or foreign file must not stop the editor from
    starting); OSError when it cannot be read."""
    with info_path.open("rb") as handle:
        data = handle.read(MAX_INFO_BYTES + 1)
    if len(data) > MAX_INFO_BYTES:
        raise ValueError("too large")
    try:
        info = json.loads(data)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if not isinstance(info, dict):
        raise ValueError("not a JSON object")
    source, saved_at, pid = info.get("source_path"), info.get("saved_at", 0), info.get("pid", 0)
    if source is not None and not isinstance(source, str):
        raise ValueError("source_path is not text")
    try:  # a 400-digit integer overflows a float
        ok = isinstance(saved_at, int | float) and math.isfinite(saved_at) and saved_at >= 0
    except OverflowError:
        ok = False
    if not ok:
        raise ValueError("saved_at is not a time")
    if not isinstance(pid, int) or isinstance(pid, bool) or not 0 <= pid < 2**31:
        raise ValueError("pid is not a process id")
    try:
        time.localtime(saved_at)  # the title shows it
    except (OverflowError, OSError, ValueError):
        raise ValueError("saved_at is out of range") from None
    return source, float(saved_at), pid


def restore(recovery: RecoveryFile) -> LoadedProject:
    """Open a recovery file as a new (dirty) document."""
    if session_is_live(recovery.project_path.parent, recovery.project_path.stem):
        raise ProjectFileError(f"{recovery.title} belongs to a ColorStudio that is still running")
    try:
        loaded = load_ora(recovery.project_path)
    except ProjectFileError as err:
        raise ProjectFileError(f"the autosaved copy cannot be restored: {err}") from None
    loaded.document.mark_dirty()
    return loaded


def discard_recovery(recovery: RecoveryFile) -> None:
    """Delete a crashed session's recovery files (never a running session's)."""
    folder, session = recovery.project_path.parent, recovery.project_path.stem
    if session_is_live(folder, session):
        raise ProjectFileError(f"{recovery.title} belongs to a ColorStudio that is still running")
    for path in (recovery.project_path, recovery.info_path, folder / f"{session}.lock"):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def clean_after_crash(
    folder: str | os.PathLike[str], projects: Sequence[str | os.PathLike[str]] = ()
) -> None:
    """At start-up: remove unfinished writes (of dead processes) from the recovery folder and
    beside ``projects`` (the recent files), and the lock files of sessions gone without an
    autosave. Files that are whole are never touched."""
    for project in projects:
        project = Path(project)
        if project.parent.is_dir():
            clean_stale_parts(project.parent, project.name)
    folder = Path(folder)
    if not folder.is_dir():
        return
    clean_stale_parts(folder)
    for lock_path in folder.glob("*.lock"):
        session = lock_path.stem
        if (folder / f"{session}.ora").exists():
            continue
        probe = SessionLock(lock_path)
        if probe.acquire():  # removed only while held: a session starting now gets a new file
            with contextlib.suppress(OSError):
                lock_path.unlink()
            probe.release()
