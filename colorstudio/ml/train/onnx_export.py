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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from colorstudio.ml.manifest import (
    ModelEntry,
    ModelError,
    file_name_problem,
    load_manifest,
    sha256_file,
    write_manifest,
)
from colorstudio.ml.networks.graphs import GRAPHS
from colorstudio.ml.train.quantize import RECIPES, Calibration

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
        weights = numpy_helper.to_array(init)
        array = weights.astype(np.float16)
        if not np.array_equal(array.astype(np.float32), weights):
            continue  # not an fp16 weight (a pretrained encoder's): kept exact, in fp32
        name = init.name
        init.CopyFrom(numpy_helper.from_array(array, f"{name}__fp16"))
        casts.append(helper.make_node("Cast", [f"{name}__fp16"], [name], to=onnx.TensorProto.FLOAT))
    for node in reversed(casts):
        graph.node.insert(0, node)


def export_graph(model: nn.Module, architecture: str, part: str = "main") -> bytes:
    """The ONNX bytes of graph ``part`` of ``model`` (fp16 weights, see the module doc)."""
    import onnx

    if part not in GRAPHS.get(architecture, {}):
        raise ModelError(f"no ONNX graph {part!r} is defined for architecture {architecture!r}")
    spec = GRAPHS[architecture][part]
    model = cast(Any, model).float().eval()
    graph = spec.wrapper(model).eval()
    inputs = spec.example(model, 1, 64, 96)
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
            output_names=list(spec.outputs),
            dynamic_axes=spec.axes,
            # unfolded: batch norms stay apart from their convolutions, so every stored weight
            # is a weight of the fp16 .pt file, exact in fp16; ONNX Runtime fuses them in fp32
            do_constant_folding=False,
        )
        proto = onnx.load(path)
    _store_half(proto)
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def graph_file_name(entry: ModelEntry, part: str) -> str:
    """``<model>.onnx`` for a whole network, ``<model>.<part>.onnx`` for one of its parts,
    ``<model>[.<part>].int8.onnx`` for their int8 forms; ModelError when the model's name would
    not make a plain file name in the model folder."""
    stem, _, form = part.partition(".")
    words = [entry.name, *([stem] if stem != "main" else []), *([form] if form else [])]
    name = ".".join(words) + ".onnx"
    problem = file_name_problem(name)
    if problem:
        raise ModelError(f"model {entry.name!r}: its graph's file name {problem}")
    return name


#: architectures with int8 graphs for the CPU, and how they are made (``quantize``)
INT8_RECIPES = RECIPES


@dataclass(frozen=True)
class GraphExport:
    """What :func:`add_onnx` wrote for one model: its updated entry and, where it wrote int8
    graphs, their PSNR (dB) against the float graphs on held-out photos."""

    entry: ModelEntry
    int8_psnr: float | None = None


def add_onnx(
    models_dir: Path, name: str | None = None, calibration: Calibration | None = None
) -> list[GraphExport]:
    """Write each exportable model's ONNX graphs beside it in ``models_dir`` (only model
    ``name`` if given) and record their files and SHA-256s in the manifest. With a
    ``calibration``, a model in ``INT8_RECIPES`` also gets int8 graphs (parts ``<part>.int8``,
    which the runtime prefers on the CPU); ModelError when the calibration lacks what its
    recipe needs (the stylizer's: paintings). Without a calibration it ships float graphs
    only."""
    from colorstudio.core.io.atomic import atomic_write_bytes
    from colorstudio.ml.weights import load_model

    models_dir = Path(models_dir)
    entries = load_manifest(models_dir)
    done = []
    for index, entry in enumerate(entries):
        if (name is not None and entry.name != name) or entry.architecture not in GRAPHS:
            continue
        model = load_model(entry, models_dir)
        graphs = {
            part: export_graph(model, entry.architecture, part)
            for part in GRAPHS[entry.architecture]
        }
        score = None
        recipe = INT8_RECIPES.get(entry.architecture)
        if calibration is not None and recipe is not None:
            if not recipe.can_use(calibration):  # not silently: it would drop its int8 graphs
                raise ModelError(f"model {entry.name!r}: its int8 graphs need paintings too")
            quantized, score = recipe.make(graphs, calibration)
            graphs.update({f"{part}.int8": data for part, data in quantized.items()})
        files, hashes = {}, {}
        for part, data in graphs.items():
            file = graph_file_name(entry, part)
            atomic_write_bytes(models_dir / file, data)
            files[part], hashes[part] = file, sha256_file(models_dir / file)
        entries[index] = replace(entry, onnx=files, onnx_sha256=hashes)
        done.append(GraphExport(entries[index], score))
        # at once: a later model's refusal must not leave these files with stale hashes
        write_manifest(models_dir, entries)
    return done
