"""The AdaIN decoder as its inference graphs compute it: the trained function, rearranged for
the CPU's int8 kernels. Same weights, no training; ``docs/style.md`` has the measurements.

Two rewrites of :class:`~colorstudio.ml.networks.stylizer.AdaINDecoder`:

- **Zero padding inside the decoder** instead of the trained mirrored padding. ONNX Runtime's
  int8 ``Pad`` in reflect mode cost a third of the decoder's time; a convolution's own zero
  padding costs nothing. Only pixels within :func:`border_band` of the picture's edge change;
  the stylize pipeline mirrors :data:`PIPELINE_MARGIN` px around every photo and crops them
  off, so where the band fits in it (a relu3_1 decoder: 10 px) the pictures a user gets are
  the trained decoder's, and :func:`inference_decoder` rearranges only such a decoder.
- **The last upsampling folded into the convolutions around it.** Nearest ×2 followed by a 3x3
  convolution is, for each of the four pixel phases of the output, a 2x2 convolution at the
  lower resolution (:func:`_fold`): 16 instead of 36 multiply-adds per pixel and channel pair,
  and no upsampled 64-channel picture in memory. The four phases stay side by side as channels
  (a "phase stack") and the last convolution, to RGB, reads them with a 3x3 kernel at that
  resolution and writes each colour's four phases, which a pixel shuffle lays out. Its 12
  output channels are padded with zero filters to :data:`LAST_CHANNELS`: ONNX Runtime's int8
  convolution is several times slower per multiply-add with fewer.

Tensor layout: (N, C, H, W) float32, as the decoder.
"""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

#: the output pixel phases (row, column) of a ×2 upsampling, in phase-stack order
PHASES = ((0, 0), (0, 1), (1, 0), (1, 1))
#: output channels the last convolution computes (12 used: RGB × 4 phases; see module doc)
LAST_CHANNELS = 16
#: px the stylize pipeline mirrors around a photo and crops off (``stylize.EDGE_MARGIN``; a
#: test ties the two)
PIPELINE_MARGIN = 16


def _fold(weight: torch.Tensor, dim: int, phase: int) -> torch.Tensor:
    """The three taps of a 3x3 kernel along ``dim`` as seen from output phase ``phase`` of a
    nearest ×2 upsampled input: two taps over the low-resolution neighbours (i − 1, i) for
    phase 0 and (i, i + 1) for phase 1 (the upsampled rows 2i − 1, 2i, 2i + 1 are low rows
    i − 1, i, i; rows 2i, 2i + 1, 2i + 2 are i, i, i + 1)."""
    a, b, c = weight.unbind(dim)
    return torch.stack((a, b + c) if phase == 0 else (a + b, c), dim)


def _blocks(decoder: nn.Module) -> list[nn.Module]:
    """An ``AdaINDecoder``'s blocks, deepest first (block4 only at level 4), down to block1."""
    names = ["block3", "block2", "block1"]
    if decoder.level == 4:
        names.insert(0, "block4")
    return [cast(nn.Module, getattr(decoder, name)) for name in names]


def _convs(block: nn.Module) -> list[tuple[nn.Conv2d, bool]]:
    """A decoder block's convolutions and whether a ReLU follows each (a ``_ReflectConv``, or a
    sequence of them)."""
    layers = list(block.children())
    parts = [block] if isinstance(layers[0], nn.ReflectionPad2d) else layers
    out = []
    for part in parts:
        conv, *rest = list(part.children())[1:]
        assert isinstance(conv, nn.Conv2d) and conv.kernel_size == (3, 3)
        out.append((conv, bool(rest)))
    return out


