"""The networks as the runtime calls them: one wrapper per architecture, with named inputs and
outputs. ONNX export traces these (:mod:`colorstudio.ml.train.onnx_export`) and the torch
runtime runs them (:mod:`colorstudio.ml.torch_nets`), so both paths take the same arrays."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from colorstudio.ml.networks.colorizer import HintColorizer
from colorstudio.ml.palette import CODE_DIM, empty_code


class ColorizerGraph(nn.Module):
    """The colourizer as the runtime calls it: ``(l, hints, code) -> (ab, features)``.

    ``features``: :meth:`HintColorizer.hint_features`, which the hint model reads
    (``colorize.photo_paths``)."""

    def __init__(self, model: HintColorizer) -> None:
        super().__init__()
        self.model = model

    def forward(self, l: torch.Tensor, hints: torch.Tensor, code: torch.Tensor):
        levels = self.model.encode(l)
        return self.model.decode(levels, l, hints, code), self.model.features_of(levels)


def colorizer_example(n: int = 1, h: int = 64, w: int = 96) -> dict[str, np.ndarray]:
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


#: architecture -> (graph wrapper, example inputs, output names, dynamic axes per name)
_SPATIAL = {0: "n", 2: "h", 3: "w"}
GRAPHS = {
    "colorizer_lite0": (
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
    ),
}
