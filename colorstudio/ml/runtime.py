"""The runtime every pipeline runs on: device, models, the guarded network step, caches.

- device: CUDA when present (``auto``), else the CPU; threads (previews on half the cores);
- networks: the pipelines call each network as a :class:`Net`, ``run(threads, outputs,
  **inputs)`` on float32 numpy arrays, so everything around the networks is one numpy
  implementation. ONNX Runtime runs the network (:mod:`onnx_graphs`) when it is installed and
  the model ships a graph (``runtime="auto"`` or ``"onnx"``); PyTorch runs it otherwise
  (``"torch"``, or a model given as a torch module: :mod:`torch_nets`, the ``train`` install
  profile). Torch is imported only on that path: the app profile runs without it;
- models: loaded lazily from models/ with their SHA-256 checked (:mod:`manifest`); a missing
  model is None or a clear EngineError, a damaged one a ModelError;
- :meth:`Runtime.run_net`: a network step on the job's threads; ONNX Runtime's errors become
  one-line EngineErrors; out of memory, a tiled caller retries with smaller tiles
  (:meth:`with_smaller_tiles`), then a torch step on CUDA runs again on the CPU (noted);
- :meth:`Runtime.cache`: small named caches of what depends on the photo alone (the network's
  hint-free colours, the hint model's step graph, the stylizer's encodings and reconstructions).

Pipelines (:mod:`colorize`, :mod:`stylize`, :mod:`restore`, :mod:`adjust`, :mod:`insight`)
receive a Runtime; :class:`colorstudio.ml.engine.Engine` maps requests to them.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

import numpy as np

from colorstudio.core.geometry import fit_long_side
from colorstudio.ml import onnx_graphs
from colorstudio.ml.jobs import EngineError, Job, ResultCache, is_oom
from colorstudio.ml.manifest import ARCHITECTURES, ModelError, find_model, one_line

if TYPE_CHECKING:
    import torch

    from colorstudio.ml.networks.colorizer import HintColorizer
    from colorstudio.ml.networks.stylizer import AdaINStylizer

CACHE_SIZE = 4  #: entries per named cache (photo x references x working size, typically)
MIN_TILE = 128  #: out of memory: tiles are halved down to this side, then the CPU takes over

T = TypeVar("T")
RUNTIMES = ("auto", "onnx", "torch")
#: the environment variable that picks the runtime where no --runtime is given (the editor)
RUNTIME_VARIABLE = "COLORSTUDIO_RUNTIME"


#: task → (the Runtime attribute holding its torch module, what the user calls the model)
_MODELS = {
    "colorize": ("_colorizer", "colourization"),
    "stylize": ("_stylizer", "style"),
    "detect": ("_detector", "damage detection"),
    "inpaint": ("_inpainter", "inpainting"),
}
#: task → the graphs its network runs as (``networks.graphs.GRAPHS``, which needs torch)
PARTS = {
    "colorize": ("main",),
    "stylize": ("encoder", "decoder"),
    "detect": ("main",),
    "inpaint": ("main",),
}


class Net(Protocol):
    """A network as the pipelines call it (an ONNX graph or a torch module)."""

    @property
    def device(self) -> str: ...

    def run(
        self, threads: int, outputs: list[str] | None = None, **inputs: np.ndarray
    ) -> list[np.ndarray]: ...


def torch_installed() -> bool:
    """Whether PyTorch can be imported (the ``train`` profile), without importing it."""
    if "torch" in sys.modules:
        return True
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


def nvidia_driver_present() -> bool:
    """Whether an NVIDIA driver is installed (no GPU without one): checked without importing
    torch, whose import costs a cold start 1-2 s."""
    if sys.platform.startswith("linux"):
        return Path("/proc/driver/nvidia/version").exists()
    if sys.platform == "win32":
        import ctypes.util

        return ctypes.util.find_library("nvcuda") is not None
    return False  # macOS: no CUDA


def cuda_available() -> bool:
    """A CUDA GPU that ONNX Runtime (onnxruntime-gpu) or PyTorch can use."""
    if not nvidia_driver_present():
        return False
    if onnx_graphs.available() and "CUDAExecutionProvider" in onnx_graphs.providers("cuda"):
        return True
    if torch_installed():
        import torch

        return torch.cuda.is_available()
    return False


def working_shape(height: int, width: int, size: int, multiple: int = 32) -> tuple[int, int]:
    """The shape a network works at: long side ≈ ``size`` (never above the image), each side a
    multiple of ``multiple`` (its encoder's stride) and at least one."""
    return fit_long_side(height, width, size, minimum=multiple, multiple=multiple)


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
        quantized: bool = True,
    ) -> None:
        if models_dir is None:
            from colorstudio import paths

            models_dir = paths.models_dir()
        self.models_dir = Path(models_dir)
        #: "cpu", "cuda" or "cuda:N"
        self.device = self._pick_device(device)
        self.threads = threads or os.cpu_count() or 1
        #: previews run on half the cores: beside busy programs a preview on every core waits
        #: for the slowest (2 cores, 585 x 800 previews, 1 vs 2 threads interleaved: two busy
        #: processes, median 255 vs 443 ms, slowest 316 vs 2,391 ms; quiet 172 vs 131 ms);
        #: full-size jobs use every core
        self.preview_threads = max(1, self.threads // 2)
        #: the threads the running job uses (set per request by the engine)
        self.active_threads = self.threads
        if runtime is None:  # the CLI's --runtime, else the environment, else auto
            runtime = os.environ.get(RUNTIME_VARIABLE, "").strip().lower() or "auto"
        if runtime not in RUNTIMES:
            raise EngineError(f"unknown runtime {runtime!r}: use one of {', '.join(RUNTIMES)}")
        if runtime == "onnx" and not onnx_graphs.available():
            raise EngineError("the ONNX runtime was requested but onnxruntime is not installed")
        if runtime == "torch" and not torch_installed():
            raise EngineError(
                "the torch runtime was requested but PyTorch is not installed: "
                'pip install "colorstudio[train]"'
            )
        self.runtime = runtime
        #: ONNX Runtime on the CPU runs a model's int8 graphs where it ships them
        self.quantized = quantized
        self._nets: dict[tuple[str, str], Net] = {}
        self._net_names: dict[tuple[str, str], str] = {}
        #: the models :meth:`net` handed out since the last reset, in order, each once
        #: (``Engine.run`` resets it per request, so a result can say which models made it)
        self.models_used: dict[str, None] = {}
        self._colorizer = colorizer
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
    def _pick_device(name: str) -> str:
        if name == "auto":
            return "cuda" if cuda_available() else "cpu"
        if not re.fullmatch(r"cpu|cuda(:\d+)?", name):
            raise EngineError(f"unknown device {name!r}: use auto, cpu or cuda")
        if name.startswith("cuda") and not cuda_available():
            raise EngineError("CUDA was requested but no CUDA GPU is available; use --device cpu")
        return name

    @property
    def device_type(self) -> str:
        """The device kind: "cpu" or "cuda"."""
        return self.device.split(":")[0]

    # ------------------------------------------------------------------ models
    def colorizer(self) -> HintColorizer | None:
        """The colourizer as a torch module (the ``train`` profile: evaluation, training
        tools); None when none is installed; ModelError when it cannot be used. Pipelines call
        :meth:`colorizer_net`."""
        # the manifest builds a colorize model as a HintColorizer (networks.GENERATORS)
        return cast("HintColorizer | None", self.torch_model("colorize", required=False))

    def stylizer(self) -> AdaINStylizer:
        """The stylizer as a torch module (see :meth:`colorizer`)."""
        return cast("AdaINStylizer", self.torch_model("stylize"))

    def torch_model(self, task: str, required: bool = True) -> torch.nn.Module | None:
        """The torch module for ``task``, loaded once (given to the constructor, or from the
        models folder); a damaged one raises ModelError (an EngineError), a missing one
        EngineError unless not ``required`` (then None)."""
        attribute, what = _MODELS[task]
        model = getattr(self, attribute)
        if model is None:
            from colorstudio.ml.weights import load_task_model

            model = load_task_model(self.models_dir, task, self.device, self._model_name(task))
            if model is None and required:
                raise EngineError(f"no {what} model is installed in the models folder")
            setattr(self, attribute, model)
        return model

    def colorizer_net(self) -> Net | None:
        """The colourizer as the pipelines call it (inputs ``l``, ``hints``, ``code``;
        outputs ``ab``, ``features``); None when no colourizer is installed."""
        return self.net("colorize")

    def net(self, task: str, part: str = "main") -> Net | None:
        """Graph ``part`` of the model for ``task`` as the pipelines call it
        (:mod:`colorstudio.ml.networks.graphs`), on ONNX Runtime or in torch (see the module
        doc); None when no such model is installed. ModelError when the model is damaged;
        EngineError when no installed runtime can run it."""
        key = (task, part)
        if part not in PARTS[task]:
            raise EngineError(f"the {task} network has no part {part!r}")
        if key not in self._nets:
            attribute, _what = _MODELS[task]
            given = getattr(self, attribute)  # a torch module given: that is the model
            entry = find_model(self.models_dir, task, self._model_name(task))
            if given is None and entry is None:
                return None
            graph = None
            if given is None and entry is not None and self._onnx_for(self.device_type):
                graph = onnx_graphs.load_graph(
                    entry, self.models_dir, self.device_type, part, self.quantized
                )
                if graph is None and self.runtime == "onnx":
                    raise EngineError(f"model {entry.name} ships no ONNX graph")
            if graph is not None:
                self._nets[key] = graph
            else:
                if given is None and not torch_installed():
                    name = entry.name if entry is not None else task
                    raise ModelError(  # a model this installation cannot use: auto falls back
                        f"model {name} ships no ONNX graph and PyTorch is not installed",
                        "write its graphs (train onnx) or install colorstudio[train]",
                    )
                model = given if given is not None else self.torch_model(task)
                assert model is not None  # (torch_model raises where there is none)
                architecture = entry.architecture if entry is not None else ARCHITECTURES[task]
                from colorstudio.ml.torch_nets import torch_net

                self._nets[key] = torch_net(
                    model, architecture, part, _MODELS[task][1], self.device
                )
            self._net_names[key] = entry.name if given is None and entry is not None else task
        self.models_used[self._net_names[key]] = None
        return self._nets[key]

    def _model_name(self, task: str) -> str | None:
        return self.colorizer_name if task == "colorize" else None

    def _onnx_for(self, device_type: str) -> bool:
        """Whether ONNX Runtime runs the networks: asked for, or on auto when it is installed
        and can use the device (a CUDA GPU that only torch can use goes to torch)."""
        if self.runtime == "torch" or not onnx_graphs.available():
            return False
        if self.runtime == "onnx" or device_type == "cpu":
            return True
        return "CUDAExecutionProvider" in onnx_graphs.providers("cuda") or not torch_installed()

    def runtime_name(self) -> str:
        """What runs the installed networks, for ``colorstudio info`` and the logs: "ONNX
        Runtime 1.20.0 (CPU)", or per runtime the models it runs where they differ."""
        import importlib.metadata

        names: dict[str, list[str]] = {}
        for task in _MODELS:
            try:
                net = self.net(task, PARTS[task][0])
            except EngineError as err:
                names.setdefault(f"unusable ({err})", []).append(task)
                continue
            if net is None:
                continue
            if isinstance(net, onnx_graphs.OnnxGraph):
                version = importlib.metadata.version("onnxruntime")
                provider = onnx_graphs.providers(net.device)[0].removesuffix("ExecutionProvider")
                int8 = ", int8" if net.int8 else ""
                names.setdefault(f"ONNX Runtime {version} ({provider}{int8})", []).append(task)
            else:
                version = importlib.metadata.version("torch")
                names.setdefault(f"PyTorch {version} ({net.device})", []).append(task)
        if not names:
            return "no models installed"
        if len(names) == 1:
            return next(iter(names))
        return "; ".join(f"{name}: {', '.join(tasks)}" for name, tasks in names.items())

    def run_net(
        self,
        net: Net,
        job: Job,
        outputs: list[str] | None = None,
        *,
        cpu_fallback: bool = True,
        **inputs: np.ndarray,
    ) -> list[np.ndarray]:
        """Run a network on the job's threads; its failures become one-line EngineErrors.

        Out of memory: with ``cpu_fallback`` a torch step on CUDA runs again on the CPU (noted
        in the result), and on the CPU the user is told to lower the working size; without it
        a RuntimeError propagates, so a tiled caller retries with smaller tiles
        (:meth:`with_smaller_tiles`)."""
        name = getattr(getattr(net, "entry", None), "name", None) or getattr(net, "name", "a")
        try:
            return net.run(self.active_threads, outputs, **inputs)
        except EngineError:
            raise
        except Exception as err:  # ONNX Runtime raises its own exception types
            if not is_oom(err):
                text = one_line(err, 160)
                raise EngineError(f"the {name} network failed ({text})") from None
            if not cpu_fallback:
                raise RuntimeError(f"out of memory in the {name} network") from None
            if net.device == "cuda" and hasattr(net, "run_on_cpu"):
                job.notes.append("GPU out of memory: this step ran on the CPU")
                try:
                    return cast(Any, net).run_on_cpu(self.active_threads, outputs, **inputs)
                except Exception as again:
                    if not is_oom(again):
                        text = one_line(again, 160)
                        raise EngineError(f"the {name} network failed ({text})") from None
            raise EngineError("not enough memory for this image: lower the working size") from None

    def with_smaller_tiles(self, job: Job, tile: int, attempt: Callable[[int, bool], T]) -> T:
        """``attempt(tile, last_try)``: a tiled pass. On out-of-memory the tile is halved (down
        to MIN_TILE, noted in the result) and the pass run again; in the pass at MIN_TILE
        ``last_try`` is True, and the pass lets :meth:`run_net` fall back to the CPU."""
        while True:
            last_try = tile <= MIN_TILE
            try:
                return attempt(tile, last_try)
            except RuntimeError as err:
                if not is_oom(err) or last_try:
                    raise
                tile = max(MIN_TILE, tile // 2)
                job.notes.append(f"out of memory: retried with tiles of at most {tile} px")

    def cache(self, name: str) -> ResultCache:
        """The named cache (created on first use, CACHE_SIZE entries)."""
        if name not in self._caches:
            self._caches[name] = ResultCache(CACHE_SIZE)
        return self._caches[name]
