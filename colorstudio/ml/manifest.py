"""models/manifest.json: the list of shipped models (torch-free, so the UI can read it)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"


class ModelError(Exception):
    """A missing, damaged, tampered or mismatched model. ``str()`` names the file."""


@dataclass(frozen=True)
class ModelEntry:
    name: str
    task: str
    file: str
    architecture: str
    sha256: str
    config: dict[str, Any] = field(default_factory=dict)
    working_size: int = 256
    card: str | None = None
    dtype: str = "float16"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelEntry:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_manifest(models_dir: Path) -> list[ModelEntry]:
    path = Path(models_dir) / MANIFEST
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text())
        return [ModelEntry.from_dict(item) for item in data.get("models", [])]
    except (ValueError, TypeError, AttributeError) as err:
        raise ModelError(f"{path} is damaged and cannot be read ({err})") from None


def find_model(models_dir: Path, task: str, name: str | None = None) -> ModelEntry | None:
    """The named model, or the first model for ``task``."""
    for entry in load_manifest(models_dir):
        if (name is None and entry.task == task) or entry.name == name:
            return entry
    return None