class _ZeroPadConv(nn.Module):
    """A trained 3x3 convolution with zero padding (and its ReLU)."""

    def __init__(self, conv: nn.Conv2d, relu: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(conv.in_channels, conv.out_channels, 3, padding=1)
        self.conv.load_state_dict(conv.state_dict())
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return F.relu(y) if self.relu else y


class _UpsampledConv(nn.Module):
    """Nearest ×2, then ``conv`` (3x3, zero padding, its ReLU), returned as the phase stack at
    the input's size: channels [p·C, (p+1)·C) hold output pixels (2i + py, 2j + px) for phase p
    = (py, px) of :data:`PHASES`. One 2x2 convolution (padding 1, one window more each way)
    computes all four phases; phase (py, px) is its output offset by (py, px)."""

    def __init__(self, conv: nn.Conv2d, relu: bool) -> None:
        super().__init__()
        weight, bias = conv.weight.detach().cpu(), conv.bias  # built on the CPU, moved after
        assert bias is not None
        kernels = [_fold(_fold(weight, 2, py), 3, px) for py, px in PHASES]
        self.conv = nn.Conv2d(conv.in_channels, 4 * conv.out_channels, 2, padding=1)
        self.conv.load_state_dict(
            {"weight": torch.cat(kernels), "bias": bias.detach().cpu().repeat(4)}
        )
        self.channels, self.relu = conv.out_channels, relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        y = self.conv(x)
        y = F.relu(y) if self.relu else y
        c = self.channels
        phases = [
            y[:, p * c : (p + 1) * c, py : py + h, px : px + w] for p, (py, px) in enumerate(PHASES)
        ]
        return torch.cat(phases, 1)


class _PhaseConv(nn.Module):
    """``conv`` (3x3, zero padding, no ReLU) at the full resolution, computed on a phase stack
    (:class:`_UpsampledConv`) at half of it; returns the full-resolution picture. Full-res pixel
    (2i + qy + dy) is low-res pixel i + (qy + dy) // 2 of phase (qy + dy) % 2, so each output
    phase is a 3x3 convolution over the stack."""

    def __init__(self, conv: nn.Conv2d, outputs: int = LAST_CHANNELS) -> None:
        super().__init__()
        weight, bias = conv.weight.detach().cpu(), conv.bias  # built on the CPU, moved after
        assert bias is not None
        o, c = weight.shape[:2]
        kernel = torch.zeros(max(outputs, 4 * o), 4 * c, 3, 3)
        for q, (qy, qx) in enumerate(PHASES):
            for dy in (-1, 0, 1):
                oy, py = divmod(qy + dy, 2)
                for dx in (-1, 0, 1):
                    ox, px = divmod(qx + dx, 2)
                    p = 2 * py + px  # pixel_shuffle's order: output channel k·4 + q
                    kernel[q : 4 * o : 4, p * c : (p + 1) * c, oy + 1, ox + 1] += weight[
                        :, :, dy + 1, dx + 1
                    ]
        self.conv = nn.Conv2d(4 * c, kernel.shape[0], 3, padding=1)
        full_bias = torch.zeros(kernel.shape[0])
        full_bias[: 4 * o] = bias.detach().cpu().repeat_interleave(4)
        self.conv.load_state_dict({"weight": kernel, "bias": full_bias})
        self.used = 4 * o

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(self.conv(x)[:, : self.used], 2)


class DecoderGraph(nn.Module):
    """The decoder ``decoder`` rearranged (module doc): equal to it
    within float rounding except in the outer :func:`border_band` px. (N, C, h, w) features
    → (N, 3, H, W) RGB, unclamped."""

    def __init__(self, decoder: nn.Module) -> None:
        super().__init__()
        *blocks, block1 = _blocks(decoder)
        self.blocks = nn.ModuleList(
            nn.Sequential(*(_ZeroPadConv(conv, relu) for conv, relu in _convs(block)))
            for block in blocks
        )
        (first, relu), (last, _) = _convs(block1)
        self.upsampled = _UpsampledConv(first, relu)
        self.last = _PhaseConv(last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i < len(self.blocks) - 1:  # the last upsampling is in self.upsampled
                x = F.interpolate(x, scale_factor=2, mode="nearest")
        return self.last(self.upsampled(x))


def border_band(decoder: nn.Module) -> int:
    """Pixels along the picture's edge in which :class:`DecoderGraph` may differ from
    ``decoder`` (an ``AdaINDecoder``): each 3x3 convolution carries a padding difference one
    pixel further in, each ×2 upsampling doubles the band (10 px for a relu3_1 decoder, 22 px
    for relu4_1)."""
    band = 0
    for i, block in enumerate(_blocks(decoder)):
        band = (band * 2 if i else band) + len(_convs(block))
    return band


def inference_decoder(decoder: nn.Module) -> nn.Module:
    """What the inference graphs run for ``decoder``: :class:`DecoderGraph` where its
    :func:`border_band` fits in the pipeline's mirrored margin, else the decoder itself (a
    relu4_1 decoder's 22 px band would show along the photo's edge)."""
    return DecoderGraph(decoder) if border_band(decoder) <= PIPELINE_MARGIN else decoder
