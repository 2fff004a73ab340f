"""The subcommand registry (``colorstudio CMD``), shared by :mod:`colorstudio.cli` and the
modules that define subcommands (:mod:`colorstudio.cli_engine`), so neither imports the other
back. No torch here."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

#: subcommand name → fn(arguments after the name) → exit status
SUBCOMMANDS: dict[str, Callable[[Sequence[str]], int]] = {}


def subcommand(name: str):
    """Register the decorated function as ``colorstudio NAME``."""

    def register(func: Callable[[Sequence[str]], int]) -> Callable[[Sequence[str]], int]:
        SUBCOMMANDS[name] = func
        return func

    return register


def require_torch() -> None:
    """Exit with one clear line unless a working torch/torchvision pair is installed (the
    ``train`` profile: training, export, evaluation)."""
    from colorstudio.ml.environment import check_torch_stack
    from colorstudio.ml.runtime import torch_installed

    if not torch_installed():
        print(
            "colorstudio: this command needs PyTorch, which the app profile leaves out. "
            'Fix: python -m pip install "colorstudio[train]"',
            file=sys.stderr,
        )
        raise SystemExit(3)
    status = check_torch_stack()
    if not status.ok:
        print(f"colorstudio: {status.message}", file=sys.stderr)
        raise SystemExit(3)


def require_runtime() -> None:
    """Exit with one clear line unless the networks can run (ONNX Runtime or PyTorch)."""
    from colorstudio.ml.environment import check_runtime

    status = check_runtime()
    if not status.ok:
        print(f"colorstudio: {status.message}", file=sys.stderr)
        raise SystemExit(3)
