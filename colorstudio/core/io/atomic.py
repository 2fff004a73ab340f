"""Atomic file replacement: write beside, fsync, verify, rename — a crash never damages the old
file, and a write that does not read back never replaces it.

The temporary file is ``.<name>.<pid>-<host>-<random>.part`` beside the target (``host``: a
short hash of this computer's name). A process killed while writing leaves it behind;
:func:`clean_stale_parts` (run before every write of the same target and at start-up) removes
this computer's parts whose process is gone, and anyone's over a day old — a part written from
another computer (a shared folder) is never judged by this computer's process ids.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import re
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

STALE_AFTER_S = 24 * 3600  #: a .part this old is stale even if its pid is alive (pid reuse)
HOST = hashlib.sha1(socket.gethostname().encode(errors="replace")).hexdigest()[:8]


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike[str], verify: Callable[[Path], None] | None = None
) -> Iterator[BinaryIO]:
    """Open a temporary file beside ``path`` for binary writing; on success it replaces ``path``.

    The data is flushed and fsynced, then ``verify(temporary path)`` (if given) checks what was
    written, then ``os.replace`` and an fsync of the folder: after a crash either the old or the
    new file is there, complete. On any error (``verify``'s included) the temporary file is
    removed and ``path`` is untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_parts(target.parent, target.name)
    try:
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{_part_stem(target.name)}.{os.getpid()}-{HOST}-",
            suffix=".part",
            dir=target.parent,
        )
    except OSError as err:  # said of the file asked for, not of the temporary one
        raise OSError(err.errno, err.strerror, str(target)) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if verify is not None:
            verify(Path(tmp_name))
        if target.exists():
            with contextlib.suppress(OSError):
                os.chmod(tmp_name, target.stat().st_mode & 0o777)
        else:
            with contextlib.suppress(OSError):
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(tmp_name, 0o666 & ~umask)
        os.replace(tmp_name, target)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        if isinstance(err, OSError) and err.filename == tmp_name:
            raise OSError(err.errno, err.strerror, str(target)) from None
        raise
    _fsync_dir(target.parent)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_write(path) as handle:
        handle.write(data)


def atomic_save(path: str | os.PathLike[str], writer: Callable[[BinaryIO], None]) -> None:
    """Call ``writer(handle)`` inside :func:`atomic_write`."""
    with atomic_write(path) as handle:
        writer(handle)


#: the longest file name (bytes) kept whole in a temporary file's name: with the process,
#: host and random parts added it stays under the 255 bytes most file systems allow
MAX_PART_STEM = 200


def _part_stem(name: str) -> str:
    """``name`` as it begins a temporary file's name: whole, or if long cut and marked with a
    digest of the whole (so two long names that begin alike do not share temporary files)."""
    encoded = os.fsencode(name)
    if len(encoded) <= MAX_PART_STEM:
        return name
    digest = hashlib.sha1(encoded).hexdigest()[:8]
    # cut at a character: half a UTF-8 character fails on Windows and macOS file systems
    return encoded[: MAX_PART_STEM - 9].decode("utf-8", "ignore").rstrip() + "~" + digest


#: a temporary file of :func:`atomic_write`: ``.<name>.<pid>-<host>-<8 of mkstemp's>.part``
_PART_NAME = re.compile(r"\.(.+)\.(\d{1,10})-([0-9a-f]{8})-[a-z0-9_]{8}\.part", re.DOTALL)


def clean_stale_parts(folder: str | os.PathLike[str], name: str | None = None) -> list[Path]:
    """Remove the temporary files of writes that never finished (their process is gone, or
    they are over a day old) in ``folder``, of target ``name`` or of any. Only files named as
    :func:`atomic_write` names them are touched. Returns them."""
    removed = []
    pattern = f".{glob.escape(_part_stem(name))}.*.part" if name else ".*.part"
    with contextlib.suppress(OSError):
        for part in Path(folder).glob(pattern):
            ours = _PART_NAME.fullmatch(part.name)
            if ours is None or (name is not None and ours.group(1) != _part_stem(name)):
                continue  # not a temporary file of ours (for this name): never deleted
            pid, host = int(ours.group(2)), ours.group(3)
            try:
                age = time.time() - part.stat().st_mtime
                mine = host == HOST and pid < 2**31
                if age > STALE_AFTER_S or (mine and not process_alive(pid)):
                    part.unlink()
                    removed.append(part)
            except OSError:
                continue
    return removed


def process_alive(pid: int) -> bool:
    """True when a process with this id runs (this one included)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    if os.name != "posix":
        return _windows_process_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    except OSError:
        return False
    return True


def _windows_process_alive(pid: int) -> bool:  # pragma: no cover - Windows only
    import ctypes

    # typeshed has ctypes.windll on Windows only; the type check runs as Linux
    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # QUERY_LIMITED_INFORMATION
    if not handle:
        return False
    kernel32.CloseHandle(handle)
    return True


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two paths name one file: symlinks resolved; for existing files also hard links
    and the spellings a case-insensitive file system treats as one."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return False
