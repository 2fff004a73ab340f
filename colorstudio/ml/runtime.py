"""The runtime every pipeline runs on: device, models, the guarded forward pass, caches.

- device: CUDA when present (``auto``), else the CPU; threads (previews on half the cores);
- backend: the colourizer's forward passes run on ONNX Runtime when it is installed and the
  model ships an ONNX graph (:mod:`onnx_graphs`; ``runtime="auto"`` or ``"onnx"``), else in
  torch (``"torch"``); :meth:`Runtime.run_graph` is the ONNX counterpart of :meth:`forward`;
- models: loaded lazily from models/ with their SHA-256 checked (:mod:`weights`); a missing
  model is None or a clear EngineError, a damaged one a ModelError;
- :meth:`Runtime.forward`: a network step under inference mode (fp16 autocast on CUDA); on
  out-of-memory the step is re-run on the CPU (noted in the result), or the error goes back to
  a tiled caller that retries with smaller tiles (:func:`colorstudio.ml.tiling.run_tiled`);
- :meth:`Runtime.cache`: small named caches of what depends on the photo alone (the network's
  hint-free colours, the hint model's step graph, the stylizer's reconstructions).

Pipelines (:mod:`colorize`, :mod:`stylize`, :mod:`restore`, :mod:`adjust`, :mod:`insight`)
receive a Runtime; :class:`colorstudio.ml.engine.Engine` maps requests to them.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar, cast, overload

import numpy as np
import torch
import torch.nn.functional as F

from colorstudio.core.geometry import fit_long_side
from colorstudio.ml import onnx_graphs
from colorstudio.ml.jobs import EngineError, Job, ResultCache, is_oom
from colorstudio.ml.manifest import find_model, one_line
from colorstudio.ml.weights import load_task_model

if TYPE_CHECKING:
    from colorstudio.ml.networks.colorizer import HintColorizer
    from colorstudio.ml.networks.stylizer import AdaINStylizer

CACHE_SIZE = 4  #: entries per named cache (photo x references x working size, typically)
MIN_TILE = 128  #: out of memory: tiles are halved down to this side, then the CPU takes over

T = TypeVar("T")
RUNTIMES = ("auto", "onnx", "torch")
#: the environment variable that picks the runtime where no --runtime is given (the editor)
RUNTIME_VARIABLE = "COLORSTUDIO_RUNTIME"


def working_shape(height: int, width: int, size: int, multiple: int = 32) -> tuple[int, int]:
    """The shape a network works at: long side ≈ ``size`` (never above the image), each side a
    multiple of ``multiple`` (its encoder's stride) and at least one."""
    return fit_long_side(height, width, size, minimum=multiple, multiple=multiple)


def area_resize(array: np.ndarray, shape: tuple[int, int]) -> torch.Tensor:
    """H x W (x C) array → (1, C, h, w) float32 area average."""
    t = torch.from_numpy(np.array(array, np.float32))
    t = t[None, None] if t.ndim == 2 else t.permute(2, 0, 1)[None]
    return F.adaptive_avg_pool2d(t, shape)


class Runtime:
    """Owns the device, the models and the caches. One worker thread uses it (``lock``)."""

    def __init__(
        self,
        models_dir: str | Path | None = None,
        device: str = "auto",
        threads: int | None = None,
        colorizer: torch.nn.Module | None = None,
        stylizer: torch.nn.Module | None = None,
        colorizer_name: str | None = None,
        detector: torch.nn.Module | None = None,
        inpainter: torch.nn.Module | None = None,
        runtime: str | None = None,
    ) -> None:
        if models_dir is None:
            from colorstudio import paths

            models_dir = paths.models_dir()
        self.models_dir = Path(models_dir)
        self.device = self._pick_device(device)
        self.threads = threads or os.cpu_count() or 1
        #: previews run on half the cores: beside busy programs a preview on every core waits
        #: for the slowest (2 cores, 585 x 800 previews, 1 vs 2 threads interleaved: two busy
        #: processes, median 255 vs 443 ms, slowest 316 vs 2,391 ms; quiet 172 vs 131 ms);
        #: full-size jobs use every core
        self.preview_threads = max(1, self.threads // 2)
        #: the threads the running job uses (set per request by the engine)
        self.active_threads = self.threads
        torch.set_num_threads(self.threads)
        if runtime is None:  # the CLI's --runtime, else the environment, else auto
            runtime = os.environ.get(RUNTIME_VARIABLE, "").strip().lower() or "auto"
        if runtime not in RUNTIMES:
            raise EngineError(f"unknown runtime {runtime!r}: use one of {', '.join(RUNTIMES)}")
        if runtime == "onnx" and not onnx_graphs.available():
            raise EngineError("the ONNX runtime was requested but onnxruntime is not installed")
        self.runtime = runtime
        #: False: not looked up yet; None: the colourizer runs in torch
        self._colorizer_graph: onnx_graphs.OnnxGraph | bool | None = False
        self._colorizer = colorizer
        self._colorizer_injected = colorizer is not None
        self._stylizer = stylizer
        self.colorizer_name = colorizer_name or None  # None: the first colourizer in the manifest
        self._lock = threading.Lock()
        self._detector = detector
        self._inpainter = inpainter
        #: results that depend on the photo alone, kept while the user paints (see cache())
        self._caches: dict[str, ResultCache] = {}
        for model in (colorizer, stylizer, detector, inpainter):
            if model is not None:
                model.eval().to(self.device)

    @staticmethod
    def _pick_device(name: str) -> torch.device:
        if name == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        device = torch.device(name)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise EngineError("CUDA was requested but no CUDA GPU is available; use --device cpu")
        return device

    # ------------------------------------------------------------------ models
    def colorizer(self) -> HintColorizer | None:
        """None when no colourizer is installed; ModelError when it cannot be used."""
        if self._colorizer is None:
            self._colorizer = load_task_model(
                self.models_dir, "colorize", self.device, self.colorizer_name
            )
        # the manifest builds a colorize model as a HintColorizer (networks.GENERATORS)
        return cast("HintColorizer | None", self._colorizer)

    def colorizer_graph(self) -> onnx_graphs.OnnxGraph | None:
        """The colourizer's ONNX graph when its forward passes run on ONNX Runtime, else None
        (runtime "torch", no onnxruntime, a model given as a torch module, or no graph shipped;
        with runtime "onnx" the last is an error). ModelError when the graph is damaged."""
        if self._colorizer_graph is False:
            self._colorizer_graph = None
            injected = self._colorizer_injected  # a torch module given: that is the model
            if self.runtime != "torch" and onnx_graphs.available() and not injected:
                entry = find_model(self.models_dir, "colorize", self.colorizer_name)
                if entry is not None:
                    graph = onnx_graphs.load_graph(entry, self.models_dir, self.device.type)
                    if graph is None and self.runtime == "onnx":
                        raise EngineError(f"model {entry.name} ships no ONNX graph")
                    self._colorizer_graph = graph
        return cast("onnx_graphs.OnnxGraph | None", self._colorizer_graph)

    def runtime_name(self) -> str:
        """What runs the colourizer, for ``colorstudio info`` and the logs."""
        graph = self.colorizer_graph()
        if graph is None:
            return f"PyTorch {torch.__version__} ({self.device.type})"
        import onnxruntime

        provider = onnx_graphs.providers(graph.device)[0].removesuffix("ExecutionProvider")
        ort_name = f"ONNX Runtime {onnxruntime.__version__} ({provider})"
        return f"{ort_name}: colourizer; PyTorch {torch.__version__} ({self.device.type}): the rest"

    def run_graph(
        self, graph: onnx_graphs.OnnxGraph, outputs: list[str] | None, **inputs: np.ndarray
    ) -> list[np.ndarray]:
        """Run an ONNX graph on the job's threads; its failures as one-line EngineErrors."""
        try:
            return graph.run(self.active_threads, outputs, **inputs)
        except EngineError:
            raise
        except Exception as err:  # ONNX Runtime raises its own exception types
            text = str(err)
            if "bad_alloc" in text or "bad allocation" in text or "Failed to allocate" in text:
                raise EngineError(
                    "not enough memory for this image: lower the working size"
                ) from None
            raise EngineError(
                f"the {graph.entry.name} network failed ({one_line(text, 160)})"
            ) from None

    def stylizer(self) -> AdaINStylizer:
        # the manifest builds a stylize model as an AdaINStylizer (networks.GENERATORS)
        return cast("AdaINStylizer", self._task_model("_stylizer", "stylize", "style"))

    @overload
    def _task_model(
        self, attribute: str, task: str, what: str, required: Literal[True] = True
    ) -> torch.nn.Module: ...
    @overload
    def _task_model(
        self, attribute: str, task: str, what: str, required: bool
    ) -> torch.nn.Module | None: ...
    def _task_model(
        self, attribute: str, task: str, what: str, required: bool = True
    ) -> torch.nn.Module | None:
        """The model for ``task``, loaded once; a damaged one raises ModelError (an
        EngineError), a missing one EngineError unless not ``required`` (then None)."""
        model = getattr(self, attribute)
        if model is None:
            model = load_task_model(self.models_dir, task, self.device)
            if model is None and required:
                raise EngineError(f"no {what} model is installed in the models folder")
            setattr(self, attribute, model)
        return model

    def detector(self) -> torch.nn.Module:
        return self._task_model("_detector", "detect", "damage detection")

    def inpainter(self, required: bool = True) -> torch.nn.Module | None:
        """The inpainter; ``required=False`` returns None when none is installed (the caller
        falls back to the classical fill) but still refuses a damaged model file."""
        return self._task_model("_inpainter", "inpaint", "inpainting", required)

    def _autocast(self):
        if self.device.type == "cuda" and torch.cuda.is_available():
            return torch.autocast("cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    def forward(
        self,
        model: torch.nn.Module,
        job: Job,
        fn: Callable[[torch.device], torch.Tensor],
        cpu_fallback: bool = True,
    ) -> torch.Tensor:
        """Run ``fn(device)`` under inference mode (and fp16 autocast on CUDA).

        On out-of-memory: with ``cpu_fallback`` a CUDA step is re-run on the CPU (noted in the
        result); without it the error propagates so the caller can retry with smaller tiles.
        """
        try:
            with torch.inference_mode(), self._autocast():
                return fn(self.device).float()
        except RuntimeError as err:
            if not is_oom(err) or not cpu_fallback:
                raise
            if self.device.type == "cpu":
                raise EngineError(
                    "not enough memory for this image: lower the working size"
                ) from None
            job.notes.append("GPU out of memory: this step ran on the CPU")
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            model.to("cpu")
            try:
                with torch.inference_mode():
                    return fn(torch.device("cpu")).float()
            finally:
                model.to(self.device)

    def with_smaller_tiles(self, job: Job, tile: int, attempt: Callable[[int, bool], T]) -> T:
        """``attempt(tile, last_try)``: a tiled pass. On out-of-memory the tile is halved (down
        to MIN_TILE, noted in the result) and the pass run again; in the pass at MIN_TILE
        ``last_try`` is True, and the pass lets :meth:`forward` fall back to the CPU."""
        while True:
            last_try = tile <= MIN_TILE
            try:
                return attempt(tile, last_try)
            except RuntimeError as err:
                if not is_oom(err) or last_try:
                    raise
                tile = max(MIN_TILE, tile // 2)
                job.notes.append(f"out of memory: retried with {tile} px tiles")

    def cache(self, name: str) -> ResultCache:
        """The named cache (created on first use, CACHE_SIZE entries)."""
        if name not in self._caches:
            self._caches[name] = ResultCache(CACHE_SIZE)
        return self._caches[name]
