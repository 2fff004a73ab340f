"""The last resort for a failure no code expected: one line for the user, the traceback in a log.

A user never sees a traceback (the command line prints one line and exits 1; the editor shows a
banner and keeps the document), but the details are not lost: each failure is appended to
``errors.log`` in the user's data folder, which stays under ``MAX_BYTES`` (the older half is
dropped when it grows past that). ``COLORSTUDIO_DEBUG=1`` prints the traceback as well.
"""

from __future__ import annotations

import datetime
import logging
import os
import sys
import traceback
from pathlib import Path
from types import TracebackType

from colorstudio import __version__, paths

MAX_BYTES = 1 << 20


def log_path() -> Path:
    return paths.data_dir() / "errors.log"


def _writable(text: str) -> str:
    """``text`` with what UTF-8 cannot encode (a file name's stray bytes) as escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def summary(error: BaseException) -> str:
    """One line naming the failure (out of memory said in words)."""
    if isinstance(error, MemoryError):
        return "out of memory (close other programs, or work on a smaller image)"
    text = _writable(" ".join(str(error).split())[:300])
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def record(
    kind: type[BaseException], error: BaseException, tb: TracebackType | None
) -> Path | None:
    """Append the traceback to the error log; returns its path (None where it cannot be
    written: a read-only home must not turn one failure into two)."""
    try:
        details = "".join(traceback.format_exception(kind, error, tb))
    except Exception:  # (out of memory again, say)
        details = f"{kind.__name__} (no traceback: it could not be formatted)"
    if os.environ.get("COLORSTUDIO_DEBUG"):
        print(_writable(details), file=sys.stderr)
    path = log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size > MAX_BYTES:
            kept = path.read_bytes()[-MAX_BYTES // 2 :]
            path.write_bytes(kept[kept.find(b"\n") + 1 :])
        stamp = datetime.datetime.now().isoformat(timespec="seconds")
        # backslashreplace: a file name in bytes that are not UTF-8 must not fail the log
        with path.open("a", encoding="utf-8", errors="backslashreplace") as log:
            log.write(f"--- {stamp} colorstudio {__version__}\n{details}\n")
    except Exception:  # the log is a courtesy: never a second failure for the user
        return None
    return path


def report(error: BaseException) -> str:
    """Record ``error`` (being handled) and return the line to show the user."""
    where = record(type(error), error, error.__traceback__)
    tail = f"; details in {where}" if where is not None else ""
    return f"unexpected error: {summary(error)}{tail}"


class OneLineFormatter(logging.Formatter):
    """Log lines for the terminal: a record's traceback is never printed there — it goes to the
    error log (:class:`ErrorLogHandler`), and the line says where."""

    def formatException(self, ei) -> str:
        return ""

    def formatStack(self, stack_info: str) -> str:
        return ""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        return f"{line} (details in {log_path()})" if record.exc_info else line


class ErrorLogHandler(logging.Handler):
    """Appends the traceback of every logged exception (``log.exception``) to the error log."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)

    def emit(self, entry: logging.LogRecord) -> None:
        if entry.exc_info and entry.exc_info[1] is not None:
            kind, error, tb = entry.exc_info
            assert kind is not None  # (set together with the error)
            record(kind, error, tb)


def configure_logging(level: int, fmt: str = logging.BASIC_FORMAT) -> None:
    """The process's logging: one line per record on stderr, tracebacks in the error log. As
    ``logging.basicConfig``, it does nothing where logging is set up already (a test runner)."""
    root = logging.getLogger()
    if root.handlers:
        return
    console = logging.StreamHandler()
    console.setFormatter(OneLineFormatter(fmt))
    root.setLevel(level)
    root.addHandler(console)
    root.addHandler(ErrorLogHandler())
