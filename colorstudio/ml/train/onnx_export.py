"""Export shipped models as ONNX graphs, for inference with ONNX Runtime (no torch needed).

Each exported graph takes working-size inputs whose height and width are multiples of 32 (the
sizes the runtime feeds; see ``runtime.working_shape``); batch, height and width are dynamic.
The export traces the network with PyTorch's TorchScript-based exporter: a trace is fast
(seconds) and, with the two size-dependent operations written for it (``pool_to`` in the
colourizer, ``SameConv2d``'s padding), exact at every such size. PyTorch's dynamo-based
exporter was tried first and did not finish within ten minutes on the colourizer with dynamic
sizes (2 cores).

Weights are stored as float16 initializers, each followed by a Cast to float32 that ONNX
Runtime folds once when it opens the graph: the file is half the size, and the graph computes
in float32 with the weights the torch path uses (``weights._read_state`` reads the fp16
``.pt`` the same way), so the two paths agree to float32 rounding (``ONNX_TOLERANCE``).
"""

from __future__ import annotations

import tempfile
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from colorstudio.ml.manifest import (
    ModelEntry,
    ModelError,
    load_manifest,
    sha256_file,
    write_manifest,
)
from colorstudio.ml.networks.graphs import GRAPHS

#: ONNX opset: 17 is the newest the TorchScript exporter writes without warnings, and every
#: ONNX Runtime since 1.14 runs it
OPSET = 17
#: largest |ONNX - torch| difference accepted on the a*b* output (ab / 110 units): float32
#: rounding in a different operation order; measured ~3e-7 at 64..768 px
ONNX_TOLERANCE = 1e-4


def _store_half(model_proto) -> None:
    """Float32 initializers → float16 initializers with a Cast back to float32 (in place)."""
    import onnx
    from onnx import helper, numpy_helper

    graph = model_proto.graph
    casts = []
    for init in graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT or np.prod(init.dims) < 16:
            continue
        array = numpy_helper.to_array(init).astype(np.float16)
        name = init.name
        init.CopyFrom(numpy_helper.from_array(array, f"{name}__fp16"))
        casts.append(helper.make_node("Cast", [f"{name}__fp16"], [name], to=onnx.TensorProto.FLOAT))
    for node in reversed(casts):
        graph.node.insert(0, node)


def export_graph(model: nn.Module, architecture: str) -> bytes:
    """The ONNX bytes of ``model`` (weights in fp16, see the module doc)."""
    import onnx

    if architecture not in GRAPHS:
        raise ModelError(f"no ONNX graph is defined for architecture {architecture!r}")
    wrapper, example, outputs, axes = GRAPHS[architecture]
    graph = wrapper(cast(Any, model).float().eval()).eval()
    inputs = example()
    with tempfile.TemporaryDirectory() as folder, torch.no_grad(), warnings.catch_warnings():
        # chosen on purpose (module doc): its deprecation notice and the tracer's notes on
        # shapes read as Python numbers (exact at multiples of 32) are not for the user
        warnings.simplefilter("ignore")
        path = Path(folder) / "graph.onnx"
        torch.onnx.export(
            graph,
            tuple(torch.from_numpy(v) for v in inputs.values()),
            path,
            dynamo=False,
            opset_version=OPSET,
            input_names=list(inputs),
            output_names=list(outputs),
            dynamic_axes=axes,
            # unfolded: batch norms stay apart from their convolutions, so every stored weight
            # is a weight of the fp16 .pt file, exact in fp16; ONNX Runtime fuses them in fp32
            do_constant_folding=False,
        )
        proto = onnx.load(path)
    _store_half(proto)
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def add_onnx(models_dir: Path, name: str | None = None) -> list[ModelEntry]:
    """Write ``<model>.onnx`` beside each exportable model in ``models_dir`` (only ``name``
    if given) and record its file and SHA-256 in the manifest. Returns the updated entries."""
    from colorstudio.core.io.atomic import atomic_write_bytes
    from colorstudio.ml.weights import load_model

    models_dir = Path(models_dir)
    entries = load_manifest(models_dir)
    done = []
    for index, entry in enumerate(entries):
        if (name is not None and entry.name != name) or entry.architecture not in GRAPHS:
            continue
        model = load_model(entry, models_dir)
        file = f"{entry.name}.onnx"
        atomic_write_bytes(models_dir / file, export_graph(model, entry.architecture))
        entries[index] = replace(entry, onnx=file, onnx_sha256=sha256_file(models_dir / file))
        done.append(entries[index])
    if done:
        write_manifest(models_dir, entries)
    return done
