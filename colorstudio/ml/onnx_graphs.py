"""Shipped networks as ONNX graphs run by ONNX Runtime (numpy in, numpy out; no torch).

A graph file is named by its manifest entry (``onnx``) and checked against the entry's
``onnx_sha256`` before ONNX Runtime sees it: the bytes checked are the bytes loaded. Sessions
are opened lazily, one per thread count (previews run on half the cores, full-size jobs on
all; see ``Runtime.preview_threads``), on the CPU or, when the device is CUDA and
onnxruntime-gpu is installed, on the CUDA execution provider.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

from colorstudio.ml.manifest import (
    REINSTALL,
    ModelEntry,
    ModelError,
    model_path,
    one_line,
    read_verified,
)

#: ONNX Runtime's session option for its threads' spin-waiting after a run (see
#: :meth:`OnnxGraph.session`)
SPINNING = "session.intra_op.allow_spinning"


def available() -> bool:
    """Whether ONNX Runtime is installed."""
    return importlib.util.find_spec("onnxruntime") is not None


def providers(device: str) -> list[str]:
    """Execution providers for a device type ("cpu" or "cuda"), best first."""
    import onnxruntime as ort

    have = ort.get_available_providers()
    wanted = ["CUDAExecutionProvider"] if device == "cuda" else []
    return [p for p in wanted if p in have] + ["CPUExecutionProvider"]


class OnnxGraph:
    """One verified graph; :meth:`run` takes float32 arrays by input name."""

    def __init__(
        self,
        entry: ModelEntry,
        data: bytes,
        device: str = "cpu",
        file: str = "",
        int8: bool = False,
    ) -> None:
        self.entry = entry
        self.file = file  #: the graph's file name (errors name it)
        self.int8 = int8  #: an int8 graph (``load_graph``)
        self.device = device
        self._data = data
        self._sessions: dict[tuple[int, str], object] = {}

    def session(self, threads: int, device: str | None = None):
        """The session on ``threads`` threads and ``device`` (default: the graph's)."""
        device = device or self.device
        if (threads, device) not in self._sessions:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            if threads >= (os.cpu_count() or 1):
                # a session on every core must not spin: its threads would keep the cores busy
                # after each run, the cores numpy needs for the work between graphs (and other
                # programs want); on 2 cores a new-painting stylize at 1024x768 took 0.19
                # instead of 0.16 s. With cores to spare, spinning costs nobody and saves
                # wake-ups.
                options.add_session_config_entry(SPINNING, "0")
            options.log_severity_level = 3  # errors only: no warnings on a user's terminal
            try:
                self._sessions[threads, device] = ort.InferenceSession(
                    self._data, options, providers=providers(device)
                )
            except Exception as err:  # ORT raises its own types for a bad graph
                raise ModelError(
                    f"model file {self.file} is not a usable ONNX graph ({one_line(err, 120)})",
                    REINSTALL,
                ) from None
        return self._sessions[threads, device]

    def run(
        self, threads: int, outputs: list[str] | None = None, **inputs: np.ndarray
    ) -> list[np.ndarray]:
        """The graph's outputs (all, or those named) for float32 ``inputs``."""
        feed = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in inputs.items()}
        return self.session(threads).run(outputs, feed)  # type: ignore[attr-defined]

    def run_on_cpu(
        self, threads: int, outputs: list[str] | None = None, **inputs: np.ndarray
    ) -> list[np.ndarray]:
        """:meth:`run` on the CPU execution provider (the GPU ran out of memory)."""
        feed = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in inputs.items()}
        return self.session(threads, "cpu").run(outputs, feed)  # type: ignore[attr-defined]


def load_graph(
    entry: ModelEntry,
    models_dir: Path,
    device: str = "cpu",
    part: str = "main",
    quantized: bool = True,
) -> OnnxGraph | None:
    """The entry's verified ONNX graph ``part``, or None when it ships none; ModelError (one
    line) when the file is missing, unreadable or not the one the manifest names. On the CPU,
    with ``quantized``, the part's int8 graph (``<part>.int8``) where the model ships one:
    2.6-3.6x faster than float on the stylizer (docs/style.md); a GPU runs the float graph."""
    int8 = quantized and device == "cpu" and entry.graph_file(f"{part}.int8") is not None
    found = entry.graph_file(f"{part}.int8" if int8 else part)
    if found is None:
        return None
    file, sha256 = found
    data = read_verified(model_path(entry, models_dir, file), sha256, models_dir)
    return OnnxGraph(entry, data, device, file, int8)
