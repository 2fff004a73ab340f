"""Checks of what the command line is given, before any work starts.

- argparse ``type=`` functions: a bad value ends in argparse's usage line and one error line,
  exit code 2 (sizes, fractions, quality, threads, device…).
- :func:`hints_from_json`: the hints file against a strict schema with limits.
- :func:`check_outputs`: the files a command writes, checked up front (format, folder, and never
  one of the files it reads).

No torch here: the checks run before the engine is imported.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from colorstudio.core.io.atomic import same_file
from colorstudio.core.io.errors import FileFormatError
from colorstudio.core.io.images import export_format, export_size_problem, load_image
from colorstudio.ml.requests import STYLE_DETAIL, STYLE_TILE, STYLE_WORKING_SIZE


class CommandError(Exception):
    """Bad input on the command line; printed as one line."""


#: working sizes (the long side a network sees): below 64 px the networks see nothing useful;
#: above 32,768 px (the largest image side ColorStudio opens) there is nothing to gain
MIN_SIZE, MAX_SIZE = 64, 32768
#: stylize tiles: at least the engine's own smallest tile (twice the 64 px overlap)
MIN_TILE = 128
#: restore --grow: pixels added around found damage (a dilation per pixel: keep it bounded)
MAX_GROW = 100
#: hints files: at most this many points, and this many bytes
MAX_HINT_COVER = 16  #: the hints' discs may cover the image at most this many times over
MAX_HINTS = 10_000
MAX_HINTS_BYTES = 16 * 1024 * 1024

DEVICE_HELP = "auto, cpu, cuda or cuda:N (default auto: the GPU if there is one)"


def whole_number(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number of ``minimum`` or more (and ``maximum`` or less)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more, not {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be {maximum} or less, not {value}")
        return value

    return parse


non_negative_int = whole_number(0)
positive_int = whole_number(1)
working_size = whole_number(MIN_SIZE, MAX_SIZE)
tile_size = whole_number(MIN_TILE, MAX_SIZE)
quality = whole_number(1, 100)
grow_pixels = whole_number(0, MAX_GROW)
#: more threads than this only cost start-up time (1,000 took 87 s on a 64 px image)
MAX_THREADS = 256
thread_count = whole_number(1, MAX_THREADS)


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, not {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, not {text!r}")
    return value


def fraction(text: str) -> float:
    """An argparse type: a finite number within 0..1 (strength, alpha, detail)."""
    value = _finite(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be within 0..1, not {value:g}")
    return value


def open_fraction(text: str) -> float:
    """An argparse type: a number strictly between 0 and 1 (detection sensitivity)."""
    value = _finite(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (exclusive), not {value:g}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number above 0 (learning rate, minutes)."""
    value = _finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0, not {value:g}")
    return value


def non_negative_float(text: str) -> float:
    """An argparse type: a finite number of 0 or more (loss weights)."""
    value = _finite(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value:g}")
    return value


_DEVICE = re.compile(r"auto|cpu|cuda(:\d{1,3})?")


def device(text: str) -> str:
    """An argparse type: auto, cpu, cuda or cuda:N (checked without importing torch)."""
    if not _DEVICE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"must be auto, cpu, cuda or cuda:N, not {text!r}")
    return text


# ---------------------------------------------------------------------------- hints


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed: every number must be finite")


def _json_kind(value: object) -> str:
    kinds = {bool: "true/false", str: "text", list: "a list", dict: "an object"}
    return "null" if value is None else kinds.get(type(value), type(value).__name__)


def _number(point: dict, key: str, default: float | None = None) -> float:
    if key not in point:
        if default is None:
            raise ValueError(f"{key} is missing")
        return default
    value = point[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{key} must be a number, not {_json_kind(value)}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ValueError(f"{key} must be a finite number")
    return number


def _hint(point: object, height: int, width: int) -> tuple[float, float, float, list[int]]:
    """One validated hint (x, y, radius, rgb); ValueError says what is wrong."""
    if not isinstance(point, dict):
        raise ValueError("expected an object {x, y, radius, rgb}")
    unknown = sorted(set(point) - {"x", "y", "radius", "rgb"})
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r:.40} (keys: x, y, radius, rgb)")
    x, y = _number(point, "x"), _number(point, "y")
    radius = _number(point, "radius", default=3)
    if not 0 < radius <= max(height, width):
        raise ValueError(f"radius must be above 0 and at most {max(height, width)}, not {radius:g}")
    if not (0 <= x < width and 0 <= y < height):
        raise ValueError(f"({x:g}, {y:g}) lies outside the {width} x {height} image")
    rgb = point.get("rgb")
    if (
        not isinstance(rgb, list)
        or len(rgb) != 3
        or not all(type(c) is int and 0 <= c <= 255 for c in rgb)
    ):
        raise ValueError("rgb needs three whole numbers 0..255")
    return x, y, radius, rgb


