"""Start-up checks: what runs the networks (ONNX Runtime in the app profile, PyTorch in the
``train`` profile), the torch / torchvision pair where torch is installed, and a description of
the compute device."""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

FIX_COMMAND = 'python -m pip install --upgrade "torch>=2.4" "torchvision>=0.19"'
RUNTIME_FIX = 'python -m pip install --upgrade "onnxruntime>=1.18"'


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


@dataclass(frozen=True)
class RuntimeStatus:
    ok: bool
    message: str  #: one line for people; empty when ok
    label: str = ""  #: what runs the networks, for the status bar ("ONNX Runtime 1.20")


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def check_runtime(
    importer: Callable[[str], ModuleType] = importlib.import_module,
    installed: Callable[[str], bool] | None = None,
) -> RuntimeStatus:
    """Whether the networks can run: ONNX Runtime (the app profile) runs them all, so where it
    works torch is not imported (a cold start would pay 1-2 s for it; ``require_torch`` checks
    the torch / torchvision pair before training). Without ONNX Runtime, a working torch pair
    (the ``train`` profile) must run them."""
    installed = installed or _installed
    if installed("onnxruntime"):
        try:
            label = f"ONNX Runtime {importer('onnxruntime').__version__}"
        except ImportError as err:
            return RuntimeStatus(False, f"ONNX Runtime is broken ({err}). Fix: {RUNTIME_FIX}")
        return RuntimeStatus(True, "", label)
    if installed("torch"):
        status = check_torch_stack(importer)
        if not status.ok:
            return RuntimeStatus(False, status.message)
        return RuntimeStatus(True, "", f"torch {status.torch_version}")
    return RuntimeStatus(False, f"no runtime for the networks is installed. Fix: {RUNTIME_FIX}")


def describe_device() -> dict[str, str]:
    """Which device inference would use, for ``colorstudio info`` and the status bar."""
    from colorstudio.ml.runtime import cuda_available

    info = {"cpu_cores": str(os.cpu_count())}
    info["device"] = "cuda" if cuda_available() else "cpu"
    if info["device"] == "cuda" and _installed("torch"):
        import torch

        if torch.cuda.is_available():
            info["device"] = f"cuda ({torch.cuda.get_device_name(0)})"
    return info
