"""Picture structure that looks like damage and is not: hard negatives for the damage detector.

On real prints the detector marked what has the contrast of damage against a flat surround:
the dark windows of a facade, window panes and tiles, lettering, a dark doorway on a bright
wall (docs/damage.md, "False alarms on undamaged old prints"). A probe found it marked every
isolated darker shape on a flat grey wall. Our training photos hold few such scenes, so
:func:`add_structure` draws them into the photo *before* it is aged and damaged: they are part
of the picture, never in the damage mask. What tells them from damage is what a person uses:
straight edges and right angles, repetition on a grid, regular spacing, the look of letters,
where losses and cracks are ragged, branching and irregular.

Kinds: ``facade`` (a grid of windows, some framed, some missing), ``lines`` (tiles, panes,
fences: regular thin lines), ``text`` (lines of lettering) and ``shapes`` (a few isolated
rectangles and ovals: doors, signs, buttons). numpy + Pillow + scipy; images H x W x 3 uint8.
"""

from __future__ import annotations

import string

import numpy as np
from scipy import ndimage

from colorstudio.ml.damage import CoverageCanvas

STRUCTURE_KINDS = ("facade", "lines", "text", "shapes")
#: the share of training photos that get one piece of structure
P_STRUCTURE = 0.3
#: the smallest side of a window or shape, px: well above the largest dust speck (about 8 px),
#: so that no mark is labelled picture here and damage there
MIN_SIDE = 12.0
#: the smallest region worth drawing in (a smaller photo is left as it is)
MIN_REGION = 2 * MIN_SIDE


def _region(shape: tuple[int, int], rng: np.random.Generator) -> tuple[float, float, float, float]:
    """(top, left, height, width) of a part of the photo, 25-80 % of its short side a side (at
    least MIN_REGION px, where the photo allows)."""
    h, w = shape
    short = min(h, w)
    rh, rw = (min(max(rng.uniform(0.25, 0.8) * short, MIN_REGION), short) for _ in range(2))
    return rng.uniform(0, h - rh), rng.uniform(0, w - rw), rh, rw


def _tone(rgb: np.ndarray, rng: np.random.Generator, cover: np.ndarray) -> np.ndarray:
    """``rgb`` (H x W x 3 float32) with the coverage ``cover`` (H x W, 0..1) painted darker or
    lighter than the picture beneath by a random amount, as the picture's own marks are."""
    if rng.random() < 0.7:  # darker: a window, a letter, a joint
        target = rgb * rng.uniform(0.1, 0.6)
    else:  # lighter: glass catching the sky, white paint
        target = rgb + (255 - rgb) * rng.uniform(0.4, 0.9)
    cover = ndimage.gaussian_filter(cover, rng.uniform(0.0, 0.8))  # the lens, not a scalpel
    return rgb * (1 - cover[..., None]) + target * cover[..., None]