def hints_from_json(path: str | Path, height: int, width: int) -> np.ndarray:
    """hints.json (a list of {x, y, radius, rgb}) → H x W x 4 uint8 hint layer.

    Schema: a list of at most :data:`MAX_HINTS` objects with the keys x, y (finite numbers inside
    the image), radius (optional, default 3: above 0, at most the image's long side) and rgb
    (three whole numbers 0..255). NaN and Infinity are refused; any fault is one
    :class:`CommandError` line naming the hint."""
    if os.path.exists(path) and not (os.path.isfile(path) or os.path.isdir(path)):
        raise CommandError(f"hints file {path} is not a file (a pipe or a device)")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_HINTS_BYTES + 1)
        if len(data) > MAX_HINTS_BYTES:
            raise CommandError(f"{path}: a hints file may hold at most {MAX_HINTS_BYTES} bytes")
        points = json.loads(data, parse_constant=_reject_constant)
    except RecursionError:
        raise CommandError(f"{path}: nested too deeply to be a hints file") from None
    except FileNotFoundError:
        raise CommandError(f"hints file {path}: file not found") from None
    except IsADirectoryError:
        raise CommandError(f"hints file {path} is a folder") from None
    except OSError as err:
        raise CommandError(f"hints file {path} cannot be read: {err.strerror or err}") from None
    except UnicodeDecodeError:
        raise CommandError(f"hints file {path} is not JSON text (an image?)") from None
    except ValueError as err:  # JSONDecodeError and the refused constants
        raise CommandError(f"hints file {path} is not valid JSON: {err}") from None
    if not isinstance(points, list):
        raise CommandError(f"{path}: expected a list of {{x, y, radius, rgb}} objects")
    if len(points) > MAX_HINTS:
        raise CommandError(f"{path}: {len(points)} hints; at most {MAX_HINTS} are allowed")
    hints = []
    for i, point in enumerate(points):
        try:
            hints.append(_hint(point, height, width))
        except ValueError as err:
            raise CommandError(f"{path}: hint {i} is invalid ({err})") from None
    painted = sum(  # each disc costs its box, clipped to the image: bound the work
        min(2 * r + 1, height) * min(2 * r + 1, width) for _x, _y, r, _rgb in hints
    )
    if painted > max(MAX_HINT_COVER * height * width, 1 << 24):
        raise CommandError(
            f"{path}: the hints' discs would cover the image {painted / (height * width):,.0f} "
            f"times over; at most {MAX_HINT_COVER} (use fewer or smaller hints)"
        )
    layer = np.zeros((height, width, 4), np.uint8)
    for x, y, radius, rgb in hints:
        y0, y1 = int(max(0, y - radius)), int(min(height, y + radius + 1))
        x0, x1 = int(max(0, x - radius)), int(min(width, x + radius + 1))
        yy, xx = np.ogrid[y0:y1, x0:x1]
        disc = (yy + 0.5 - y) ** 2 + (xx + 0.5 - x) ** 2 <= radius**2
        layer[y0:y1, x0:x1][disc] = (*rgb, 255)
    return layer


# ---------------------------------------------------------------------------- outputs


def check_export_size(path: str | os.PathLike[str] | None, rgba: np.ndarray) -> None:
    """Once the input is decoded, before any work: CommandError when its size is beyond what
    the output's format can hold (a WebP is at most 16,383 px a side)."""
    if path:
        problem = export_size_problem(export_format(path), rgba.shape[1], rgba.shape[0])
        if problem:
            raise CommandError(f"{path}: {problem}")


def check_outputs(
    reads: Iterable[str | os.PathLike[str] | None],
    writes: Iterable[tuple[str, str | os.PathLike[str] | None]],
) -> None:
    """Before any work: every written image has a format ColorStudio exports, a folder that
    exists, and is none of the files read nor another output. ``writes``: (what, path) pairs
    such as ("output", "out.png") or ("--save-mask", "mask.png"); None entries are skipped."""
    read = [r for r in reads if r]
    written: list[tuple[str, str | os.PathLike[str]]] = []
    for what, path in writes:
        if not path:
            continue
        try:
            export_format(path)
        except FileFormatError as err:
            raise CommandError(f"{what} {path}: {err}") from None
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise CommandError(f"{what} {path}: the folder {folder} does not exist")
        if os.path.isdir(path):
            raise CommandError(f"{what} {path} is a folder: name an image file")
        for source in read:
            if same_file(path, source):
                raise CommandError(
                    f"{what} {path} is the input {source}: inputs are never overwritten, "
                    "choose another file"
                )
        for other, earlier in written:
            if same_file(path, earlier):
                raise CommandError(f"{what} {path} is also the {other}: choose another file")
        written.append((what, path))


# ---------------------------------------------------------------------------- parsers


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (the usage block is in --help)."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


DETAIL_HELP = (
    "how much of the photo's own structure to keep over the painting's drawing, 0..1 "
    f"(default {STYLE_DETAIL:g}: as painted; finer detail is always kept)"
)
SIZES = f"{MIN_SIZE}..{MAX_SIZE} px"


