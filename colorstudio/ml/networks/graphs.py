"""The networks as the runtime calls them: per architecture, one or more graphs (parts) with
named inputs and outputs. ONNX export traces these (:mod:`colorstudio.ml.train.onnx_export`) and
the torch runtime runs them (:mod:`colorstudio.ml.torch_nets`), so both runtimes take the same
float32 arrays. What is not a network stays outside, in numpy: the inpainter's pull–push prefill
(a loop whose length depends on the holes) and the stylizer's AdaIN between its two parts.

Inputs' heights and widths: multiples of 32 (colourizer), 8 (detector, stylizer), 4
(inpainter); the pipelines pad to them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from colorstudio.ml.palette import CODE_DIM, empty_code


@dataclass(frozen=True)
class GraphSpec:
    """One graph: ``wrapper(model)`` is the module traced or run; ``example(model, n, h, w)``
    its inputs by name; ``outputs`` its output names; ``axes`` the dynamic axes per name."""

    wrapper: Callable[[nn.Module], nn.Module]
    example: Callable[[nn.Module, int, int, int], dict[str, np.ndarray]]
    outputs: tuple[str, ...]
    axes: dict[str, dict[int, str]]


class ColorizerGraph(nn.Module):
    """The colourizer: ``(l, hints, code) -> (ab, features)``; ``features``:
    :meth:`HintColorizer.hint_features`, which the hint model reads (``colorize.photo_paths``).
    One encoder pass serves both."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model: Any = model

    def forward(self, l: torch.Tensor, hints: torch.Tensor, code: torch.Tensor):
        levels = self.model.encode(l)
        return self.model.decode(levels, l, hints, code), self.model.features_of(levels)


def colorizer_example(model=None, n: int = 1, h: int = 64, w: int = 96) -> dict[str, np.ndarray]:
    """Inputs for the colourizer graph: random lightness, one hinted square, the empty code."""
    rng = np.random.default_rng(0)
    l = rng.uniform(-1, 1, (n, 1, h, w)).astype(np.float32)
    hints = np.zeros((n, 3, h, w), np.float32)
    hints[:, 0, h // 4 : h // 4 + 6, w // 3 : w // 3 + 6] = 0.3
    hints[:, 1, h // 4 : h // 4 + 6, w // 3 : w // 3 + 6] = -0.2
    hints[:, 2, h // 4 : h // 4 + 6, w // 3 : w // 3 + 6] = 1.0
    code = empty_code(n)
    assert code.shape == (n, CODE_DIM)
    return {"l": l, "hints": hints, "code": code}


class _Method(nn.Module):
    """``model.<method>(*inputs)`` as a module's forward."""

    def __init__(self, model: nn.Module, method: str) -> None:
        super().__init__()
        self.model = model
        self.method = method

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return getattr(self.model, self.method)(*inputs)


def image_example(model=None, n: int = 1, h: int = 64, w: int = 96) -> dict[str, np.ndarray]:
    """An sRGB image in 0..1, (n, 3, h, w): smooth shapes with a scratch and a few specks
    (something for the detector to find)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = 0.5 + 0.3 * np.sin(xx / 9.0) * np.cos(yy / 11.0)
    rgb = np.stack([base, base[::-1], 1 - base])
    rgb[:, h // 2, w // 8 : w - w // 8] = 0.98  # a thin bright scratch
    rgb[:, h // 4 : h // 4 + 2, w // 3 : w // 3 + 2] = 0.02  # dust
    rgb[:, 3 * h // 4 : 3 * h // 4 + 2, 2 * w // 3 : 2 * w // 3 + 2] = 0.02
    return {"image": np.ascontiguousarray(rgb[None].repeat(n, 0), np.float32)}


def inpaint_example(model=None, n: int = 1, h: int = 64, w: int = 96) -> dict[str, np.ndarray]:
    """An image, a hole (a bar and a square) and a flat grey prefill."""
    image = image_example(None, n, h, w)["image"]
    mask = np.zeros((n, 1, h, w), np.float32)
    mask[..., h // 3 : h // 3 + 3, :] = 1
    mask[..., h // 2 : h // 2 + 9, w // 2 : w // 2 + 9] = 1
    prefill = np.where(mask > 0, np.float32(0.5), image)
    return {"prefill": prefill, "mask": mask}


def decoder_example(model, n: int = 1, h: int = 64, w: int = 96) -> dict[str, np.ndarray]:
    """Stylizer features at the decoder's level (stride 4 at relu3_1, 8 at relu4_1) with the
    encoder's channels there."""
    stride = 2 ** (model.level - 1)
    rng = np.random.default_rng(0)
    shape = (n, model.channels, h // stride, w // stride)
    features = rng.gamma(1.0, 1.0, shape).astype(np.float32)
    return {"features": features}


_SPATIAL = {0: "n", 2: "h", 3: "w"}
GRAPHS: dict[str, dict[str, GraphSpec]] = {
    "colorizer_lite0": {
        "main": GraphSpec(
            ColorizerGraph,
            colorizer_example,
            ("ab", "features"),
            {
                "l": _SPATIAL,
                "hints": _SPATIAL,
                "code": {0: "n"},
                "ab": _SPATIAL,
                "features": {0: "n", 2: "h8", 3: "w8"},
            },
        )
    },
    "detector_unet": {
        "main": GraphSpec(
            lambda model: _Method(model, "probabilities"),
            image_example,
            ("probability",),
            {"image": _SPATIAL, "probability": _SPATIAL},
        )
    },
    "inpainter_gated": {
        "main": GraphSpec(
            lambda model: _Method(model, "correct"),
            inpaint_example,
            ("rgb",),
            {"prefill": _SPATIAL, "mask": _SPATIAL, "rgb": _SPATIAL},
        )
    },
    "stylizer_adain": {
        "encoder": GraphSpec(
            lambda model: _Method(model, "encode"),
            image_example,
            ("features",),
            {"image": _SPATIAL, "features": {0: "n", 2: "hf", 3: "wf"}},
        ),
        "decoder": GraphSpec(
            lambda model: cast(Any, model).decoder_graph(),
            decoder_example,
            ("rgb",),
            {"features": {0: "n", 2: "hf", 3: "wf"}, "rgb": _SPATIAL},
        ),
    },
}
