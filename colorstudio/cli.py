"""Command line: ``colorstudio [FILE]`` opens the editor; subcommands for everything else.

colorstudio [FILE]          open the editor (optionally with an image or .ora project)
colorstudio --version       print the version
colorstudio info            versions, compute device, model folder
"""

from __future__ import annotations

import argparse
import logging
import platform
import sys
from collections.abc import Callable, Sequence

from colorstudio import __version__

log = logging.getLogger(__name__)

SUBCOMMANDS: dict[str, Callable[[Sequence[str]], int]] = {}


def subcommand(name: str):
    def register(func: Callable[[Sequence[str]], int]) -> Callable[[Sequence[str]], int]:
        SUBCOMMANDS[name] = func
        return func

    return register


def _editor_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="colorstudio",
        description="ColorStudio: colourize, restyle and repair images offline.",
        epilog="Subcommands: " + ", ".join(sorted(SUBCOMMANDS)) + " (colorstudio CMD --help)",
    )
    parser.add_argument("file", nargs="?", help="image or .ora project to open")
    parser.add_argument("--version", action="version", version=f"colorstudio {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in SUBCOMMANDS:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        return SUBCOMMANDS[args[0]](args[1:])
    options = _editor_parser().parse_args(args)
    logging.basicConfig(level=logging.DEBUG if options.verbose else logging.WARNING)
    from colorstudio.app import run_editor

    return run_editor(options.file)


def require_torch() -> None:
    """Exit with one clear line if torch/torchvision are broken (for torch subcommands)."""
    from colorstudio.ml.environment import check_torch_stack

    status = check_torch_stack()
    if not status.ok:
        print(f"colorstudio: {status.message}", file=sys.stderr)
        raise SystemExit(3)


@subcommand("info")
def _info(argv: Sequence[str]) -> int:
    argparse.ArgumentParser(
        prog="colorstudio info", description="Print versions and devices."
    ).parse_args(argv)
    import numpy
    import PIL

    from colorstudio import paths
    from colorstudio.ml.environment import check_torch_stack

    rows = [
        ("colorstudio", __version__),
        ("python", platform.python_version()),
        ("numpy", numpy.__version__),
        ("pillow", PIL.__version__),
    ]
    try:
        import PySide6

        rows.append(("PySide6", PySide6.__version__))
    except ImportError as err:
        rows.append(("PySide6", f"missing ({err})"))
    status = check_torch_stack()
    rows.append(("torch", status.torch_version or "missing"))
    rows.append(("torchvision", status.torchvision_version or "broken"))
    if status.ok:
        from colorstudio.ml.environment import describe_device

        device = describe_device()
        rows.append(("device", device["device"]))
        rows.append(("cpu threads", f"{device['cpu_threads']} of {device['cpu_cores']} cores"))
    rows.append(("model folder", str(paths.models_dir())))
    rows.append(("data folder", str(paths.data_dir())))
    width = max(len(key) for key, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    if not status.ok:
        print(f"colorstudio: {status.message}", file=sys.stderr)
        return 3
    return 0
