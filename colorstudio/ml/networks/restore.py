"""Networks for old-photo restoration: a damage detector and a gated-convolution inpainter.

Detector: a compact U-Net (RGB → one logit per pixel: "this pixel is damage"). Damage on prints
is thin and local (1–3 px scratches, dust specks), so it keeps a full-resolution path and needs
no ImageNet semantics; from scratch it learns the synthetic damage of :mod:`colorstudio.ml.damage`
in minutes on a CPU. Stains and torn corners are large and flat inside, so an optional *context*
block at the 1/8 level (dilated convolutions, rates 2, 4, 8, as in DeepLab's atrous context)
widens the receptive field to the whole working image at little cost; its last layer starts at
zero, so it can be added to a trained detector and fine-tuned. Fully convolutional: any size
that is a multiple of 8.

Inpainter: a single-stage version of DeepFill v2 (Yu et al. 2019, "Free-form image inpainting
with gated convolution"): every convolution is *gated* — ``φ(conv_f(x)) · σ(conv_g(x))`` — so the
network learns per pixel how much to trust features that partly come from the hole; a dilated
middle (rates 2, 4, 8, 16) gives the receptive field to fill larger holes from context.
DeepFill's coarse stage is replaced by a classical one: the holes are first filled by pull–push
(a mask-weighted image pyramid, Gortler et al. 1996, :func:`pull_push`), and the network predicts
a *correction* to that fill, its last layer initialised to zero. An untrained network is thus
exactly the classical fill — already better than OpenCV's Telea on thin damage — and training
only adds structure and texture. (A first version predicted the whole image through a
4×-downsampled bottleneck and after 2,000 CPU steps still returned washed-out grey fills.)
Input: the image and the hole mask; output: RGB in 0..1. The caller composites
``image · (1 − m) + output · m``, so only masked pixels ever change.
Fully convolutional: any size that is a multiple of 4.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from colorstudio.ml.pullpush import pull_push


class _ConvBlock(nn.Sequential):
    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
            nn.GroupNorm(min(8, cout // 4), cout),
            nn.SiLU(inplace=True),
        )


class _DilatedBlock(nn.Sequential):
    def __init__(self, width: int, dilation: int) -> None:
        super().__init__(
            nn.Conv2d(width, width, 3, 1, dilation, dilation, bias=False),
            nn.GroupNorm(min(8, width // 4), width),
            nn.SiLU(inplace=True),
        )


class ContextBlock(nn.Module):
    """Residual atrous context: ``x + proj(dilated convs(x))``, ``proj`` zero at init."""

    def __init__(self, width: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.body = nn.Sequential(*[_DilatedBlock(width, d) for d in dilations])
        self.proj = nn.Conv2d(width, width, 1)
        assert self.proj.bias is not None  # (bias=True)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.proj(self.body(x))


class DamageDetector(nn.Module):
    """Soft damage mask: ``forward`` gives logits (N, 1, H, W); ``probabilities`` their sigmoid.
    Input: sRGB (N, 3, H, W) in 0..1; grey photos as three equal channels. ``context``: dilation
    rates of the context block at the 1/8 level (empty: none, the first shipped detector)."""

    def __init__(
        self,
        widths: tuple[int, int, int, int] = (16, 32, 64, 96),
        context: tuple[int, ...] | list[int] = (),
    ) -> None:
        super().__init__()
        w0, w1, w2, w3 = widths
        self.stem = nn.Sequential(_ConvBlock(3, w0), _ConvBlock(w0, w0))
        self.down1 = nn.Sequential(_ConvBlock(w0, w1, 2), _ConvBlock(w1, w1))
        self.down2 = nn.Sequential(_ConvBlock(w1, w2, 2), _ConvBlock(w2, w2))
        self.down3 = nn.Sequential(_ConvBlock(w2, w3, 2), _ConvBlock(w3, w3))
        self.context = ContextBlock(w3, tuple(context)) if context else nn.Identity()
        self.up2 = _ConvBlock(w3 + w2, w2)
        self.up1 = _ConvBlock(w2 + w1, w1)
        self.up0 = nn.Sequential(_ConvBlock(w1 + w0, w0), _ConvBlock(w0, w0))
        self.head = nn.Conv2d(w0, 1, 1)

    @staticmethod
    def _up(x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.interpolate(x, size=skip.shape[-2:], mode="nearest"), skip], 1)

    def forward(self, rgb01: torch.Tensor) -> torch.Tensor:
        x0 = self.stem(rgb01 * 2 - 1)
        x1 = self.down1(x0)
        x2 = self.down2(x1)
        x3 = self.context(self.down3(x2))
        y = self.up2(self._up(x3, x2))
        y = self.up1(self._up(y, x1))
        y = self.up0(self._up(y, x0))
        return self.head(y)

    def probabilities(self, rgb01: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.forward(rgb01))

    @torch.no_grad()
    def calibrate(self, threshold: float, slope: float = 1.0, offset: float = 0.0) -> None:
        """Map the logits z to slope·z + offset, then make probability 0.5 mean what
        ``threshold`` meant on those: the head's weights and bias are scaled and the bias
        moves by offset − logit(threshold), so the editor's default sensitivity (0.5) uses the
        calibrated operating point (``evaluate_restore.calibrate_detector``)."""
        assert self.head.bias is not None  # (bias=True)
        self.head.weight *= slope
        self.head.bias *= slope
        self.head.bias += offset - float(torch.logit(torch.tensor(threshold)))

    def exportable_state_dict(self) -> dict[str, torch.Tensor]:
        return self.state_dict()

    def load_exportable_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.load_state_dict(state, strict=True)


class GatedConv(nn.Module):
    """``φ(feature) · σ(gate)`` with both from one convolution (DeepFill v2)."""

    def __init__(
        self, cin: int, cout: int, kernel: int = 3, stride: int = 1, dilation: int = 1
    ) -> None:
        super().__init__()
        padding = dilation * (kernel - 1) // 2
        self.conv = nn.Conv2d(cin, 2 * cout, kernel, stride, padding, dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feature, gate = self.conv(x).chunk(2, dim=1)
        return F.elu(feature) * torch.sigmoid(gate)


class GatedUp(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = GatedConv(cin, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class GatedInpainter(nn.Module):
    """Fills the masked pixels of an image. ``forward(image, mask)``: image (N, 3, H, W) 0..1,
    mask (N, 1, H, W) 0..1 (1 = hole) → (N, 3, H, W) the filled image, composited."""

    def __init__(
        self, width: int = 32, dilations: tuple[int, ...] = (2, 4, 8, 16), fine: bool = False
    ) -> None:
        super().__init__()
        w = width
        self.encoder = nn.Sequential(
            GatedConv(5, w, 5),
            GatedConv(w, 2 * w, 3, 2),
            GatedConv(2 * w, 2 * w),
            GatedConv(2 * w, 4 * w, 3, 2),
            GatedConv(4 * w, 4 * w),
        )
        self.middle = nn.Sequential(*[GatedConv(4 * w, 4 * w, dilation=d) for d in dilations])
        self.decoder = nn.Sequential(
            GatedConv(4 * w, 4 * w),
            GatedUp(4 * w, 2 * w),
            GatedConv(2 * w, 2 * w),
            GatedUp(2 * w, w),
            GatedConv(w, w // 2),
        )
        self.head = nn.Conv2d(w // 2, 3, 3, 1, 1)
        assert self.head.bias is not None  # (bias=True)
        nn.init.zeros_(self.head.weight)  # start as the classical fill exactly
        nn.init.zeros_(self.head.bias)
        # ``fine``: a full-resolution branch. Everything above passes through a quarter-size
        # bottleneck, too coarse to continue an edge across a 2 px scratch; this branch sees the
        # prefill at full size and adds its own zero-initialised correction, so a model trained
        # without it starts from exactly where that model was (``train --init-from``).
        self.fine = (
            nn.Sequential(GatedConv(5, w // 2), GatedConv(w // 2, w // 2, dilation=2))
            if fine
            else None
        )
        self.fine_head = nn.Conv2d(w, 3, 3, 1, 1) if fine else None
        if self.fine_head is not None:
            assert self.fine_head.bias is not None  # (bias=True)
            nn.init.zeros_(self.fine_head.weight)
            nn.init.zeros_(self.fine_head.bias)

    def raw(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The prediction everywhere (before compositing), in 0..1: the pull–push fill plus the
        network's correction."""
        mask = (mask > 0).to(image.dtype)
        return self.correct(pull_push(image, mask), mask)

    def correct(self, prefill: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """:meth:`raw` from the pull–push fill (N, 3, H, W) and the hole mask (N, 1, H, W) in
        {0, 1}: the part that is a network (the runtime computes the fill in numpy)."""
        inputs = torch.cat([prefill * 2 - 1, mask, 1 - mask], dim=1)
        x = self.encoder(inputs)
        x = x + self.middle(x)
        x = self.decoder(x)
        out = prefill + self.head(x)
        if self.fine is not None:
            assert self.fine_head is not None  # made with ``fine``
            out = out + self.fine_head(torch.cat([x, self.fine(inputs)], dim=1))
        return out.clamp(0, 1)

    def forward(
        self, image: torch.Tensor, mask: torch.Tensor, composite: bool = True
    ) -> torch.Tensor:
        raw = self.raw(image, mask)
        return image * (1 - mask) + raw * mask if composite else raw

    def exportable_state_dict(self) -> dict[str, torch.Tensor]:
        return self.state_dict()

    def load_exportable_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.load_state_dict(state, strict=True)
