"""Conditional PatchGAN discriminators with spectral normalisation (pix2pix, SNGAN).

Colour: input = L and ab (3 channels), judges whether the colours are plausible for the L.
Style: input = RGB (3 channels), judges whether a patch looks like a painting.
Output: (N, 1, H', W') logits, one per ~70 px receptive field.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


class PatchDiscriminator(nn.Module):
    def __init__(self, in_channels: int = 3, base: int = 64, layers: int = 3) -> None:
        super().__init__()
        modules: list[nn.Module] = [
            spectral_norm(nn.Conv2d(in_channels, base, 4, 2, 1)),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        channels = base
        for i in range(1, layers + 1):
            out = min(base * 2**i, base * 8)
            stride = 2 if i < layers else 1
            modules += [
                spectral_norm(nn.Conv2d(channels, out, 4, stride, 1)),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            channels = out
        modules.append(spectral_norm(nn.Conv2d(channels, 1, 4, 1, 1)))
        self.body = nn.Sequential(*modules)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)