def facade(canvas: CoverageCanvas, rng: np.random.Generator, region) -> None:
    """A grid of windows, evenly spaced, a few left out, some in a paler frame."""
    top, left, rh, rw = region
    # as many rows and columns as leave windows of at least MIN_SIDE with gaps between them
    most_rows, most_cols = (
        int(np.clip(side // (2 * MIN_SIDE), 1, n)) for side, n in ((rh, 6), (rw, 8))
    )
    rows = int(rng.integers(min(2, most_rows), most_rows + 1))
    cols = int(rng.integers(min(2, most_cols), most_cols + 1))
    cell_h, cell_w = rh / rows, rw / cols
    win_h = max(MIN_SIDE, cell_h * rng.uniform(0.5, 0.8))
    win_w = max(MIN_SIDE, cell_w * rng.uniform(0.45, 0.75))
    framed = rng.random() < 0.4
    for r in range(rows):
        for c in range(cols):
            if rng.random() < 0.1:
                continue
            y = top + r * cell_h + (cell_h - win_h) / 2
            x = left + c * cell_w + (cell_w - win_w) / 2
            box = [(x, y), (x + win_w, y), (x + win_w, y + win_h), (x, y + win_h)]
            if not framed:
                canvas.polygon(box)
                continue
            # the frame at part of the window's tone, the pane inside it at the whole
            canvas.polygon(box, fill=int(rng.uniform(60, 160)))
            inset = max(1.5, min(win_w, win_h) * 0.15)
            canvas.polygon(
                [(x + inset, y + inset), (x + win_w - inset, y + inset),
                 (x + win_w - inset, y + win_h - inset), (x + inset, y + win_h - inset)],
            )  # fmt: skip


def lines(canvas: CoverageCanvas, rng: np.random.Generator, region) -> None:
    """Regular thin lines across the region, one way (siding, blinds, a fence) or both (tiles,
    panes), at least four of them evenly spaced: a family no scratch or crack makes."""
    top, left, rh, rw = region
    ways = str(rng.choice(["across", "down", "both"], p=[0.2, 0.2, 0.6]))
    width = rng.uniform(0.6, 2.2)
    spacing = rng.uniform(5, 24)
    if ways != "down":
        for y in np.linspace(top, top + rh, max(4, int(rh / spacing) + 1)):
            canvas.line([(left, y), (left + rw, y)], width)
    if ways != "across":
        step = spacing * rng.uniform(0.8, 1.6)
        for x in np.linspace(left, left + rw, max(4, int(rw / step) + 1)):
            canvas.line([(x, top), (x, top + rh)], width)


def text(canvas: CoverageCanvas, rng: np.random.Generator, region) -> None:
    """Lines of lettering: a shop sign, a caption, a page."""
    top, left, rh, rw = region
    size = float(rng.uniform(6, 22))
    letters = string.ascii_letters + string.digits + "  .,"
    y = top
    while y + size < top + rh:
        n = max(1, int(rw / (size * 0.55)))
        words = "".join(rng.choice(list(letters), n))
        canvas.text(left, y, words, size)
        y += size * rng.uniform(1.2, 1.8)


def shapes(canvas: CoverageCanvas, rng: np.random.Generator, region) -> None:
    """A few isolated rectangles and ovals: doors, signs, buttons, a dark hat."""
    top, left, rh, rw = region
    for _ in range(int(rng.integers(1, 6))):
        sh = rng.uniform(MIN_SIDE, max(MIN_SIDE, 0.4 * rh))
        sw = rng.uniform(MIN_SIDE, max(MIN_SIDE, 0.4 * rw))
        y, x = top + rng.uniform(0, max(0.0, rh - sh)), left + rng.uniform(0, max(0.0, rw - sw))
        if rng.random() < 0.6:
            canvas.polygon([(x, y), (x + sw, y), (x + sw, y + sh), (x, y + sh)])
        else:
            canvas.ellipse((x, y, x + sw, y + sh))


_DRAW = {"facade": facade, "lines": lines, "text": text, "shapes": shapes}


def add_structure(rgb: np.ndarray, rng: np.random.Generator, kind: str | None = None) -> np.ndarray:
    """``rgb`` (H x W x 3 uint8) with one piece of structure of ``kind`` (random if None)
    drawn into it as part of the picture. Returns a new H x W x 3 uint8 array."""
    if kind is not None and kind not in _DRAW:
        raise ValueError(f"unknown structure {kind!r}; known: {', '.join(STRUCTURE_KINDS)}")
    shape = rgb.shape[:2]
    if min(shape) < MIN_REGION:
        return rgb[..., :3].copy()
    canvas = CoverageCanvas(shape)
    _DRAW[kind or str(rng.choice(STRUCTURE_KINDS))](canvas, rng, _region(shape, rng))
    out = _tone(rgb[..., :3].astype(np.float32), rng, canvas.coverage())
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def maybe_structure(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """:func:`add_structure` on a share ``P_STRUCTURE`` of photos, the photo's RGB otherwise
    (H x W x 3 uint8 either way)."""
    return add_structure(rgb, rng) if rng.random() < P_STRUCTURE else rgb[..., :3]
