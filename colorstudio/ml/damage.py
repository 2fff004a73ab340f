"""Synthetic damage on old prints, with its ground-truth mask, for training and testing restoration.

Modelled on real damaged prints (shared/data/realdamage: cabinet cards, tintypes, glass plates,
daguerreotypes) and on Wan et al. 2020 ("Bringing Old Photos Back to Life", their scratch and
paper-texture synthesis). What real prints show, and how each kind is drawn:

- **cracks**: connected, branching, jagged lines where the emulsion split, 1–6 px wide and
  tapering, mostly *bright* (the paper shows through), sometimes dark (dirt in the crack). Two
  shapes: long branching random walks, and craquelure — the borders of a domain-warped Voronoi
  tessellation, partly kept, fine and faint (tintypes and varnish).
- **flakes**: emulsion lost in patches with ragged, fractal edges, often along a crack, or in a
  band along an edge (glass plates), often with remnants of the picture in them (the lower
  layers of the emulsion stayed). What shows through is decided once per print, as it is one
  material: the paper on paper prints (most), black on a tintype or a plate scanned over black
  (``P_DARK_SUPPORT``), in losses, cracks, scratches and crease ridges alike. (Each loss used to
  be paper or black at random; the detector then marked dark windows on bright walls as losses:
  docs/damage.md.)
- **scratches**: long, nearly straight lines in one prevailing direction, bright or dark, fading
  in and out along their length (wipe marks on daguerreotypes, film scratches).
- **dust** and **hair**: specks (irregular, bright or dark) and thin curly fibres.
- **foxing**: clusters of small rust-brown spots.
- **spots**: large soft stains, brown or bleached. Drawn but *not* damage (not in the mask),
  like a crease's shading: the picture survives under a stain, so it wants a tonal correction,
  not an inpainter that would paint over a face. A detector trained to mark them marked faces,
  dark windows and other round soft shapes as stains on real prints.
- **folds**: a crease across the print — a band shaded light on one side and dark on the other
  (not damage: the photo is still there) and a broken bright crack along its ridge (damage).
- **torn**: paper missing at a border or corner behind a ragged edge, showing what was behind
  (a scanner lid, an album page).

Each kind is a *layer*: a coverage α (anti-aliased, drawn at 2× and averaged) and a colour;
layers are composited over the print in a random order. The mask holds the pixels the damage
*visibly* changed (by more than ``VISIBLE`` levels in some channel), at any coverage: a bright
crack across a white sky changes nothing, needs no repair, and no detector could see it.

Then the scan: optional blur, a resampling, film grain and JPEG, which are *not* damage (not in
the mask): the detector must learn to ignore them. A *greyscale scan* (``grey_scan``) stores only
luma, as archives scan most monochrome prints: then nothing of the damage shows in colour (the
paper's warmth, the dirt's brown), and the mask holds what changed the luma.

numpy + Pillow + scipy only. Images are H x W x 3 uint8; masks H x W bool (True = damaged).
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from colorstudio.ml.print_look import luma, scan

KINDS = ("cracks", "flakes", "scratches", "dust", "hair", "foxing", "spots", "folds", "torn")
#: the kinds that destroy the picture, the ones a repair fills (``spots``: see above)
DAMAGE_KINDS = tuple(k for k in KINDS if k != "spots")
#: smallest change (0..255, largest channel) that makes a pixel count as damaged
VISIBLE = 6.0
#: supersampling of the drawn layers (anti-aliasing, sub-pixel widths)
SS = 2
#: the share of prints on a dark support (tintypes, plates scanned over black), where lost
#: emulsion shows black; the others show their paper
P_DARK_SUPPORT = 0.15
#: the share of emulsion losses that keep remnants of the picture (a partial loss)
P_REMNANTS = 0.5


# ---------------------------------------------------------------------- drawing
def _averaged(big: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A layer drawn at ``SS`` x the size (``big``, H·SS x W·SS, bool or 0..1) averaged back to
    ``shape``: its anti-aliased coverage, H x W float32 0..1."""
    h, w = shape
    return np.asarray(big, np.float32).reshape(h, SS, w, SS).mean(axis=(1, 3))


