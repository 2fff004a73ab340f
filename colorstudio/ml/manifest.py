"""models/manifest.json: the list of shipped models (torch-free, so the UI can read it).

Every entry is checked against a schema before anything uses it (:meth:`ModelEntry.from_dict`):
the required fields and their types, a known task, a SHA-256 of 64 hex digits, a positive
working size, and ``file`` / ``card`` as plain file names in the model folder. A model file is
opened only through :func:`model_path`, which also refuses symbolic links and anything that
resolves outside the folder. Any problem is a :class:`ModelError` of one line.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path, PureWindowsPath
from typing import Any

from colorstudio.ml.jobs import EngineError

MANIFEST = "manifest.json"
TASKS = ("colorize", "stylize", "detect", "inpaint")
#: the network architecture that does each task (``networks.ARCHITECTURES`` builds them)
ARCHITECTURES = {
    "colorize": "colorizer_lite0",
    "stylize": "stylizer_adain",
    "detect": "detector_unet",
    "inpaint": "inpainter_gated",
}
REINSTALL = "reinstall ColorStudio's models"
_SHA256 = re.compile(r"[0-9a-f]{64}")


def one_line(text: object, limit: int = 300) -> str:
    """``text`` on one line (line breaks become spaces), at most ``limit`` characters."""
    line = " ".join(str(text).split("\n")).replace("\r", " ")
    return line if len(line) <= limit else line[: limit - 1] + "…"


class ModelError(EngineError):
    """A missing, damaged, tampered or mismatched model, or a bad manifest: one line that names
    the file. ``problem`` is what is wrong, ``str()`` adds the advice. An EngineError, so a
    model that cannot be loaded reaches the user as any request that cannot be served does."""

    def __init__(self, problem: str, advice: str = "") -> None:
        self.problem = one_line(problem)
        super().__init__(f"{self.problem}; {advice}" if advice else self.problem)


def file_name_problem(value: object) -> str | None:
    """Why ``value`` is not a plain file name (no folders, no "..", not absolute); None if it is."""
    if not isinstance(value, str) or not value.strip():
        return "must be a file name"
    if "/" in value or "\\" in value or "\0" in value or PureWindowsPath(value).drive:
        return f"must be a plain file name in the model folder, not a path ({value!r})"
    if value in (".", ".."):
        return f"must be a file name, not {value!r}"
    return None


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
    #: the same network as ONNX graphs (``train onnx``): part → file (``"main"`` for a network
    #: exported whole; the stylizer's ``"encoder"`` and ``"decoder"``), and part → SHA-256;
    #: None when it ships none. A single file name (the first format) reads as part "main".
    onnx: dict[str, str] | None = None
    onnx_sha256: dict[str, str] | None = None

    def graph_file(self, part: str = "main") -> tuple[str, str] | None:
        """(file, SHA-256) of one ONNX graph, or None when the model ships no such graph."""
        if self.onnx is None or self.onnx_sha256 is None or part not in self.onnx:
            return None
        return self.onnx[part], self.onnx_sha256[part]

    @classmethod
    def from_dict(cls, data: object) -> ModelEntry:
        """A checked entry; ModelError (the field and what is wrong) if it breaks the schema.
        Fields the schema does not know are ignored."""
        if not isinstance(data, dict):
            raise ModelError(f"is a {type(data).__name__}, not an object")
        for key in ("name", "task", "file", "architecture", "sha256"):
            if key not in data:
                raise ModelError(f"lacks the required field {key!r}")
            if not isinstance(data[key], str) or not data[key]:
                raise ModelError(f"field {key!r} must be a non-empty string")
        problems = {
            "task": None if data["task"] in TASKS else f"is {data['task']!r}, not one of {TASKS}",
            # another task's network under this task (an unknown name, maybe a newer
            # version's, fails only when that model is loaded)
            "architecture": f"is {data['architecture']!r}, which does not {data['task']}"
            if data["task"] in TASKS
            and data["architecture"] in ARCHITECTURES.values()
            and data["architecture"] != ARCHITECTURES[data["task"]]
            else None,
            "sha256": None if _SHA256.fullmatch(data["sha256"].lower()) else "is not 64 hex digits",
            "file": file_name_problem(data["file"]),
            "card": None if data.get("card") is None else file_name_problem(data["card"]),
            "config": None if isinstance(data.get("config", {}), dict) else "must be an object",
            "dtype": None if isinstance(data.get("dtype", ""), str) else "must be a string",
        }
        graphs, hashes = _parts(data.get("onnx")), _parts(data.get("onnx_sha256"))
        if data.get("onnx") is not None:
            if graphs is None or not graphs:
                problems["onnx"] = "must be a file name or an object of part names and file names"
            else:
                problems["onnx"] = next(filter(None, map(file_name_problem, graphs.values())), None)
                if (
                    hashes is None
                    or set(hashes) != set(graphs)
                    or not all(
                        isinstance(v, str) and _SHA256.fullmatch(v.lower()) for v in hashes.values()
                    )
                ):
                    problems["onnx_sha256"] = "must be 64 hex digits for each file 'onnx' names"
        size = data.get("working_size", 256)
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            problems["working_size"] = f"must be a positive whole number, not {size!r}"
        for key, problem in problems.items():
            if problem:
                raise ModelError(f"field {key!r} {problem}")
        known = set(cls.__dataclass_fields__)
        entry = {k: v for k, v in data.items() if k in known}
        if graphs is None or hashes is None:
            entry["onnx"] = entry["onnx_sha256"] = None
        else:
            entry["onnx"] = dict(graphs)
            entry["onnx_sha256"] = {k: str(v).lower() for k, v in hashes.items()}
        return cls(**{**entry, "sha256": data["sha256"].lower()})


def _parts(value: object) -> dict[str, object] | None:
    """The manifest's ``onnx`` / ``onnx_sha256`` as part → value (a plain string is the part
    "main"); None when absent or of another type."""
    if isinstance(value, str):
        return {"main": value}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return dict(value)
    return None


def model_path(entry: ModelEntry, models_dir: Path, name: str | None = None) -> Path:
    """The path of ``entry``'s weight file (or of ``name``, its card) in ``models_dir``; refuses
    anything but a plain file name, a symbolic link, and a path that resolves outside."""
    name = entry.file if name is None else name
    problem = file_name_problem(name)
    if problem:
        raise ModelError(f"model {entry.name!r}: the manifest's file name {problem}", REINSTALL)
    folder = Path(models_dir)
    path = folder / name
    if path.is_symlink():
        raise ModelError(f"model file {name} is a symbolic link, which is refused", REINSTALL)
    if not path.resolve().is_relative_to(folder.resolve()):
        raise ModelError(f"model file {name} lies outside the model folder {folder}", REINSTALL)
    return path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_verified(path: Path, sha256: str, models_dir: Path) -> bytes:
    """The bytes of model file ``path``, checked against ``sha256``: the bytes checked are the
    bytes loaded (no swap between the two). ModelError (one line) when the file is missing,
    unreadable or not the one the manifest names."""
    if not path.is_file():
        raise ModelError(f"model file {path.name} is missing from {models_dir}", REINSTALL)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ModelError(f"model file {path.name} cannot be read ({err.strerror})") from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256.lower():
        raise ModelError(
            f"model file {path.name} has been modified or damaged (SHA-256 mismatch: "
            f"{actual[:12]}…, the manifest expects {sha256[:12]}…)",
            REINSTALL,
        )
    return data


def write_manifest(models_dir: Path, entries: list[ModelEntry]) -> None:
    """Replace ``models_dir/manifest.json`` with ``entries`` (atomically)."""
    from colorstudio.core.io.atomic import atomic_write_bytes

    manifest = {"models": [asdict(e) for e in entries]}
    atomic_write_bytes(
        Path(models_dir) / MANIFEST, (json.dumps(manifest, indent=1) + "\n").encode()
    )


def load_manifest(models_dir: Path) -> list[ModelEntry]:
    """The checked entries of ``models_dir/manifest.json`` ([] without one)."""
    path = Path(models_dir) / MANIFEST
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise ModelError(f"{path} is damaged: nested too deeply", REINSTALL) from None
    except (OSError, ValueError) as err:  # UnicodeDecodeError and JSONDecodeError included
        reason = "cannot be read" if isinstance(err, OSError) else "is damaged: not valid JSON"
        raise ModelError(f"{path} {reason} ({one_line(err, 120)})", REINSTALL) from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        raise ModelError(f'{path} is damaged: it must be an object with a "models" list', REINSTALL)
    entries = []
    for number, item in enumerate(data["models"], 1):
        try:
            entries.append(ModelEntry.from_dict(item))
        except ModelError as err:
            name = item.get("name") if isinstance(item, dict) else None
            which = f"entry {number}" + (f" ({name!r})" if isinstance(name, str) else "")
            raise ModelError(f"{path} is damaged: {which} {err.problem}", REINSTALL) from None
    return entries


def find_model(models_dir: Path, task: str, name: str | None = None) -> ModelEntry | None:
    """The model for ``task`` named ``name``, or the first model for ``task``."""
    for entry in load_manifest(models_dir):
        if entry.task == task and (name is None or entry.name == name):
            return entry
    return None
