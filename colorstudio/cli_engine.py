"""``colorstudio colorize`` and ``colorstudio stylize``: the engine on single files."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from colorstudio.cli import positive_int, require_torch, subcommand
from colorstudio.core.io.errors import FileFormatError
from colorstudio.core.io.images import load_image, save_image


class CommandError(Exception):
    """Bad input on the command line; printed as one line."""


DETAIL_HELP = "how much of the photo's fine detail to keep, 0..1 (1: sharp at any size)"


def check_fractions(args: argparse.Namespace, *names: str) -> None:
    """Options that must lie within 0..1 (strength, alpha, detail…): one clear line if not."""
    for name in names:
        value = getattr(args, name, None)
        if value is not None and not 0.0 <= value <= 1.0:
            raise CommandError(f"--{name.replace('_', '-')} must be within 0..1, not {value:g}")


def hints_from_json(path: str | Path, height: int, width: int) -> np.ndarray:
    """hints.json (a list of {x, y, radius, rgb}) → H x W x 4 uint8 hint layer."""
    try:
        points = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise CommandError(f"cannot read hints file {path}: {err}") from None
    if not isinstance(points, list):
        raise CommandError(f"{path}: expected a list of {{x, y, radius, rgb}} objects")
    layer = np.zeros((height, width, 4), np.uint8)
    yy, xx = np.mgrid[0:height, 0:width]
    for i, point in enumerate(points):
        try:
            x, y = float(point["x"]), float(point["y"])
            radius = float(point.get("radius", 3))
            rgb = [int(c) for c in point["rgb"]]
            if len(rgb) != 3 or not all(0 <= c <= 255 for c in rgb) or radius <= 0:
                raise ValueError("rgb needs three values 0..255 and radius must be positive")
        except (KeyError, TypeError, ValueError) as err:
            raise CommandError(f"{path}: hint {i} is invalid ({err})") from None
        if not (0 <= x < width and 0 <= y < height):
            raise CommandError(
                f"{path}: hint {i} at ({x:g}, {y:g}) lies outside the {width} x {height} image"
            )
        y0, y1 = int(max(0, y - radius)), int(min(height, y + radius + 1))
        x0, x1 = int(max(0, x - radius)), int(min(width, x + radius + 1))
        disc = (yy[y0:y1, x0:x1] + 0.5 - y) ** 2 + (xx[y0:y1, x0:x1] + 0.5 - x) ** 2 <= radius**2
        layer[y0:y1, x0:x1][disc] = (*rgb, 255)
    return layer


def _mask(path: str | None, shape: tuple[int, int]) -> np.ndarray | None:
    if path is None:
        return None
    rgba = load_image(path).rgba
    if rgba.shape[:2] != shape:
        raise CommandError(
            f"the mask is {rgba.shape[1]} x {rgba.shape[0]}, the image {shape[1]} x {shape[0]}"
        )
    grey = rgba[..., :3].mean(axis=2) * (rgba[..., 3] / 255.0)
    return np.clip(grey + 0.5, 0, 255).astype(np.uint8)


def _engine(args):
    from colorstudio.ml.engine import Engine

    return Engine(models_dir=args.models, device=args.device, threads=args.threads)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="image to process")
    parser.add_argument("output", help="where to write the result (.png, .jpg, .tif, .webp)")
    parser.add_argument("--mask", help="greyscale image: white = change, black = keep")
    parser.add_argument("--strength", type=float, default=1.0, help="0..1 (default 1)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--threads", type=int, help="CPU threads")
    parser.add_argument("--models", help="model folder (default: the shipped models)")
    parser.add_argument("--quality", type=int, default=92, help="JPEG/WebP quality")


def _run(build, args) -> int:
    require_torch()
    from colorstudio.ml.engine import EngineError

    try:
        imported = load_image(args.input)
        request = build(imported.rgba)
        started = time.perf_counter()
        result = _engine(args).run(request)
        out = (
            result.image
            if result.image.shape[2] == 4
            else np.dstack([result.image, imported.rgba[..., 3]])
        )
        save_image(args.output, out, quality=args.quality, exif=imported.exif)
    except (CommandError, FileFormatError, EngineError, OSError) as err:
        print(f"colorstudio: {err}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - started
    notes = f" ({'; '.join(result.notes)})" if result.notes else ""
    print(f"{args.output}: {result.engine} on {result.device}, {seconds:.2f} s{notes}")
    return 0


@subcommand("colorize")
def colorize_command(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="colorstudio colorize", description="Colourize an image.")
    _common(parser)
    parser.add_argument("--hints", help="hints.json: a list of {x, y, radius, rgb} points")
    parser.add_argument(
        "--reference", action="append", default=[], help="palette reference photo (repeatable)"
    )
    parser.add_argument(
        "--size", type=int, default=384, help="working size (long side the net sees)"
    )
    parser.add_argument("--engine", default="auto", choices=["auto", "gan", "levin", "reinhard"])
    args = parser.parse_args(argv)

    def build(rgba: np.ndarray):
        from colorstudio.ml.requests import ColorizeRequest, ReferenceImage

        check_fractions(args, "strength")
        h, w = rgba.shape[:2]
        hints = hints_from_json(args.hints, h, w) if args.hints else None
        refs = tuple(ReferenceImage(load_image(p).rgba[..., :3]) for p in args.reference)
        return ColorizeRequest(
            rgba[..., :3],
            hints=hints,
            mask=_mask(args.mask, (h, w)),
            strength=args.strength,
            references=refs,
            working_size=args.size,
            engine=args.engine,
        )

    return _run(build, args)


@subcommand("stylize")
def stylize_command(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="colorstudio stylize", description="Restyle an image after a painting."
    )
    _common(parser)
    parser.add_argument("--style", required=True, help="the painting whose style to use")
    parser.add_argument("--alpha", type=float, default=1.0, help="style strength 0..1")
    parser.add_argument("--detail", type=float, default=1.0, help=DETAIL_HELP)
    parser.add_argument("--keep-colour", action="store_true", help="keep the photo's colours")
    parser.add_argument("--size", type=int, default=768, help="processing size (long side)")
    parser.add_argument("--tile", type=int, default=512, help="tile size for large images")
    args = parser.parse_args(argv)

    def build(rgba: np.ndarray):
        from colorstudio.ml.requests import ReferenceImage, StylizeRequest

        check_fractions(args, "alpha", "detail", "strength")
        style = ReferenceImage(load_image(args.style).rgba[..., :3], "style")
        return StylizeRequest(
            rgba[..., :3],
            style=style,
            alpha=args.alpha,
            detail=args.detail,
            keep_colour=args.keep_colour,
            mask=_mask(args.mask, rgba.shape[:2]),
            strength=args.strength,
            working_size=args.size,
            tile_size=args.tile,
        )

    return _run(build, args)


@subcommand("restore")
def restore_command(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="colorstudio restore",
        description="Repair an old photo: find scratches, dust, cracks, stains, folds and torn "
        "corners (or use --mask), fill them in, and optionally colourize.",
    )
    parser.add_argument("input", help="photo to repair")
    parser.add_argument("output", help="where to write the result (.png, .jpg, .tif, .webp)")
    parser.add_argument("--mask", help="damage mask image (white = damaged); skips detection")
    parser.add_argument("--save-mask", help="also write the detected damage mask here")
    parser.add_argument(
        "--sensitivity",
        type=float,
        default=0.5,
        help="detection, between 0 and 1 (exclusive): higher finds more",
    )
    parser.add_argument("--grow", type=int, default=1, help="pixels added around found damage")
    parser.add_argument("--colorize", action="store_true", help="colourize after repairing")
    parser.add_argument("--reference", action="append", default=[], help="palette for --colorize")
    parser.add_argument("--size", type=int, default=2048, help="inpainting working size")
    parser.add_argument("--engine", default="auto", choices=["auto", "gan", "classical"])
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--threads", type=int, help="CPU threads")
    parser.add_argument("--models", help="model folder (default: the shipped models)")
    parser.add_argument("--quality", type=int, default=92, help="JPEG/WebP quality")
    args = parser.parse_args(argv)
    require_torch()
    from colorstudio.ml.engine import EngineError

    started = time.perf_counter()
    try:
        imported = load_image(args.input)
        rgba = imported.rgba
        engine = _engine(args)
        result = restore_image(engine, rgba, args)
        save_image(args.output, result.image, quality=args.quality, exif=imported.exif)
    except (CommandError, FileFormatError, EngineError, OSError, ValueError) as err:
        print(f"colorstudio: {err}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - started
    print(f"{args.output}: {result.summary}, {seconds:.2f} s on {engine.device}")
    return 0


class RestoreOutcome:
    def __init__(self, image: np.ndarray, summary: str) -> None:
        self.image = image
        self.summary = summary


def restore_image(engine, rgba: np.ndarray, args) -> RestoreOutcome:
    """detect (or --mask) → inpaint → optionally colourize; shared with ``batch restore``."""
    from colorstudio.ml.requests import (
        ColorizeRequest,
        DetectDamageRequest,
        ReferenceImage,
        RestoreRequest,
    )

    h, w = rgba.shape[:2]
    steps = []
    if getattr(args, "mask", None):
        mask = _mask(args.mask, (h, w))
    else:
        found = engine.run(
            DetectDamageRequest(rgba[..., :3], sensitivity=args.sensitivity, grow=args.grow)
        )
        mask = found.mask
        steps.append(f"detector found {np.count_nonzero(mask) / mask.size:.2%} damaged")
        if getattr(args, "save_mask", None):
            save_image(args.save_mask, np.dstack([mask, mask, mask, np.full_like(mask, 255)]))
    repaired = engine.run(
        RestoreRequest(rgba, mask, engine=args.engine, working_size=args.size)
    ).image
    steps.append("nothing to repair" if not np.any(mask) else "repaired")
    if args.colorize:
        refs = tuple(ReferenceImage(load_image(p).rgba[..., :3]) for p in args.reference)
        colour = engine.run(ColorizeRequest(repaired[..., :3], references=refs, working_size=384))
        repaired = np.dstack([colour.image[..., :3], repaired[..., 3]])
        steps.append(f"colourized ({colour.engine})")
    return RestoreOutcome(repaired, ", ".join(steps))


@subcommand("eval")
def eval_command(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="colorstudio eval", description="Evaluate a model on a folder of photos."
    )
    parser.add_argument("task", choices=["colorize", "style", "restore"])
    parser.add_argument("folder", help="folder of colour photos (ground truth / content)")
    parser.add_argument("--styles", help="folder of paintings (style evaluation)")
    parser.add_argument("--out", default="eval", help="folder for report.md and contact_sheet.png")
    parser.add_argument(
        "--size", type=int, help="working size (colorize and style: 256; restore: 384)"
    )
    parser.add_argument("--limit", type=int, help="only the first N images")
    parser.add_argument(
        "--draws",
        type=positive_int,
        help="colorize: sets of random hints per photo and hint count (default: evaluate.DRAWS, 3)",
    )
    parser.add_argument("--models", help="model folder (default: the shipped models)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int)
    args = parser.parse_args(argv)
    require_torch()
    from colorstudio.ml.engine import EngineError
    from colorstudio.ml.train.data import list_images

    try:
        files = list_images([args.folder])[: args.limit]
        if args.task == "style" and not args.styles:
            raise CommandError("eval style needs --styles FOLDER (paintings)")
        paintings = list_images([args.styles]) if args.task == "style" else []
    except (FileNotFoundError, CommandError) as err:
        print(f"colorstudio: {err}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sheet = out / "contact_sheet.png"
    try:
        if args.task == "colorize":
            from colorstudio.ml.evaluate import DRAWS, evaluate_colorize

            report = evaluate_colorize(
                _engine(args),
                files,
                working_size=args.size or 256,
                sheet_path=sheet,
                draws=args.draws or DRAWS,
            )
        elif args.task == "style":
            from colorstudio.ml.evaluate import evaluate_style

            report = evaluate_style(
                _engine(args), files, paintings, size=args.size or 256, sheet_path=sheet
            )
        else:
            from colorstudio.ml.evaluate_restore import evaluate_restore

            report = evaluate_restore(_engine(args), files, size=args.size or 384, sheet_path=sheet)
    except (EngineError, RuntimeError) as err:
        print(f"colorstudio: {err}", file=sys.stderr)
        return 2
    text = report.markdown()
    (out / "report.md").write_text(text + "\n")
    print(text)
    return 0


@subcommand("batch")
def batch_command(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="colorstudio batch",
        description="Process a folder tree of photos. Resumable: finished outputs are skipped.",
    )
    parser.add_argument("task", choices=["colorize", "stylize", "restore"])
    parser.add_argument("input_dir")
    parser.add_argument("output_dir")
    parser.add_argument("--size", type=int, help="working size (default 384; stylize: 768)")
    parser.add_argument(
        "--reference", action="append", default=[], help="palette reference (colorize)"
    )
    parser.add_argument("--style", help="painting (stylize)")
    parser.add_argument("--alpha", type=float, default=1.0, help="style strength 0..1")
    parser.add_argument("--detail", type=float, default=1.0, help="stylize: " + DETAIL_HELP)
    parser.add_argument(
        "--keep-colour", action="store_true", help="stylize: keep the photo's colours"
    )
    parser.add_argument(
        "--sensitivity",
        type=float,
        default=0.5,
        help="restore: damage detection, between 0 and 1 (exclusive)",
    )
    parser.add_argument("--colorize", action="store_true", help="restore: colourize afterwards")
    parser.add_argument("--report", help="CSV report (default OUTPUT_DIR/report.csv)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--models", help="model folder (default: the shipped models)")
    parser.add_argument("--quality", type=int, default=92)
    args = parser.parse_args(argv)
    require_torch()
    from tqdm import tqdm

    from colorstudio.batch import BatchError, plan, run_batch
    from colorstudio.ml.engine import EngineError
    from colorstudio.ml.requests import ColorizeRequest, ReferenceImage, StylizeRequest

    try:
        pairs = plan(Path(args.input_dir), Path(args.output_dir))
        if args.task == "stylize" and not args.style:
            raise BatchError("stylize needs --style PAINTING")
        check_fractions(args, "alpha", "detail")
        refs = tuple(ReferenceImage(load_image(p).rgba[..., :3]) for p in args.reference)
        style = (
            ReferenceImage(load_image(args.style).rgba[..., :3], "style") if args.style else None
        )
        engine = _engine(args)
    except (BatchError, CommandError, FileFormatError, EngineError) as err:
        print(f"colorstudio: {err}", file=sys.stderr)
        return 2

    def process(imported):
        rgb = imported.rgba[..., :3]
        if args.task == "restore":
            options = argparse.Namespace(
                mask=None,
                save_mask=None,
                sensitivity=args.sensitivity,
                grow=1,
                engine="auto",
                size=args.size or 2048,
                colorize=args.colorize,
                reference=args.reference,
            )
            try:
                return restore_image(engine, imported.rgba, options)
            except EngineError as err:
                raise RuntimeError(str(err)) from None
        if args.task == "colorize":
            request = ColorizeRequest(rgb, references=refs, working_size=args.size or 384)
        else:
            request = StylizeRequest(
                rgb,
                style=style,
                alpha=args.alpha,
                detail=args.detail,
                keep_colour=args.keep_colour,
                working_size=args.size or 768,
            )
        try:
            return engine.run(request)
        except EngineError as err:
            raise RuntimeError(str(err)) from None

    report = Path(args.report) if args.report else Path(args.output_dir) / "report.csv"
    with tqdm(total=len(pairs), unit="image", dynamic_ncols=True) as bar:
        done = sum(1 for _src, dst in pairs if dst.exists())
        bar.update(done)
        summary = run_batch(
            pairs, process, report, args.quality, progress=lambda i, n: bar.update(1)
        )
    print(
        f"{summary.done} done, {summary.skipped} already done, {summary.failed} failed; "
        f"report: {report}"
    )
    for name, error in summary.failures[:10]:
        print(f"  failed: {name}: {error}")
    if summary.interrupted:
        print("interrupted: run the same command again to continue")
        return 130
    return 1 if summary.failed else 0