class CoverageCanvas:
    """A supersampled coverage canvas (PIL "L"); ``coverage()`` averages it back to H x W."""

    def __init__(self, shape: tuple[int, int]) -> None:
        self.shape = shape
        self.image = Image.new("L", (shape[1] * SS, shape[0] * SS), 0)
        self.draw = ImageDraw.Draw(self.image)

    def line(self, points, width: float, fill: int = 255) -> None:
        pts = [(x * SS, y * SS) for x, y in points]
        self.draw.line(pts, fill=fill, width=max(1, round(width * SS)), joint="curve")

    def polygon(self, points, fill: int = 255) -> None:
        self.draw.polygon([(x * SS, y * SS) for x, y in points], fill=fill)

    def dot(self, x: float, y: float, r: float, fill: int = 255) -> None:
        self.ellipse((x - r, y - r, x + r, y + r), fill)

    def ellipse(self, box: tuple[float, float, float, float], fill: int = 255) -> None:
        """The ellipse inside ``box`` (left, top, right, bottom), in image px."""
        self.draw.ellipse(tuple(v * SS for v in box), fill=fill)

    def text(self, x: float, y: float, words: str, size: float, fill: int = 255) -> None:
        """``words`` in the default font ``size`` px high, from (x, y) in image px."""
        font = ImageFont.load_default(size=size * SS)
        self.draw.text((x * SS, y * SS), words, fill=fill, font=font)

    def coverage(self) -> np.ndarray:
        """H x W float32 in 0..1."""
        return _averaged(np.asarray(self.image, np.float32) / 255, self.shape)


def _walk(x, y, angle, steps, step, turn, rng) -> list[tuple[float, float]]:
    """A jagged path: ``steps`` steps of ``step`` px, the heading jittered by ``turn`` rad."""
    points = [(x, y)]
    for _ in range(steps):
        angle += rng.normal(0, turn)
        x, y = x + step * math.cos(angle), y + step * math.sin(angle)
        points.append((x, y))
    return points


def _tapered(canvas: CoverageCanvas, points, width: float, end_width: float) -> None:
    """Draw ``points`` as segments whose width goes from ``width`` to ``end_width``."""
    n = max(1, len(points) - 1)
    for i in range(n):
        w = width + (end_width - width) * i / n
        canvas.line(points[i : i + 2], w)


def _blob(cx, cy, radius, rng, jag: float, n: int = 24) -> list[tuple[float, float]]:
    """A closed outline of ``n`` corners around (cx, cy), ``jag``: relative roughness (a few
    corners and a high ``jag`` make a shard)."""
    angles = np.linspace(0, 2 * math.pi, n, endpoint=False)
    harmonics = sum(
        rng.normal(0, jag / k) * np.cos(k * angles + rng.uniform(0, 6)) for k in range(1, 6)
    )
    r = radius * np.clip(1 + harmonics + rng.normal(0, jag / 3, n), 0.2, 2.0)
    return [(cx + ri * math.cos(a), cy + ri * math.sin(a)) for ri, a in zip(r, angles, strict=True)]


