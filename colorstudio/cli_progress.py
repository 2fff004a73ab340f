"""A progress line for the single-image commands, on a terminal's stderr only.

A 60-megapixel repair takes a minute on a laptop CPU; without a sign of life it looks hung.
Piped or redirected output (scripts, batch logs, tests) stays exactly as it was: one result
line on stdout and nothing on stderr.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

#: what the engine calls as it goes: (fraction 0..1 of the job, what it is doing)
Progress = Callable[[float, str], None]


@contextlib.contextmanager
def terminal_progress(label: str) -> Iterator[Progress | None]:
    """Yields the progress function to hand the engine (None when stderr is no terminal);
    the line is cleared when the block ends."""
    if not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    with tqdm(
        total=100, desc=label, leave=False, bar_format="{percentage:3.0f}% |{bar:24}| {desc}"
    ) as bar:

        def update(fraction: float, message: str) -> None:
            bar.n = max(0, min(100, round(100 * fraction)))
            bar.set_description_str(f"{label}: {message}" if message else label, refresh=False)
            bar.refresh()

        yield update


def stage(progress: Progress | None, index: int, count: int, name: str) -> Progress | None:
    """The progress of stage ``index`` of ``count`` (0-based) mapped into the whole job."""
    if progress is None:
        return None

    def update(fraction: float, message: str) -> None:
        said = message if message.startswith(name) else f"{name} {message}".strip()
        progress((index + fraction) / count, said)  # "detect", not "detect detect"

    return update
