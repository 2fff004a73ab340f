"""Networks, picked by name from one factory (as pix2pix's ``define_G``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from colorstudio.ml.networks.colorizer import HintColorizer
from colorstudio.ml.networks.discriminator import PatchDiscriminator
from colorstudio.ml.networks.restore import DamageDetector, GatedInpainter
from colorstudio.ml.networks.stylizer import AdaINStylizer

#: what :func:`define_generator` builds (each has ``exportable_state_dict`` and its loader)
AnyGenerator = HintColorizer | AdaINStylizer | DamageDetector | GatedInpainter

GENERATORS: dict[str, Callable[..., AnyGenerator]] = {
    "colorizer_lite0": HintColorizer,
    "stylizer_adain": AdaINStylizer,
    "detector_unet": DamageDetector,
    "inpainter_gated": GatedInpainter,
}
DISCRIMINATORS: dict[str, Callable[..., nn.Module]] = {
    "patch_colour": lambda **kw: PatchDiscriminator(in_channels=3, **kw),
    "patch_style": lambda **kw: PatchDiscriminator(in_channels=3, **kw),
    # inpainting (SN-PatchGAN as DeepFill v2): the image and the hole mask
    "patch_inpaint": lambda **kw: PatchDiscriminator(in_channels=4, **kw),
}


def define_generator(name: str, **config: Any) -> AnyGenerator:
    """A generator by architecture name with its config (as stored in models/manifest.json)."""
    try:
        factory = GENERATORS[name]
    except KeyError:
        raise ValueError(
            f"unknown generator {name!r}; known: {', '.join(sorted(GENERATORS))}"
        ) from None
    return factory(**config)


def define_discriminator(name: str, **config: Any) -> nn.Module:
    try:
        factory = DISCRIMINATORS[name]
    except KeyError:
        raise ValueError(
            f"unknown discriminator {name!r}; known: {', '.join(sorted(DISCRIMINATORS))}"
        ) from None
    return factory(**config)
