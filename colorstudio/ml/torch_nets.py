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
    """A torch module with named float32 inputs and outputs, in inference mode (fp16 autocast
    on CUDA). ``name``: what errors call it."""

    def __init__(self, module: nn.Module, inputs: list[str], outputs: list[str], name: str):
        self.module = module.eval()
        self.inputs = inputs
        self.outputs = outputs
        self.name = name

    @property
    def device(self) -> str:
        return next(self.module.parameters()).device.type

    def run(
        self, threads: int, outputs: list[str] | None = None, **inputs: np.ndarray
    ) -> list[np.ndarray]:
        """The outputs (all, or those named) for float32 ``inputs``, as float32 arrays."""
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        device = next(self.module.parameters()).device
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

    def run_on_cpu(
        self, threads: int, outputs: list[str] | None = None, **inputs: np.ndarray
    ) -> list[np.ndarray]:
        """:meth:`run` on the CPU, the module moved back afterwards (out of GPU memory)."""
        device = next(self.module.parameters()).device
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        self.module.to("cpu")
        try:
            return self.run(threads, outputs, **inputs)
        finally:
            self.module.to(device)


def torch_net(model: nn.Module, architecture: str, name: str, device: str) -> TorchNet:
    """``model`` (built for ``architecture``) wrapped as the runtime calls it, on ``device``."""
    wrapper, example, outputs, _axes = GRAPHS[architecture]
    module = wrapper(cast(Any, model).float().eval()).to(torch.device(device))
    return TorchNet(module, list(example()), list(outputs), name)
