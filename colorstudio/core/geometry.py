"""Integer boxes in image coordinates, and the one rule for fitting an image's long side.

A box is ``(y0, x0, y1, x1)`` with half-open ranges: rows ``y0 <= y < y1`` and columns
``x0 <= x < x1``. An empty box has ``y1 <= y0`` or ``x1 <= x0``.
"""

from __future__ import annotations

BBox = tuple[int, int, int, int]


def is_empty(box: BBox | None) -> bool:
    return box is None or box[2] <= box[0] or box[3] <= box[1]


def union(a: BBox | None, b: BBox | None) -> BBox | None:
    """Smallest box containing both (``None`` and empty boxes are ignored)."""
    if is_empty(a):
        return None if is_empty(b) else b
    if is_empty(b):
        return a
    assert a is not None and b is not None
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def intersect(a: BBox, b: BBox) -> BBox | None:
    box = (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
    return None if is_empty(box) else box


def clip(box: BBox, height: int, width: int) -> BBox | None:
    """Clip ``box`` to an image of ``height`` x ``width``; ``None`` if nothing is left."""
    return intersect(box, (0, 0, height, width))


def area(box: BBox | None) -> int:
    if is_empty(box):
        return 0
    assert box is not None
    return (box[2] - box[0]) * (box[3] - box[1])


def slices(box: BBox) -> tuple[slice, slice]:
    """Numpy index for ``array[y0:y1, x0:x1]``."""
    return slice(box[0], box[2]), slice(box[1], box[3])


def fit_long_side(
    height: int, width: int, long_side: int, minimum: int = 1, multiple: int = 1
) -> tuple[int, int]:
    """(h, w) of a ``height`` x ``width`` image scaled so its long side is at most
    ``long_side`` (never enlarged), each side rounded to a multiple of ``multiple`` and at least
    ``minimum`` (the minimum may exceed a tiny image: networks need some size)."""
    scale = min(1.0, long_side / max(height, width))
    return (
        max(minimum, round(height * scale / multiple) * multiple),
        max(minimum, round(width * scale / multiple) * multiple),
    )
