"""Layers, masks and references: the nodes a Document holds."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import Enum

import numpy as np


class BlendMode(str, Enum):
    """Blend modes with the W3C Compositing Level 1 formulas (as Krita, GIMP and CSS)."""

    NORMAL = "normal"
    MULTIPLY = "multiply"
    SCREEN = "screen"
    OVERLAY = "overlay"
    COLOR = "color"
    LUMINOSITY = "luminosity"


class LayerKind(str, Enum):
    RASTER = "raster"  #: an ordinary RGBA paint layer, composited into the image
    HINT = "hint"  #: colour-hint strokes for the generator (RGBA; alpha = hint coverage)
    MASK = "mask"  #: an 8-bit soft mask (H x W uint8, 255 = fully selected)


class MaskRole(str, Enum):
    """What a MASK layer is for (saved with the project)."""

    SELECTION = "selection"  #: where an edit may act (mask brush, selections, detected damage)
    STRENGTH = "strength"  #: the generator's local strength (strength brush), 255 = full


class ReferenceRole(str, Enum):
    PALETTE = "palette"  #: a photo whose colours the generator should use
    STYLE = "style"  #: a painting whose style (texture, brushwork, palette) to transfer


def new_id() -> str:
    """A short random id, unique within any realistic document."""
    return uuid.uuid4().hex[:12]


@dataclass(eq=False)
class Layer:
    """A pixel-bearing node.

    ``pixels``: RASTER and HINT layers hold H x W x 4 uint8 straight (non-premultiplied) RGBA;
    MASK layers hold H x W uint8 coverage (0 = outside, 255 = inside).
    """

    name: str
    pixels: np.ndarray
    kind: LayerKind = LayerKind.RASTER
    opacity: float = 1.0
    visible: bool = True
    blend_mode: BlendMode = BlendMode.NORMAL
    id: str = field(default_factory=new_id)
    role: MaskRole = MaskRole.SELECTION  #: MASK layers only

    def __post_init__(self) -> None:
        expected_ndim = 2 if self.kind is LayerKind.MASK else 3
        if self.pixels.dtype != np.uint8 or self.pixels.ndim != expected_ndim:
            raise ValueError(
                f"{self.kind.value} layer {self.name!r} needs uint8 pixels with "
                f"{expected_ndim} dimensions, got {self.pixels.dtype} {self.pixels.shape}"
            )
        if expected_ndim == 3 and self.pixels.shape[2] != 4:
            raise ValueError(f"layer {self.name!r} needs 4 channels (RGBA)")
        if not 0.0 <= self.opacity <= 1.0:
            raise ValueError(f"opacity must be within 0..1, got {self.opacity}")

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    # The properties an undoable SetProperties edit may change.
    PROPERTIES = ("name", "opacity", "visible", "blend_mode")

    def copy(self, *, keep_id: bool = False) -> Layer:
        return Layer(
            name=self.name,
            pixels=self.pixels.copy(),
            kind=self.kind,
            opacity=self.opacity,
            visible=self.visible,
            blend_mode=self.blend_mode,
            id=self.id if keep_id else new_id(),
            role=self.role,
        )


@dataclass(eq=False)
class Reference:
    """A reference image guiding the generator.

    ``image``: H x W x 3 uint8 sRGB. ``mask``: optional H x W uint8 of the same size; where given,
    only the masked part of the reference is sampled (e.g. just the sky of a photo).
    ``strength`` in 0..1 scales its influence.
    """

    name: str
    image: np.ndarray
    role: ReferenceRole = ReferenceRole.PALETTE
    strength: float = 1.0
    mask: np.ndarray | None = None
    enabled: bool = True
    id: str = field(default_factory=new_id)

    PROPERTIES = ("name", "role", "strength", "enabled", "mask")

    def __post_init__(self) -> None:
        if self.image.dtype != np.uint8 or self.image.ndim != 3 or self.image.shape[2] != 3:
            raise ValueError(
                f"reference {self.name!r} needs an H x W x 3 uint8 image, "
                f"got {self.image.dtype} {self.image.shape}"
            )
        if self.mask is not None and self.mask.shape != self.image.shape[:2]:
            raise ValueError(f"reference {self.name!r}: mask size differs from the image")
        if not 0.0 <= self.strength <= 1.0:
            raise ValueError(f"strength must be within 0..1, got {self.strength}")