def engine_options(parser: argparse.ArgumentParser) -> None:
    """--device, --threads, --models: for every command that runs the engine."""
    parser.add_argument("--device", type=device, default="auto", help=DEVICE_HELP)
    parser.add_argument("--threads", type=thread_count, help=f"CPU threads (1 to {MAX_THREADS})")
    parser.add_argument("--models", help="model folder (default: the shipped models)")
    parser.add_argument(
        "--runtime",
        choices=("auto", "onnx", "torch"),
        default=None,
        help="what runs the networks: onnx (ONNX Runtime), torch, or auto (ONNX Runtime where "
        "installed; default, or the COLORSTUDIO_RUNTIME environment variable)",
    )


def output_options(parser: argparse.ArgumentParser) -> None:
    """The engine options and --quality: for every command that writes images."""
    engine_options(parser)
    parser.add_argument(
        "--quality", type=quality, default=92, help="JPEG/WebP quality, 1..100 (default 92)"
    )


def size_option(parser: argparse.ArgumentParser, default: int, what: str) -> None:
    parser.add_argument(
        "--size", type=working_size, default=default, help=f"{what}, {SIZES} (default {default})"
    )


def batch_parser() -> argparse.ArgumentParser:
    """``colorstudio batch TASK IN_DIR OUT_DIR``: one sub-parser (and --help) per task."""
    parser = Parser(
        prog="colorstudio batch",
        description="Process a folder tree of photos. Resumable: finished outputs are skipped.",
    )
    tasks = parser.add_subparsers(dest="task", required=True, metavar="TASK", title="tasks")
    common = Parser(add_help=False)
    common.add_argument("input_dir", help="folder of photos, searched recursively (only read)")
    common.add_argument(
        "output_dir", help="folder for the results, mirroring the input's (not inside it)"
    )
    common.add_argument("--report", help="CSV report (default OUTPUT_DIR/report.csv)")
    output_options(common)

    def task(name: str, description: str) -> argparse.ArgumentParser:
        return tasks.add_parser(
            name,
            parents=[common],
            help=description,
            description=description,
            prog=f"colorstudio batch {name}",
        )

    colorize = task("colorize", "Colourize every photo.")
    colorize.add_argument(
        "--reference", action="append", default=[], help="palette reference photo (repeatable)"
    )
    size_option(colorize, 384, "working size: the long side the network sees")
    stylize = task("stylize", "Restyle every photo after a painting.")
    stylize_options(stylize)
    restore = task("restore", "Repair every photo (find the damage, fill it in).")
    restore_options(restore)
    return parser


def stylize_options(parser: argparse.ArgumentParser) -> None:
    """The style options of ``stylize`` and ``batch stylize``."""
    parser.add_argument("--style", required=True, help="the painting whose style to use")
    parser.add_argument(
        "--alpha", type=fraction, default=1.0, help="style strength, 0..1 (default 1)"
    )
    parser.add_argument("--detail", type=fraction, default=STYLE_DETAIL, help=DETAIL_HELP)
    parser.add_argument(
        "--keep-colour",
        "--keep-color",
        dest="keep_color",
        action="store_true",
        help="keep the photo's colours",
    )
    size_option(parser, STYLE_WORKING_SIZE, "working size: the long side the brushwork is drawn at")
    parser.add_argument(
        "--tile",
        type=tile_size,
        default=STYLE_TILE,
        help=f"tile size for large working sizes, {MIN_TILE} px or more (default {STYLE_TILE})",
    )


def restore_options(parser: argparse.ArgumentParser) -> None:
    """The repair options of ``restore`` and ``batch restore``."""
    parser.add_argument(
        "--sensitivity",
        type=open_fraction,
        default=0.5,
        help="damage detection, between 0 and 1 (exclusive): higher finds more (default 0.5)",
    )
    parser.add_argument(
        "--grow",
        type=grow_pixels,
        default=1,
        help=f"pixels added around found damage, 0..{MAX_GROW} (default 1)",
    )
    parser.add_argument("--colorize", action="store_true", help="colourize after repairing")
    parser.add_argument(
        "--reference", action="append", default=[], help="palette for --colorize (repeatable)"
    )
    size_option(parser, 2048, "inpainting working size")


def mask_image(path: str | None, shape: tuple[int, int]) -> np.ndarray | None:
    """The mask file at ``path`` (None: no mask) as H x W uint8 0..255, checked against the
    image's ``shape`` (H, W): its grey level times its alpha."""
    if path is None:
        return None
    rgba = load_image(path).rgba
    if rgba.shape[:2] != shape:
        raise CommandError(
            f"the mask is {rgba.shape[1]} x {rgba.shape[0]}, the image {shape[1]} x {shape[0]}"
        )
    grey = rgba[..., :3].mean(axis=2) * (rgba[..., 3] / 255.0)
    return np.clip(grey + 0.5, 0, 255).astype(np.uint8)
