"""The README's real-damage sheet: real damaged prints, what Detect Damage finds, the repair.

    python benchmarks/restore_sheet.py OUT.jpg [--prints NAME ...] [--crop NAME=X,Y,W,H ...]

One row per print (from ``shared/data/realdamage``; validation prints, never trained on): the
print, the detected mask over it in red (the editor's defaults: sensitivity 0.5, grown 1 px),
and detect → repair. ``--crop`` shows a part of a print at 100 % instead of the whole print
scaled to the row; the pipeline always runs on the whole print.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from colorstudio.core.io.images import load_image
from colorstudio.ml.engine import Engine
from colorstudio.ml.requests import DetectDamageRequest, RestoreRequest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "realdamage"
ROW = 360  #: row height in px
LABEL = 18


def _crop(rgb: np.ndarray, box: tuple[int, int, int, int] | None) -> np.ndarray:
    if box is None:
        return rgb
    x, y, w, h = box
    return rgb[y : y + h, x : x + w]


def _fit(rgb: np.ndarray) -> Image.Image:
    im = Image.fromarray(rgb)
    if im.height != ROW:
        im = im.resize((max(1, round(im.width * ROW / im.height)), ROW), Image.Resampling.LANCZOS)
    return im


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--prints", nargs="+", default=["deoldify_02", "iopaint_01", "deoldify_01"])
    parser.add_argument("--crop", nargs="*", default=[], help="NAME=X,Y,W,H: show this part")
    args = parser.parse_args()
    crops = {}
    for item in args.crop:
        name, _, box = item.partition("=")
        crops[name] = tuple(int(v) for v in box.split(","))
    engine = Engine()
    rows = []
    for name in args.prints:
        rgb = load_image(SHARED / f"{name}.jpg").rgba[..., :3]
        mask = engine.run(DetectDamageRequest(rgb)).mask
        assert mask is not None
        repaired = engine.run(RestoreRequest(rgb, mask)).image[..., :3] if mask.any() else rgb
        overlay = rgb.astype(np.float32)
        found = mask > 0
        overlay[found] = 0.35 * overlay[found] + 0.65 * np.array([230, 20, 20], np.float32)
        box = crops.get(name)
        cells = [_fit(_crop(a, box)) for a in (rgb, overlay.astype(np.uint8), repaired)]
        rows.append((name, cells, float(found.mean())))
    width = max(sum(c.width for c in cells) + 8 * len(cells) for _, cells, _ in rows)
    sheet = Image.new("RGB", (width, len(rows) * (ROW + LABEL + 8)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (name, cells, share) in enumerate(rows):
        y, x = i * (ROW + LABEL + 8), 0
        titles = (name, f"detected ({100 * share:.1f} % of the print)", "repaired")
        for cell, title in zip(cells, titles, strict=True):
            draw.text((x + 4, y + 3), title, fill="black")
            sheet.paste(cell, (x, y + LABEL))
            x += cell.width + 8
    sheet.save(args.out, quality=88)
    print(f"wrote {args.out}: {len(rows)} prints")


if __name__ == "__main__":
    main()
