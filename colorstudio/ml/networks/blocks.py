"""Small building blocks shared by the generators and discriminators."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConvBNReLU(nn.Sequential):
    def __init__(self, in_ch: int, out_ch: int, kernel: int = 3) -> None:
        super().__init__(
            nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
        )


class SelfAttention(nn.Module):
    """SAGAN self-attention; ``gamma`` starts at 0 so the block starts as the identity."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        inner = max(channels // 8, 1)
        self.query = nn.Conv2d(channels, inner, 1)
        self.key = nn.Conv2d(channels, inner, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)  # N, HW, C'
        k = self.key(x).flatten(2)  # N, C', HW
        v = self.value(x).flatten(2)  # N, C, HW
        attn = torch.softmax(q @ k / (k.shape[1] ** 0.5), dim=-1)  # N, HW, HW
        out = (v @ attn.transpose(1, 2)).view(n, c, h, w)
        return x + self.gamma * out


class FiLM(nn.Module):
    """Feature-wise affine modulation from a global code; starts as the identity."""

    def __init__(self, code_dim: int, channels: int) -> None:
        super().__init__()
        self.to_params = nn.Linear(code_dim, 2 * channels)
        nn.init.zeros_(self.to_params.weight)
        nn.init.zeros_(self.to_params.bias)

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        scale, shift = self.to_params(code).unsqueeze(-1).unsqueeze(-1).chunk(2, dim=1)
        return x * (1.0 + scale) + shift


class UpBlock(nn.Module):
    """Bilinear ×2 upsampling, concatenation with the skip features, convolutions."""

    def __init__(self, in_ch: int, skip_ch: int, out_ch: int, convs: int = 2) -> None:
        super().__init__()
        layers = [ConvBNReLU(in_ch + skip_ch, out_ch)]
        layers += [ConvBNReLU(out_ch, out_ch) for _ in range(convs - 1)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.body(torch.cat([x, skip], dim=1))
