"""Start-up check of the torch / torchvision pair and a description of the compute device."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

FIX_COMMAND = 'python -m pip install --upgrade "torch>=2.4" "torchvision>=0.19"'


@dataclass(frozen=True)
class TorchStatus:
    ok: bool
    message: str  #: one line for people; empty when ok
    torch_version: str | None = None
    torchvision_version: str | None = None


def check_torch_stack(
    importer: Callable[[str], ModuleType] = importlib.import_module,
) -> TorchStatus:
    """Import torch and torchvision and explain a broken or mismatched pair in one line.

    The classic failure: torchvision built for another torch release fails at import with
    "operator torchvision::nms does not exist".
    """
    try:
        torch = importer("torch")
    except ImportError as err:
        return TorchStatus(False, f"PyTorch is not installed or broken ({err}). Fix: {FIX_COMMAND}")
    torch_version = str(getattr(torch, "__version__", "?"))
    try:
        torchvision = importer("torchvision")
    except (ImportError, RuntimeError, AttributeError) as err:
        text = str(err).splitlines()[0] if str(err) else type(err).__name__
        if "torchvision::nms" in text or "operator" in text:
            reason = (
                f"torchvision does not match torch {torch_version} "
                "(it was built for another release)"
            )
        else:
            reason = f"torchvision cannot be imported with torch {torch_version} ({text})"
        return TorchStatus(False, f"{reason}. Fix: {FIX_COMMAND}", torch_version)
    return TorchStatus(True, "", torch_version, str(getattr(torchvision, "__version__", "?")))


def describe_device() -> dict[str, str]:
    """Which device inference would use, for ``colorstudio info`` and the status bar."""
    import torch

    info = {"cpu_threads": str(torch.get_num_threads()), "cpu_cores": str(os.cpu_count())}
    if torch.cuda.is_available():
        info["device"] = f"cuda ({torch.cuda.get_device_name(0)})"
    else:
        info["device"] = "cpu"
    return info
