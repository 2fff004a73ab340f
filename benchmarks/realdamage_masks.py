"""Make the approximate damage masks of the real damaged prints (../shared/data/realdamage).

There are no true masks for real damage, so each is drawn from a recipe (realdamage/recipe.json
beside the masks) and checked by eye on an overlay:

- ``thin``: thin damage found by a morphological top-hat of the luminance (``bright``: lighter
  than everything within ``size`` px, e.g. cracks where the paper shows; ``dark``: darker, e.g.
  dirt in cracks, specks) by more than ``levels`` (0..255), in components of at least ``min_px``;
- ``include``: polygons (x, y as fractions of the width and height) that limit the thin damage
  to where the print is damaged (a white collar or a sign's letters are thin and bright too);
- ``exclude``: polygons where it is not damage;
- ``fill``: polygons that are damage as a whole (torn corners, lost emulsion, holes);
- ``lines``: cracks painted by hand where the top-hat misses them (``width`` px, ``points``).

Usage: python benchmarks/realdamage_masks.py [--overlays DIR] [NAME ...]; prints each mask's
coverage. The masks are written into tests/data/realdamage/ as 1-bit PNGs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

HERE = Path(__file__).resolve().parent.parent / "tests" / "data" / "realdamage"
PHOTOS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "realdamage"


def _polygons(shape, polys) -> np.ndarray:
    h, w = shape
    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    for poly in polys:
        draw.polygon([(x * w, y * h) for x, y in poly], fill=255)
    return np.asarray(canvas) > 0


def make_mask(rgb: np.ndarray, recipe: dict) -> np.ndarray:
    """The damage mask (H x W bool) of ``rgb`` (H x W x 3 uint8) by ``recipe``."""
    luma = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    shape = luma.shape
    thin = np.zeros(shape, bool)
    for rule in recipe.get("thin", []):
        size = int(rule["size"])
        if rule["kind"] == "bright":
            hat = luma - ndimage.grey_opening(luma, size=(size, size))
        else:
            hat = ndimage.grey_closing(luma, size=(size, size)) - luma
        found = hat > float(rule["levels"])
        labels, n = ndimage.label(found, structure=np.ones((3, 3)))
        sizes = np.bincount(labels.ravel(), minlength=n + 1)
        found &= sizes[labels] >= int(rule.get("min_px", 4))
        thin |= found
    if recipe.get("include"):
        thin &= _polygons(shape, recipe["include"])
    if recipe.get("exclude"):
        thin &= ~_polygons(shape, recipe["exclude"])
    painted = _polygons(shape, recipe.get("fill", []))
    if recipe.get("lines"):
        h, w = shape
        canvas = Image.new("L", (w, h), 0)
        draw = ImageDraw.Draw(canvas)
        for line in recipe["lines"]:
            points = [(x * w, y * h) for x, y in line["points"]]
            draw.line(points, fill=255, width=int(line["width"]), joint="curve")
        painted |= np.asarray(canvas) > 0
    return thin | painted


def overlay(rgb: np.ndarray, mask: np.ndarray) -> Image.Image:
    out = rgb.copy()
    out[mask] = (out[mask] * 0.3 + np.array([255, 0, 0]) * 0.7).astype(np.uint8)
    return Image.fromarray(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--overlays", type=Path)
    args = parser.parse_args()
    recipes = json.loads((HERE / "recipe.json").read_text())
    print("| photo | size | damaged |\n|---|---|---|")
    for name, recipe in recipes.items():
        if args.names and name not in args.names:
            continue
        rgb = np.asarray(Image.open(PHOTOS / f"{name}.jpg").convert("RGB"))
        mask = make_mask(rgb, recipe)
        Image.fromarray(mask).convert("1").save(HERE / f"{name}.png", optimize=True)
        print(f"| {name} | {rgb.shape[1]}x{rgb.shape[0]} | {100 * mask.mean():.2f} % |")
        if args.overlays:
            args.overlays.mkdir(parents=True, exist_ok=True)
            overlay(rgb, mask).save(args.overlays / f"{name}.png")


if __name__ == "__main__":
    main()
