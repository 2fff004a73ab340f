"""The hint- and reference-conditioned colourization generator.

A U-Net whose encoder is ImageNet-pretrained EfficientNet-Lite0 (grey input: the L channel shown
as a grey sRGB image), with

- user hints (ab and a hint mask, as in Zhang et al. 2017) entering the decoder at every scale
  (area-averaged) and at full resolution before the output head — the frozen encoder then runs
  without gradients, which makes CPU training about twice as fast;
- a reference palette code (see :mod:`colorstudio.ml.palette`) modulating the bottleneck and
  the coarse decoder stages with FiLM;
- SAGAN self-attention at 1/16 resolution (the DeOldify recipe);
- optionally (``hint_spread``) each hint's colour spread to its neighbourhood by normalised
  convolution (:func:`hint_spread`), fed to the decoder at 1/8, 1/4 and full resolution: the
  network then only has to learn *where* a nearby hint applies, not to carry its colour there
  through its layers. Added in session 6 with zero-initialised weights on a trained network, so
  the warm start computes exactly what the network did before (see ``weights.warm_start``).

Tensor ranges: ``lightness`` (N, 1, H, W) is ``L / 50 - 1`` in [-1, 1]; ``hints`` (N, 3, H, W)
holds ``ab / 110`` (zero where no hint) and the hint mask in 0..1; ``code`` (N, CODE_DIM). The
output is ``ab / 110`` in [-1, 1] (tanh), (N, 2, H, W).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from colorstudio.ml.networks.blocks import FiLM, SelfAttention, UpBlock
from colorstudio.ml.networks.encoders import EfficientNetLite0Encoder
from colorstudio.ml.palette import CODE_DIM


def lightness_to_grey_rgb255(lightness: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) normalised L → (N, 3, H, W) grey sRGB 0..255, as the encoder expects."""
    fy = ((lightness + 1.0) * 50.0 + 16.0) / 116.0
    y = torch.where(fy > 6.0 / 29.0, fy**3, (fy - 4.0 / 29.0) * 3.0 * (6.0 / 29.0) ** 2).clamp(0, 1)
    srgb = torch.where(
        y <= 0.0031308, y * 12.92, 1.055 * y.clamp(min=0.0031308) ** (1 / 2.4) - 0.055
    )
    return (srgb * 255.0).expand(-1, 3, -1, -1)


#: hint_spread: the grid cell (input pixels) and the box-blur passes; reach about 3.5 cells
SPREAD_CELL = 16
SPREAD_PASSES = 3
#: the decoder blocks that take hint_spread's channels, appended last to their skip input
SPREAD_BLOCKS = ("up8", "up4", "up1")
SPREAD_CHANNELS = 3  # colour (a*b*) and confidence
#: :meth:`HintColorizer.hint_features`: this many stride-8 channels come first
FEATURES_8 = EfficientNetLite0Encoder.channels[2]


def pool_to(x: torch.Tensor, size, ratio: int) -> torch.Tensor:
    """Area-average ``x`` (N, C, H, W) to ``size``; ``ratio`` is H / h when the caller's input
    is a multiple of 32 (the working sizes). While tracing for ONNX export the pooling uses
    that fixed ratio, because adaptive pooling to a size known only at run time does not
    export; eagerly it is adaptive (identical where the ratio is exact)."""
    if torch.jit.is_tracing():
        return F.avg_pool2d(x, ratio, ratio)
    return F.adaptive_avg_pool2d(x, size)