# ---------------------------------------------------------------------- kinds: coverage
def crack_network(shape, rng: np.random.Generator, count: int, scale: float) -> np.ndarray:
    """Branching, tapering crack walks (coverage H x W float32 0..1)."""
    h, w = shape
    canvas = CoverageCanvas(shape)
    for _ in range(count):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        width = rng.uniform(0.8, 3.5) * scale
        stack = [(x, y, rng.uniform(0, 2 * math.pi), int(rng.integers(30, 90) * scale), width)]
        while stack:
            x, y, angle, steps, width = stack.pop()
            points = _walk(x, y, angle, steps, 1.5 * scale, 0.3, rng)
            _tapered(canvas, points, width, max(0.5, width * rng.uniform(0.3, 0.8)))
            for i in range(4, len(points), 6):
                if rng.random() < 0.08 and len(stack) < 8:
                    bx, by = points[i]
                    turn = rng.choice([-1, 1]) * rng.uniform(0.4, 1.3)
                    stack.append((bx, by, angle + turn, steps // 2, width * 0.6))
    return canvas.coverage()


def craquelure(shape, rng: np.random.Generator, scale: float) -> np.ndarray:
    """Borders of a domain-warped Voronoi tessellation, partly kept: a fine crack net."""
    h, w = shape
    cell = rng.uniform(15, 50) * scale
    n = max(4, int(h * w / cell**2))
    seeds = np.stack([rng.uniform(0, h, n), rng.uniform(0, w, n)], 1)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    warp = [ndimage.gaussian_filter(rng.normal(0, 1, shape), cell / 3) for _ in range(2)]
    warp = [v / (v.std() + 1e-6) * cell * 0.15 for v in warp]
    labels = _nearest(seeds, yy + warp[0], xx + warp[1])
    border = np.zeros(shape, bool)
    border[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    border[1:, :] |= labels[1:, :] != labels[:-1, :]
    keep = ndimage.gaussian_filter(rng.random(shape), cell / 2)
    keep = keep > np.quantile(keep, rng.uniform(0.2, 0.7))
    return np.minimum(ndimage.gaussian_filter((border & keep).astype(np.float32), 0.4) * 1.6, 1)


def _nearest(seeds: np.ndarray, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
    """Index of the nearest seed (n x 2, y x) for every point of the grids ``yy``, ``xx``."""
    best = np.full(yy.shape, np.inf, np.float32)
    labels = np.zeros(yy.shape, np.int32)
    for i, (sy, sx) in enumerate(seeds):
        d = (yy - sy) ** 2 + (xx - sx) ** 2
        closer = d < best
        best[closer], labels[closer] = d[closer], i
    return labels


def fractal_noise(shape, rng: np.random.Generator, octaves: int = 6) -> np.ndarray:
    """Noise with structure at every scale (about 1/f): white noise on grids 1, 1/2, 1/4 … of
    the size, each upsampled and summed with equal weight. H x W float32, mean 0, std 1."""
    h, w = shape
    field = np.zeros(shape, np.float32)
    for k in range(octaves):
        gh, gw = max(2, h >> k), max(2, w >> k)
        layer = rng.standard_normal((gh, gw)).astype(np.float32)
        if (gh, gw) != (h, w):
            layer = ndimage.zoom(layer, (h / gh, w / gw), order=1, mode="nearest", grid_mode=True)
        field += ndimage.gaussian_filter(layer, 0.7)[:h, :w]
    return (field - field.mean()) / (field.std() + 1e-6)


def flakes(
    shape, rng: np.random.Generator, count: int, scale: float, near: np.ndarray | None,
    edge: bool = False,
) -> np.ndarray:  # fmt: skip
    """Emulsion lost in patches with ragged edges: where an *envelope*, scaled by the
    exponential of :func:`fractal_noise`, rises above one half, so outlines are fractal and
    small islands break off near them, as real flaking does. The envelope: ``count``
    elongated bumps (60 % on a crack, ``near``, where emulsion lifts along it) and, with
    ``edge``, a band along a straight line near a border — solid beyond it, thinning inwards —
    as glass plates flake at their edges. Coverage H x W float32 0..1 (anti-aliased)."""
    h, w = shape
    big = (h * SS, w * SS)
    yy, xx = np.mgrid[0 : big[0], 0 : big[1]].astype(np.float32) / SS
    envelope = np.zeros(big, np.float32)
    anchors = np.argwhere(near > 0.5) if near is not None else np.zeros((0, 2))
    short = min(h, w)
    for _ in range(count):
        if len(anchors) and rng.random() < 0.6:
            cy, cx = anchors[rng.integers(len(anchors))]
        else:
            cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        r = rng.uniform(0.004, 0.04) * short * scale + 1.0
        angle, stretch = rng.uniform(0, math.pi), rng.uniform(1, 3)
        u = (xx - cx) * math.cos(angle) + (yy - cy) * math.sin(angle)
        v = (yy - cy) * math.cos(angle) - (xx - cx) * math.sin(angle)
        envelope = np.maximum(envelope, np.exp(-((u / stretch) ** 2 + v**2) / (2 * r * r)))
    if edge:  # distance from a line near one border, tilted a little, the lost side beyond it
        width = rng.uniform(0.02, 0.12) * short * scale + 2
        tilt = rng.normal(0, 0.1)
        side = int(rng.integers(4))
        depth = ((xx, yy), (w - xx, yy), (yy, xx), (h - yy, xx))[side]
        d = depth[0] - tilt * depth[1] - rng.uniform(-0.5, 0.5) * width
        envelope = np.maximum(envelope, np.exp(-np.maximum(d, 0) / width))
    ragged = rng.uniform(0.3, 0.9)  # log-units: far from the envelope nothing flakes
    lost = envelope * np.exp(ragged * fractal_noise(big, rng)) > 0.5
    return _averaged(lost, shape)


def scratches(shape, rng: np.random.Generator, count: int, scale: float) -> np.ndarray:
    """Long, nearly straight lines in one prevailing direction, fading along their length."""
    h, w = shape
    canvas = CoverageCanvas(shape)
    heading = rng.uniform(0, math.pi)
    for _ in range(count):
        angle = heading + rng.normal(0, 0.15)
        length = rng.uniform(0.3, 1.2) * max(h, w)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        bend = rng.normal(0, 0.03) * length
        steps = 16
        points = []
        for t in np.linspace(-0.5, 0.5, steps + 1):
            off = bend * (1 - 4 * t * t)
            points.append(
                (
                    cx + t * length * math.cos(angle) - off * math.sin(angle),
                    cy + t * length * math.sin(angle) + off * math.cos(angle),
                )
            )
        width = rng.uniform(0.6, 2.0) * scale
        for i in range(steps):  # fade in and out along the scratch
            fill = int(255 * np.clip(rng.uniform(0.3, 1.4), 0, 1))
            canvas.line(points[i : i + 2], width, fill)
    return canvas.coverage()


def dust(shape, rng: np.random.Generator, count: int, scale: float) -> np.ndarray:
    h, w = shape
    canvas = CoverageCanvas(shape)
    for _ in range(count):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(0.5, 2.5) * scale
        canvas.polygon(_blob(x, y, r, rng, jag=0.3)) if r > 1.5 else canvas.dot(x, y, r)
    return canvas.coverage()


def hair(shape, rng: np.random.Generator, count: int, scale: float) -> np.ndarray:
    """Thin curly fibres (dust hairs on the print or the scanner glass)."""
    h, w = shape
    canvas = CoverageCanvas(shape)
    for _ in range(count):
        steps = int(rng.integers(15, 60) * scale)
        points = _walk(rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0, 6.3), steps,
                       1.5 * scale, 0.25, rng)  # fmt: skip
        canvas.line(points, rng.uniform(0.5, 1.3) * scale)
    return canvas.coverage()


def foxing(shape, rng: np.random.Generator, count: int, scale: float) -> np.ndarray:
    """Clusters of small soft spots."""
    h, w = shape
    canvas = CoverageCanvas(shape)
    for _ in range(count):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        spread = rng.uniform(0.02, 0.1) * min(h, w)
        for _ in range(int(rng.integers(3, 15))):
            x, y = cx + rng.normal(0, spread), cy + rng.normal(0, spread)
            canvas.polygon(_blob(x, y, rng.uniform(1.0, 5.0) * scale, rng, jag=0.2))
    return ndimage.gaussian_filter(canvas.coverage(), 0.7 * scale)


def spots(shape, rng: np.random.Generator, count: int, scale: float) -> np.ndarray:
    """Large soft stains (coverage with soft edges)."""
    h, w = shape
    canvas = CoverageCanvas(shape)
    for _ in range(count):
        r = rng.uniform(0.02, 0.07) * min(h, w) * scale
        canvas.polygon(_blob(rng.uniform(0, w), rng.uniform(0, h), r, rng, jag=0.12))
    return ndimage.gaussian_filter(canvas.coverage(), 2.0) * rng.uniform(0.5, 0.85)


def fold_line(shape, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(points of a crease across the print, its signed distance field H x W float32 px)."""
    h, w = shape
    if rng.random() < 0.5:
        y0, y1 = rng.uniform(0.15, 0.85, 2) * h
        a, b = (0.0, y0), (float(w), y1)
    else:
        x0, x1 = rng.uniform(0.15, 0.85, 2) * w
        a, b = (x0, 0.0), (x1, float(h))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    nx, ny = b[1] - a[1], a[0] - b[0]
    norm = math.hypot(nx, ny) or 1.0
    signed = ((xx - a[0]) * nx + (yy - a[1]) * ny) / norm
    points = [(a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t) for t in np.linspace(0, 1, 40)]
    return np.array(points), signed


def torn(shape, rng: np.random.Generator, count: int, scale: float) -> np.ndarray:
    """Paper missing behind a ragged edge, at a corner or along a border."""
    h, w = shape
    canvas = CoverageCanvas(shape)
    corners = [(0, 0), (w, 0), (w, h), (0, h)]
    for index in rng.choice(4, size=min(count, 4), replace=False):
        cx, cy = corners[index]
        size = rng.uniform(0.06, 0.2) * min(h, w) * scale
        sx, sy = (1 if cx == 0 else -1), (1 if cy == 0 else -1)
        edge = [
            (cx + sx * size * t * rng.uniform(0.6, 1.8) ** (t < 0.5),
             cy + sy * size * (1 - t) + rng.normal(0, size * 0.04))
            for t in np.linspace(0, 1, 25)
        ]  # fmt: skip
        edge = [(x + rng.normal(0, 0.02 * size), y) for x, y in edge]
        canvas.polygon([(cx, cy), *edge])
    return canvas.coverage()


# ---------------------------------------------------------------------- compositing
def _texture(shape, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Fibre or grain of a support: H x W x 1 float32, std about ``strength`` levels."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape, np.float32), 0.8)
    return (field * (2.8 * strength))[..., None]  # the blur leaves a std of about 0.35


def _paper(shape, rng: np.random.Generator) -> np.ndarray:
    """The paper base where emulsion is gone: warm white with fibre texture, H x W x 3 float32
    about 200..255."""
    base = np.array([241, 235, 220], np.float32) * np.float32(rng.uniform(0.88, 1.03))
    return base + _texture(shape, rng, rng.uniform(0.7, 2.8))


def _backing(shape, rng: np.random.Generator) -> np.ndarray:
    """A dark support where emulsion is gone (a tintype's iron, black behind a plate): H x W x 3
    float32 about 10..45."""
    base = np.array([26, 24, 22], np.float32) * np.float32(rng.uniform(0.5, 1.6))
    return base + _texture(shape, rng, 0.7)


def _dirt(rng: np.random.Generator) -> np.ndarray:
    return np.array([48, 40, 33], np.float32) * rng.uniform(0.4, 1.5)


def _support_or_dirt(shape, rng, p_support: float, dark_support: bool = False) -> np.ndarray:
    """What a gap in the emulsion shows: the print's support (H x W x 3 float32; paper unless
    ``dark_support``) with probability ``p_support``, else dirt lodged in it (3 float32). Dust
    and hair sit on the print: bright ones are paper-white whatever the support."""
    if rng.random() >= p_support:
        return _dirt(rng)
    return _backing(shape, rng) if dark_support else _paper(shape, rng)


def _layers(shape, rng, kinds, severity: float, region_scale: float, fold, dark_support: bool):
    """Yield (kind, coverage H x W float32 0..1, color H x W x 3 or 3 float32) for each kind;
    ``dark_support``: lost emulsion shows black, not paper."""
    h, w = shape
    area = math.sqrt(h * w) / 256
    width = rng.uniform(0.7, 1.6)  # the print's resolution: one px of damage is not one px
    many = severity * rng.random()
    cracked: np.ndarray | None = None
    for kind in kinds:
        if kind == "cracks":
            cracked = crack_network(shape, rng, max(1, round((1 + 3 * many) * area)), width)
            gap = _support_or_dirt(shape, rng, 0.75, dark_support)
            yield kind, cracked * rng.uniform(0.75, 1.0), gap
            if rng.random() < 0.4:  # a faint net of fine cracks beside them
                faint = craquelure(shape, rng, width) * rng.uniform(0.25, 0.6)
                yield kind, faint, _support_or_dirt(shape, rng, 0.5, dark_support)
        elif kind == "flakes":
            n = max(1, round((1 + 6 * many) * area))
            edge = rng.random() < 0.35  # a plate flaking at its edge
            cover = flakes(shape, rng, n, region_scale, cracked, edge)
            if rng.random() < P_REMNANTS:  # the picture half there, unevenly
                cover *= np.clip(rng.uniform(0.55, 0.9) + 0.15 * fractal_noise(shape, rng), 0.3, 1)
            yield kind, cover, _support_or_dirt(shape, rng, 1.0, dark_support)
        elif kind == "scratches":
            cover = scratches(shape, rng, 1 + int(6 * many), width)
            yield (
                kind,
                cover * rng.uniform(0.5, 1.0),
                _support_or_dirt(shape, rng, 0.6, dark_support),
            )
        elif kind == "dust":
            n = int((10 + 80 * severity) * area * area * rng.uniform(0.3, 1))
            for p_bright in (0.9, 0.1):  # bright and dark specks
                yield kind, dust(shape, rng, n // 2, width), _support_or_dirt(shape, rng, p_bright)
        elif kind == "hair":
            n = max(1, round((1 + 3 * many) * area))
            yield kind, hair(shape, rng, n, width), _support_or_dirt(shape, rng, 0.4)
        elif kind == "foxing":
            cover = foxing(shape, rng, 1 + int(3 * many), region_scale) * rng.uniform(0.5, 0.9)
            yield kind, cover, np.array([150, 96, 56], np.float32) * rng.uniform(0.8, 1.2)
        elif kind == "spots":
            tint = [185, 150, 90] if rng.random() < 0.6 else [245, 240, 230]
            cover = spots(shape, rng, 1 + int(3 * severity), region_scale)
            yield kind, cover, np.array(tint, np.float32)
        elif kind == "folds":
            ridge = _fold_ridge(shape, rng, width, fold[0])
            yield kind, ridge, _support_or_dirt(shape, rng, 1.0, dark_support)
        elif kind == "torn":
            behind = np.float32(rng.uniform(20, 250)) + rng.normal(0, 2, (*shape, 1))
            yield kind, torn(shape, rng, 1, region_scale), behind.astype(np.float32)


def _fold_ridge(shape, rng: np.random.Generator, width: float, points: np.ndarray) -> np.ndarray:
    """The broken bright crack along a crease's ridge ``points`` (n x 2, x y): coverage."""
    canvas = CoverageCanvas(shape)
    wobble = rng.normal(0, 0.8, points.shape)
    for i in range(len(points) - 1):
        if rng.random() < 0.75:  # the ridge cracks in pieces
            canvas.line([tuple(points[i] + wobble[i]), tuple(points[i + 1] + wobble[i + 1])],
                        rng.uniform(1.0, 3.0) * width)  # fmt: skip
    return canvas.coverage()


def _fold_shading(
    out: np.ndarray, rng: np.random.Generator, scale: float, signed: np.ndarray
) -> np.ndarray:
    """A crease's shading: lighter on one side of its line, darker on the other (not damage).
    ``signed``: the signed distance to the line (H x W float32 px)."""
    band = rng.uniform(3, 12) * scale
    side = np.tanh(signed / band) * np.exp(-((signed / (3 * band)) ** 2))
    gain = 1 + rng.uniform(0.06, 0.2) * side
    return out * gain[..., None]


def synthesize_damage(
    rgb: np.ndarray,
    rng: np.random.Generator,
    kinds: tuple[str, ...] | None = None,
    severity: float = 0.5,
    grain: float = 0.0,
    jpeg_quality: int | None = None,
    region_scale: float = 1.0,
    blur: float = 0.0,
    resample: float = 1.0,
    grey_scan: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Damage ``rgb`` (H x W x 3 uint8). Returns (damaged image, damage mask).

    ``kinds``: a subset of KINDS (default: a random mix). ``severity`` 0..1 scales how much.
    ``region_scale`` enlarges the damage that covers areas (stains, flakes, foxing, torn paper)
    relative to the image: a training crop is a small part of a photo, and the damage on it
    should be as large as on the whole photo. ``grain``, ``jpeg_quality``, ``blur`` and
    ``resample``: the scan (:func:`scan`), not damage, not in the mask. ``grey_scan``: the scan
    keeps only luma, and the mask only what changed it.
    """
    shape = rgb.shape[:2]
    unknown = set(kinds or ()) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown kinds of damage: {', '.join(sorted(unknown))}")
    if kinds is None:
        kinds = tuple(k for k in KINDS if rng.random() < 0.45) or (str(rng.choice(KINDS)),)
    kinds = tuple(rng.permutation(np.array(kinds, dtype=object))) if kinds else ()
    out = rgb[..., :3].astype(np.float32)
    fold = fold_line(shape, rng) if "folds" in kinds else None  # its shading and ridge crack
    if fold is not None:
        out = _fold_shading(out, rng, math.sqrt(shape[0] * shape[1]) / 256, fold[1])
    mask = np.zeros(shape, bool)
    dark_support = bool(rng.random() < P_DARK_SUPPORT)
    layers = _layers(shape, rng, kinds, severity, region_scale, fold, dark_support)
    for kind, cover, color in layers:
        alpha = cover[..., None]
        damaged = out * (1 - alpha) + color * alpha
        if kind in DAMAGE_KINDS:
            change = np.abs(luma(damaged) - luma(out)) if grey_scan else np.abs(damaged - out)
            mask |= (change if grey_scan else change.max(axis=2)) > VISIBLE
        out = damaged
    return scan(out, rng, grain, jpeg_quality, blur, resample, grey_scan), mask
