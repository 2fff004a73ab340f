"""Command line: ``colorstudio [FILE]`` opens the editor; subcommands for everything else.

colorstudio [FILE]          open the editor (optionally with an image or .ora project)
colorstudio --version       print the version
colorstudio info            versions, compute device, model folder
"""

from __future__ import annotations

import argparse
import difflib
import logging
import os
import platform
import sys
from collections.abc import Sequence

from colorstudio import __version__, crash_log
from colorstudio.cli_args import Parser, positive_float
from colorstudio.cli_commands import SUBCOMMANDS, subcommand

log = logging.getLogger(__name__)


#: the window says "Colourize": its spelling works on the command line too
ALIASES = {"colourize": "colorize", "colourise": "colorize", "colorise": "colorize"}


def _register_commands() -> None:
    """Import the modules that define more subcommands (none imports torch at import time)."""
    import colorstudio.cli_engine
    import colorstudio.cli_train  # noqa: F401


def _editor_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="colorstudio",
        description="ColorStudio: colourize, restyle and repair images offline.",
        epilog="Subcommands: " + ", ".join(sorted(SUBCOMMANDS)) + " (colorstudio CMD --help)",
    )
    parser.add_argument("file", nargs="?", help="image or .ora project to open")
    parser.add_argument("--version", action="version", version=f"colorstudio {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    parser.add_argument("--quit-after", type=_seconds, metavar="SECONDS", help=argparse.SUPPRESS)
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="open the window offscreen, colourize a sample with the default model, check it, exit",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The entry point: a failure nothing expected is one line (details in the error log)."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("colorstudio: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`colorstudio info | head`): not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - Python's flush at exit goes here
        return 0
    except Exception as error:  # the last resort: never a traceback
        from colorstudio import crash_log

        print(f"colorstudio: {crash_log.report(error)}", file=sys.stderr)
        return 1


def _main(argv: Sequence[str] | None) -> int:
    _register_commands()
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ALIASES and not os.path.exists(args[0]):
        args[0] = ALIASES[args[0]]
    if args and args[0] in SUBCOMMANDS:
        crash_log.configure_logging(logging.INFO, "%(levelname)s %(name)s: %(message)s")
        return SUBCOMMANDS[args[0]](args[1:])
    unknown = _unknown_command(args[0]) if args else None
    if unknown is not None:
        print(f"colorstudio: {unknown}", file=sys.stderr)
        return 2
    options = _editor_parser().parse_args(args)
    crash_log.configure_logging(logging.DEBUG if options.verbose else logging.WARNING)
    if options.self_test:
        from colorstudio.selftest import run_self_test

        return run_self_test()
    from colorstudio.qt_check import startup_problem

    problem = startup_problem()
    if problem is not None:
        print(f"colorstudio: {problem}", file=sys.stderr)
        return 3
    from colorstudio.app import run_editor

    return run_editor(options.file, options.quit_after)


def _seconds(text: str) -> float:
    """--quit-after (tests, benchmarks): above 0 and at most a day (a timer's range)."""
    value = positive_float(text)
    if value > 86_400:
        raise argparse.ArgumentTypeError(f"must be at most 86400 (a day), not {value:g}")
    return value


def _unknown_command(word: str) -> str | None:
    """The complaint for a first argument that is neither a command nor a file: a bare word
    (no extension, no folder) that does not exist, e.g. a mistyped command."""
    if not word or word.startswith("-") or "." in word or os.sep in word or "/" in word:
        return None
    if os.path.exists(word):
        return None
    close = difflib.get_close_matches(word, SUBCOMMANDS, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"'{word}' is not a command or a file ({hint}commands: {', '.join(sorted(SUBCOMMANDS))})"


@subcommand("info")
def _info(argv: Sequence[str]) -> int:
    Parser(prog="colorstudio info", description="Print versions and devices.").parse_args(argv)
    import numpy
    import PIL

    from colorstudio import paths
    from colorstudio.ml.environment import check_runtime, check_torch_stack
    from colorstudio.ml.runtime import torch_installed

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
    try:
        import onnxruntime

        rows.append(("onnxruntime", onnxruntime.__version__))
    except ImportError:
        rows.append(("onnxruntime", "missing"))
    if torch_installed():
        torch_status = check_torch_stack()
        rows.append(("torch", torch_status.torch_version or "broken"))
        rows.append(("torchvision", torch_status.torchvision_version or "broken"))
    else:
        rows.append(("torch", "not installed (the train profile adds it)"))
    status = check_runtime()
    if status.ok:
        from colorstudio.ml.environment import describe_device

        device = describe_device()
        rows.append(("device", f"{device['device']}, {device['cpu_cores']} CPU cores"))
    else:
        rows.append(("problem", status.message))
    rows.append(("model folder", str(paths.models_dir())))
    from colorstudio.ml.manifest import ModelError, load_manifest

    try:
        models = load_manifest(paths.models_dir())
        listing = (
            ", ".join(f"{m.name} ({m.task})" for m in models) or "none (classical engines only)"
        )
    except ModelError as err:
        listing = str(err)
    rows.append(("models", listing))
    if status.ok:
        from colorstudio.ml.jobs import EngineError
        from colorstudio.ml.runtime import Runtime

        try:
            rows.append(("runtime", Runtime(models_dir=paths.models_dir()).runtime_name()))
        except EngineError as err:
            rows.append(("runtime", str(err)))
    rows.append(("data folder", str(paths.data_dir())))
    width = max(len(key) for key, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    if not status.ok:
        print(f"colorstudio: {status.message}", file=sys.stderr)
        return 3
    return 0