def hint_spread(hints: torch.Tensor, size) -> torch.Tensor:
    """(N, 3, H, W) hints → (N, 3, h, w): the mean hint colour near each pixel and a confidence.

    Normalised convolution on a grid of SPREAD_CELL-pixel cells: hinted a*b* (times the mask)
    and the mask are area-averaged onto the grid, box-blurred SPREAD_PASSES times, divided, and
    brought to ``size`` bilinearly. The confidence is the blurred hint coverage, 1 when a whole
    cell is hinted (square root, so a point hint still counts). Zero everywhere without hints.
    """
    h, w = hints.shape[-2:]
    grid = (max(2, h // SPREAD_CELL), max(2, w // SPREAD_CELL))
    ab, mask = hints[:, :2], hints[:, 2:3]
    total = pool_to(ab * mask, grid, SPREAD_CELL)
    coverage = pool_to(mask, grid, SPREAD_CELL)
    for _ in range(SPREAD_PASSES):
        total = F.avg_pool2d(total, 3, 1, 1, count_include_pad=False)
        coverage = F.avg_pool2d(coverage, 3, 1, 1, count_include_pad=False)
    color = total / coverage.clamp(min=1e-6) * (coverage > 0)
    confidence = (coverage * SPREAD_CELL * SPREAD_CELL).clamp(max=1.0) ** 0.5
    out = torch.cat([color, confidence], dim=1)
    return F.interpolate(out, size=size, mode="bilinear", align_corners=False)


class HintColorizer(nn.Module):
    def __init__(
        self,
        widths: tuple[int, int, int, int, int] = (128, 96, 64, 32, 16),
        pretrained: bool = True,
        attention: bool = True,
        freeze_encoder: bool = True,
        hint_spread: bool = False,
    ) -> None:
        super().__init__()
        self.hint_spread = hint_spread
        self._spread_only = False  # see train_spread_inputs_only
        extra = SPREAD_CHANNELS if hint_spread else 0  # for the SPREAD_BLOCKS
        self.encoder = EfficientNetLite0Encoder()
        if pretrained:
            self.encoder.load_pretrained()
        self.freeze_encoder = freeze_encoder
        if freeze_encoder:
            for p in self.encoder.parameters():
                p.requires_grad_(False)
        c2, c4, c8, c16, c32 = EfficientNetLite0Encoder.channels
        w16, w8, w4, w2, w1 = widths
        self.code_mlp = nn.Sequential(nn.Linear(CODE_DIM, 128), nn.ReLU(inplace=True))
        self.bottleneck = nn.Sequential(nn.Conv2d(c32 + 3, c32, 1), nn.ReLU(inplace=True))
        self.film32 = FiLM(128, c32)
        self.up16 = UpBlock(c32, c16 + 3, w16)
        self.attention = SelfAttention(w16) if attention else nn.Identity()
        self.film16 = FiLM(128, w16)
        self.up8 = UpBlock(w16, c8 + 3 + extra, w8)
        self.film8 = FiLM(128, w8)
        self.up4 = UpBlock(w8, c4 + 3 + extra, w4, convs=1)
        self.up2 = UpBlock(w4, c2 + 3, w2, convs=1)
        self.up1 = UpBlock(w2, 4 + extra, w1, convs=1)  # skip: L + hints at full resolution
        self.head = nn.Conv2d(w1, 2, 3, padding=1)
        assert self.head.bias is not None  # (bias=True)
        nn.init.normal_(self.head.weight, std=1e-3)
        nn.init.zeros_(self.head.bias)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.freeze_encoder:
            self.encoder.eval()  # keep ImageNet BN statistics
        if self._spread_only:
            nn.Module.train(self, False)  # every BN statistic stays as trained
        return self

    def train_spread_inputs_only(self) -> list[str]:
        """Freeze everything but the hint-spread input channels (and every BN statistic): the
        network without hints then computes exactly what it did, and training can only teach it
        to use the spread. Returns the names of the tensors that still train."""
        if not self.hint_spread:
            raise ValueError("this colourizer has no hint-spread inputs")
        self._spread_only = True
        for p in self.parameters():
            p.requires_grad_(False)
        names = []
        for block in SPREAD_BLOCKS:
            conv = getattr(self, block).body[0][0]
            keep = torch.zeros_like(conv.weight)
            keep[:, -SPREAD_CHANNELS:] = 1.0
            conv.weight.requires_grad_(True)
            conv.weight.register_hook(lambda grad, keep=keep: grad * keep)
            names.append(f"{block}.body.0.0.weight")
        self.train(self.training)
        return names

    def encode(self, lightness: torch.Tensor) -> list[torch.Tensor]:
        """Encoder features at strides 2..32 (no gradients when the encoder is frozen)."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze_encoder):
            return self.encoder(lightness_to_grey_rgb255(lightness))

    def hint_features(self, lightness: torch.Tensor) -> torch.Tensor:
        """(N, FEATURES_8 + C16, H/8, W/8) float32: what the hint model reads
        (:meth:`features_of` the encoder's levels)."""
        return self.features_of(self.encode(lightness))

    @staticmethod
    def features_of(levels: list[torch.Tensor]) -> torch.Tensor:
        """The encoder's stride-8 features, then its stride-16 ones brought to stride 8
        (bilinear)."""
        f8, f16 = levels[2:4]
        f16 = F.interpolate(f16.float(), size=f8.shape[-2:], mode="bilinear")
        return torch.cat([f8.float(), f16], dim=1)

    def forward(
        self, lightness: torch.Tensor, hints: torch.Tensor, code: torch.Tensor
    ) -> torch.Tensor:
        return self.decode(self.encode(lightness), lightness, hints, code)

    def decode(
        self,
        levels: list[torch.Tensor],
        lightness: torch.Tensor,
        hints: torch.Tensor,
        code: torch.Tensor,
    ) -> torch.Tensor:
        """(N, 2, H, W) a*b* / AB_SCALE in -1..1 from the encoder's ``levels`` (strides 2..32)
        of ``lightness``, the hints and the palette code."""
        f2, f4, f8, f16, f32 = levels
        spread = hint_spread(hints, lightness.shape[-2:]) if self.hint_spread else None

        def with_hints(features: torch.Tensor, stride: int, spread_too: bool = False):
            size = (features.shape[-2], features.shape[-1])
            parts = [features, _area(hints, size, stride)]
            if spread_too and spread is not None:
                parts.append(pool_to(spread, size, stride))
            return torch.cat(parts, dim=1)

        g = self.code_mlp(code)
        x = self.film32(self.bottleneck(with_hints(f32, 32)), g)
        x = self.film16(self.attention(self.up16(x, with_hints(f16, 16))), g)
        x = self.film8(self.up8(x, with_hints(f8, 8, True)), g)
        x = self.up4(x, with_hints(f4, 4, True))
        x = self.up2(x, with_hints(f2, 2))
        full = [lightness, hints] if spread is None else [lightness, hints, spread]
        x = self.up1(x, torch.cat(full, dim=1))
        return torch.tanh(self.head(x))

    def exportable_state_dict(self) -> dict[str, torch.Tensor]:
        """Everything (the fine-tuned encoder included): ~5 M parameters."""
        return self.state_dict()

    def load_exportable_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.load_state_dict(state, strict=True)


def _area(hints: torch.Tensor, size, ratio: int) -> torch.Tensor:
    """Downsample hints so a point hint keeps its colour: average ab over hinted pixels only."""
    ab, mask = hints[:, :2], hints[:, 2:3]
    mask_small = pool_to(mask, size, ratio)
    ab_small = pool_to(ab * mask, size, ratio) / mask_small.clamp(min=1e-6)
    return torch.cat([ab_small * (mask_small > 0), mask_small.clamp(0, 1) ** 0.5], dim=1)
