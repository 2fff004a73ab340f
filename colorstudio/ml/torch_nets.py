"""The torch runtime: a network (one of :data:`colorstudio.ml.networks.graphs.GRAPHS`'
wrappers) behind the same call as an ONNX graph, ``run(threads, outputs, **inputs)`` on float32
numpy arrays, so the pipelines around the networks are one numpy implementation whichever
runtime runs the network. Needs the ``train`` install profile (torch)."""

from __future__ import annotations

import contextlib
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from colorstudio.ml.networks.graphs import GRAPHS


class TorchNet:
    """A torch module with named float32 inputs and outputs, on ``device``, in inference mode
    (fp16 autocast on CUDA). ``name``: what errors call it."""

    def __init__(
        self, module: nn.Module, inputs: list[str], outputs: list[str], name: str, device: str
    ) -> None:
        self.module = module.eval()
        self.inputs = inputs
        self.outputs = outputs
        self.name = name
        self._device = torch.device(device)

    @property
    def device(self) -> str:
        return self._device.type

    def run(
        self, threads: int, outputs: list[str] | None = None, **inputs: np.ndarray
    ) -> list[np.ndarray]:
        """The outputs (all, or those named) for float32 ``inputs``, as float32 arrays."""
        return self._run(self._device, threads, outputs, inputs)

    def run_on_cpu(
        self, threads: int, outputs: list[str] | None = None, **inputs: np.ndarray
    ) -> list[np.ndarray]:
        """:meth:`run` on the CPU, the module moved back afterwards (out of GPU memory)."""
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        self.module.to("cpu")
        try:
            return self._run(torch.device("cpu"), threads, outputs, inputs)
        finally:
            self.module.to(self._device)

    def _run(self, device: torch.device, threads: int, outputs, inputs) -> list[np.ndarray]:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        arrays = [np.ascontiguousarray(inputs[k], np.float32) for k in self.inputs]
        # (torch refuses read-only memory, such as a broadcast view)
        tensors = [torch.from_numpy(a if a.flags.writeable else a.copy()) for a in arrays]
        autocast = (
            torch.autocast("cuda", dtype=torch.float16)
            if device.type == "cuda"
            else contextlib.nullcontext()
        )
        with torch.inference_mode(), autocast:
            result = self.module(*(t.to(device) for t in tensors))
        result = result if isinstance(result, tuple) else (result,)
        named = dict(zip(self.outputs, result, strict=True))
        return [named[k].float().cpu().numpy() for k in (outputs or self.outputs)]


def torch_net(model: nn.Module, architecture: str, part: str, name: str, device: str) -> TorchNet:
    """Graph ``part`` of ``model`` (built for ``architecture``) as the runtime calls it, on
    ``device``."""
    spec = GRAPHS[architecture][part]
    model = cast(Any, model).float().eval()
    module = spec.wrapper(model).to(torch.device(device))
    inputs = list(spec.example(model, 1, 64, 96))
    return TorchNet(module, inputs, list(spec.outputs), name, device)
