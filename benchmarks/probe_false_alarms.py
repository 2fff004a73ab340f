"""False alarms of the damage detector on picture structure, where the truth is exact.

    python benchmarks/probe_false_alarms.py [--models DIR [DIR ...]] [--sensitivity 0.5 0.7]

A 1024x768 flat grey wall with film grain and, on it, marks that are picture, not damage:

- ``isolated``: 72 darker shapes one by one (rectangles 12-32 px wide, framed like windows or
  not, round blobs, mid-grey rectangles only 75 levels darker) far apart; smaller ones would be
  the size of dust specks, which are damage;
- ``facade``: the same rectangles as windows on a regular grid;
- ``lines``: tiles (a regular grid of thin dark lines);
- ``text``: lines of lettering.

For each model folder (default: the shipped models) and sensitivity, it prints the share of the
marks that Detect Damage marks (any pixel of a mark's box; ``lines`` is one mark) and the
share of the wall marked, not grown. Nothing here is damage, so lower is better everywhere.
A pale frame around a dark pane is a combination the training's structure never draws (it
gives a piece of structure one tone): the probe measures generalisation, not recall of the
training data. Prints a markdown table.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from colorstudio.ml.engine import Engine
from colorstudio.ml.requests import DetectDamageRequest

H, W = 768, 1024


def wall(rng: np.random.Generator) -> np.ndarray:
    """H x W float32 grey 0..255: a flat wall with grain."""
    return 185 + rng.normal(0, 3, (H, W)).astype(np.float32)


def isolated(rng: np.random.Generator):
    """(image, boxes): 72 isolated darker shapes on a 12 x 6 grid of far-apart cells."""
    image = Image.fromarray(np.clip(wall(rng), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    boxes = []
    for i in range(72):
        cy, cx = 64 + (i // 12) * 120, 42 + (i % 12) * 84
        size = 12 + (i % 6) * 4
        box = (cx - size // 2, cy - size // 2 - 8, cx + size // 2, cy + size // 2 + 8)
        style = (i // 6) % 4
        if style == 0:
            draw.rectangle(box, fill=40)
        elif style == 1:  # a window: dark pane, pale frame
            draw.rectangle(box, fill=230)
            draw.rectangle((box[0] + 2, box[1] + 2, box[2] - 2, box[3] - 2), fill=35)
        elif style == 2:
            draw.ellipse(box, fill=45)
        else:
            draw.rectangle(box, fill=110)
        boxes.append(box)
    return np.asarray(image), boxes


def facade(rng: np.random.Generator):
    image = Image.fromarray(np.clip(wall(rng), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    boxes = []
    for r in range(6):
        for c in range(12):
            x, y = 60 + c * 78, 60 + r * 110
            box = (x, y, x + 26, y + 48)
            draw.rectangle(box, fill=45)
            boxes.append(box)
    return np.asarray(image), boxes


def tiles(rng: np.random.Generator):
    grey = wall(rng)
    grey[100:668:18, 100:924] = 90
    grey[100:668, 100:924:18] = 90
    return np.clip(grey, 0, 255).astype(np.uint8), [(100, 100, 924, 668)]


def text(rng: np.random.Generator):
    image = Image.fromarray(np.clip(wall(rng), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    boxes = []
    font = ImageFont.load_default(size=16)
    for row in range(10):
        y = 120 + row * 50
        words = "".join(rng.choice(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghij"), 60))
        draw.text((80, y), words, fill=40, font=font)
        boxes.append((80, y, 944, y + 20))
    return np.asarray(image), boxes


SCENES = {"isolated": isolated, "facade": facade, "lines": tiles, "text": text}


def probe(engine: Engine, sensitivity: float) -> dict[str, tuple[float, float]]:
    """Per scene: (share of the marks marked, share of the image marked)."""
    out = {}
    for name, make in SCENES.items():
        grey, boxes = make(np.random.default_rng(0))
        rgb = np.repeat(grey[..., None], 3, axis=2)
        mask = engine.run(DetectDamageRequest(rgb, sensitivity=sensitivity, grow=0)).mask > 0
        hit = [mask[b[1] : b[3] + 1, b[0] : b[2] + 1].any() for b in boxes]
        out[name] = (float(np.mean(hit)), float(mask.mean()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, nargs="*", default=[None])
    parser.add_argument("--sensitivity", type=float, nargs="*", default=[0.5, 0.7])
    args = parser.parse_args()
    print("| models | sensitivity | " + " | ".join(SCENES) + " |")
    print("|---|---|" + "---|" * len(SCENES))
    for models in args.models:
        engine = Engine(models_dir=models)
        for sensitivity in args.sensitivity:
            cells = [
                f"{marks * 100:.0f} % ({area * 100:.2f} %)"
                for marks, area in probe(engine, sensitivity).values()
            ]
            print(f"| {models or 'shipped'} | {sensitivity} | " + " | ".join(cells) + " |")
    print("\nCells: marks found (share of the wall marked). Nothing here is damage.")


if __name__ == "__main__":
    main()
