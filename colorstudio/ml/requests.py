"""Frozen request and result objects: everything a job needs travels in one immutable value.

No torch here: the UI builds requests, the worker hands them to the engine. Arrays are copied
and made read-only on construction, so later edits of the document never reach a running job.

Array conventions: images H x W x 3 (or x 4) uint8 sRGB; hints H x W x 4 uint8 RGBA (alpha =
hint coverage); masks and strength maps H x W uint8 (0..255) or float32 (0..1).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np


def _frozen(array: np.ndarray | None, name: str, ndim: tuple[int, ...]) -> np.ndarray | None:
    if array is None:
        return None
    array = np.array(array, copy=True)
    if array.ndim not in ndim:
        raise ValueError(
            f"{name} must have {' or '.join(map(str, ndim))} dimensions, got {array.shape}"
        )
    array.setflags(write=False)
    return array


class _Request:
    """Shared behaviour: array freezing, size checks and dict conversion."""

    _arrays: tuple[tuple[str, tuple[int, ...]], ...] = ()
    #: declared for type checkers: every subclass is a dataclass (dataclasses.fields, replace)
    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]

    def __post_init__(self) -> None:
        for name, ndim in self._arrays:
            object.__setattr__(self, name, _frozen(getattr(self, name), name, ndim))
        image = getattr(self, "image", None)
        if image is not None:
            if image.dtype != np.uint8 or image.shape[2] not in (3, 4):
                raise ValueError("image must be H x W x 3 or 4 uint8")
            for name, _ in self._arrays:
                other = getattr(self, name)
                if name != "image" and other is not None and other.shape[:2] != image.shape[:2]:
                    raise ValueError(f"{name} is {other.shape[:2]}, the image is {image.shape[:2]}")

    def to_dict(self) -> dict[str, Any]:
        """Shallow dict (arrays as they are) with the request kind, for logs and batch jobs."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["kind"] = type(self).__name__
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def replace(self, **changes: Any):
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, eq=False)
class ReferenceImage(_Request):
    """``role``: "palette" (use its colours) or "style" (use its texture and palette)."""

    image: np.ndarray
    role: str = "palette"
    strength: float = 1.0
    mask: np.ndarray | None = None
    _arrays = (("image", (3,)), ("mask", (2,)))

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.role not in ("palette", "style"):
            raise ValueError(f"reference role must be palette or style, not {self.role!r}")


#: the working sizes the editor offers for stylizing (long side; the painting's brushwork is drawn
#: at this size, so a smaller one gives bigger strokes) and the default, chosen by measurement
#: (docs/style.md, "Working size": 384 left 10 % more style loss than 512; 768 doubled the time)
STYLE_WORKING_SIZES = (384, 512, 768, 1024)
STYLE_WORKING_SIZE = 512
#: stylize: how much of the photo's structure at the working size to keep over the painting's
#: drawing (0: the painting redraws it; detail finer than the working size is always kept).
#: 0 draws with one decoder pass; why it is the default: docs/style.md, session 44
STYLE_DETAIL = 0.0
#: stylize: the long side the painting is read at (its feature statistics). Statistics of means
#: and deviations change little with the size; the encoding's cost goes with the area: 384
#: instead of 512 left 2 % more style loss, the strokes a little coarser, and a new painting's
#: request 10 % faster (docs/style.md, session 46; Magenta reads paintings at 256)
STYLE_PAINTING_SIZE = 384
#: stylize tiles: one covers every offered working size with its mirrored margin (2 x 16 px,
#: stylize.EDGE_MARGIN), rounded up to 32; out of memory halves it (runtime.with_smaller_tiles)
STYLE_TILE = 1088

#: the hint reaches a colourize request takes (the first is the default)
HINT_REACHES = ("object", "photo")


def _check_reach(reach: str) -> None:
    if reach not in HINT_REACHES:
        raise ValueError(f"hint reach must be one of {', '.join(HINT_REACHES)}, not {reach!r}")


@dataclass(frozen=True, eq=False)
class ColorizeRequest(_Request):
    """Colourize ``image`` (its lightness is kept exactly) from hints and palette references.

    ``engine``: "auto" (the trained GAN, else the classical engines), "gan", "levin" or
    "reinhard". ``working_size``: the long side the network sees (256..512 typical).
    """

    image: np.ndarray
    hints: np.ndarray | None = None
    mask: np.ndarray | None = None
    strength: float = 1.0
    strength_map: np.ndarray | None = None
    references: tuple[ReferenceImage, ...] = ()
    working_size: int = 256
    engine: str = "auto"
    feather: float = 0.0
    seed: int = 0
    request_id: int = 0
    preview: bool = False
    provenance: bool = False  #: also return hint influence and confidence maps
    #: how far a hint stroke's colour reaches (the network engine): "object" — along the photo,
    #: stopping at the outlines of the object it is painted on; "photo" — to every alike pixel
    #: of the photo (best for scattered points in true colours). See HINT_REACHES.
    hint_reach: str = "object"
    _arrays = (("image", (3,)), ("hints", (3,)), ("mask", (2,)), ("strength_map", (2,)))

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_reach(self.hint_reach)


@dataclass(frozen=True, eq=False)
class SuggestRequest(_Request):
    """The colours the model finds likely at pixel (x, y) of ``image`` ("suggested colours")."""

    image: np.ndarray
    x: int = 0
    y: int = 0
    hints: np.ndarray | None = None
    references: tuple[ReferenceImage, ...] = ()
    count: int = 6
    working_size: int = 256
    request_id: int = 0
    preview: bool = False
    _arrays = (("image", (3,)), ("hints", (3,)))

    def __post_init__(self) -> None:
        super().__post_init__()
        h, w = self.image.shape[:2]
        if not (0 <= self.x < w and 0 <= self.y < h):
            raise ValueError(f"({self.x}, {self.y}) lies outside the {w} x {h} image")


@dataclass(frozen=True, eq=False)
class RecolorRequest(ColorizeRequest):
    """The seed's "fine local edit": inside ``mask`` re-colourize a colour image from its L and
    the user's hint strokes ("make this dress blue"); the colours outside guide the network;
    shading and texture (L) are kept, the rest is untouched."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mask is None:
            raise ValueError("a recolour request needs a mask of the region to recolour")


@dataclass(frozen=True, eq=False)
class StylizeRequest(_Request):
    """Restyle ``image`` after ``style``. ``alpha``: 0 = content .. 1 = full style.
    ``keep_colour``: transfer only the luminance (texture) and keep the image's colours.
    ``colorize_first``: colourize a grey image in the painting's palette first (None = auto).
    ``detail``: how much of the photo's own structure at ``working_size`` to keep, 0..1: 0 =
    the decoder's drawing, 1 = the photo plus what the style changes (stylised minus the
    decoder's own reconstruction). Detail finer than ``working_size`` comes back from the
    full-size photo at any setting, so the result is sharp at any size.
    ``working_size``: long side processed (tiled above ``tile_size``). ``style_size``: long
    side the painting is read at (STYLE_PAINTING_SIZE)."""

    image: np.ndarray
    style: ReferenceImage | None = None
    alpha: float = 1.0
    detail: float = STYLE_DETAIL
    keep_color: bool = False
    colorize_first: bool | None = None
    hints: np.ndarray | None = None
    mask: np.ndarray | None = None
    strength: float = 1.0
    strength_map: np.ndarray | None = None
    working_size: int = STYLE_WORKING_SIZE
    style_size: int = STYLE_PAINTING_SIZE
    tile_size: int = STYLE_TILE
    tile_overlap: int = 64
    feather: float = 0.0
    seed: int = 0
    request_id: int = 0
    preview: bool = False
    hint_reach: str = "object"  #: colourize first: see ColorizeRequest.hint_reach
    _arrays = (("image", (3,)), ("hints", (3,)), ("mask", (2,)), ("strength_map", (2,)))

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_reach(self.hint_reach)
        if self.style is None:
            raise ValueError("a stylize request needs a style reference (a painting)")
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError("alpha must be within 0..1")
        if not 0.0 <= self.detail <= 1.0:
            raise ValueError("detail must be within 0..1")


@dataclass(frozen=True, eq=False)
class AdjustRequest(_Request):
    """Shift hue (degrees), scale saturation (chroma factor) and lightness (L* offset) in a mask."""

    image: np.ndarray
    hue: float = 0.0
    saturation: float = 1.0
    lightness: float = 0.0
    mask: np.ndarray | None = None
    strength: float = 1.0
    strength_map: np.ndarray | None = None
    feather: float = 0.0
    request_id: int = 0
    preview: bool = False
    _arrays = (("image", (3,)), ("mask", (2,)), ("strength_map", (2,)))


@dataclass(frozen=True, eq=False)
class DetectDamageRequest(_Request):
    """Find scratches, cracks, lost emulsion, dust, folds and torn corners in an old photo.

    The Result's ``mask`` is the damage (H x W uint8, 255 = damaged) and its image is the input.
    ``sensitivity`` 0..1: higher finds fainter damage (threshold = 1 − sensitivity on the
    detector's probability). ``grow``: pixels added around what is found (inpainting wants a
    margin). ``working_size``: long side the detector sees (damage is thin: keep it high).
    """

    image: np.ndarray
    sensitivity: float = 0.5
    grow: int = 1
    working_size: int = 1536
    tile_size: int = 512
    tile_overlap: int = 32
    request_id: int = 0
    preview: bool = False
    _arrays = (("image", (3,)),)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 < self.sensitivity < 1.0:
            raise ValueError("sensitivity must be between 0 and 1")
        if self.grow < 0:
            raise ValueError("grow must be 0 or more pixels")


@dataclass(frozen=True, eq=False)
class RestoreRequest(_Request):
    """Fill the damage in ``mask`` (H x W, >0 = damaged; soft values blend) by inpainting.

    Only masked pixels change. ``engine``: "auto" (the trained inpainter, else the classical
    fill), "gan" or "classical" (pull–push smooth fill). ``working_size``: images whose long
    side is larger are inpainted at this size inside the mask and the fill is upscaled.
    """

    image: np.ndarray
    mask: np.ndarray | None = None
    engine: str = "auto"
    working_size: int = 2048
    tile_size: int = 512
    tile_overlap: int = 64
    seed: int = 0
    request_id: int = 0
    preview: bool = False
    _arrays = (("image", (3,)), ("mask", (2,)))

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mask is None:
            raise ValueError("a restore request needs the damage mask (detect it or paint it)")
        if self.engine not in ("auto", "gan", "classical"):
            raise ValueError(f"unknown restore engine {self.engine!r}")


def _any_channel(differs: np.ndarray) -> np.ndarray:
    """H x W x C bool → H x W: any channel True. ``.any(axis=2)`` reduces along a short axis
    (8 ms for a 0.5 MP preview); four bools read as one 32-bit word, or C-1 ORs, take 0.5-1 ms."""
    if differs.shape[2] == 4 and differs.flags.c_contiguous:
        return differs.view(np.uint32)[..., 0] != 0
    out = differs[..., 0].copy()
    for channel in range(1, differs.shape[2]):
        out |= differs[..., channel]
    return out


@dataclass(frozen=True, eq=False)
class Result:
    """What a job produced: ``patch``, uint8 (y1 - y0, x1 - x0, C), the result inside ``bbox``
    (y0, x0, y1, x1) — the only region that may differ from ``source``, the request's image
    (H x W x C uint8, kept by reference, never copied). ``changed``: bool (y1 - y0, x1 - x0),
    the patch's pixels that differ from the source's, found where the result is made (the
    worker), so the editor applies a result without comparing or compositing full-size images.
    ``image`` composes the full-size result on demand (a new array each time)."""

    patch: np.ndarray
    bbox: tuple[int, int, int, int]
    request_id: int = 0
    engine: str = ""
    device: str = "cpu"
    timings: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    #: provenance (working size, float32 0..1): how much each colour comes from the user's hints,
    #: and how sure the model is (agreement of its predictions under different palettes)
    hint_influence: np.ndarray | None = None
    confidence: np.ndarray | None = None
    suggestions: tuple[tuple[int, int, int], ...] = ()
    #: damage detection: H x W uint8 mask (255 = damaged)
    mask: np.ndarray | None = None
    source: np.ndarray | None = None  #: see the class docstring; None: the patch is the image
    #: the installed models that made it (names from the manifest), set by ``Engine.run``
    models: tuple[str, ...] = ()
    changed: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        y0, x0, y1, x1 = self.bbox
        for name in ("patch", "source"):  # read-only views: ``changed`` cannot go stale
            array = getattr(self, name)
            if array is not None and array.flags.writeable:
                view = array.view()
                view.setflags(write=False)
                object.__setattr__(self, name, view)
        if self.source is None:
            changed = np.ones(self.patch.shape[:2], bool)
        else:
            if self.patch.shape[:2] != (y1 - y0, x1 - x0):
                raise ValueError(f"the patch is {self.patch.shape[:2]}, its box {self.bbox}")
            changed = _any_channel(self.patch != self.source[y0:y1, x0:x1])
        object.__setattr__(self, "changed", changed)

    @classmethod
    def compose(
        cls,
        source: np.ndarray,
        output: np.ndarray,
        bbox: tuple[int, int, int, int],
        *args: Any,
        **kw: Any,
    ) -> Result:
        """The Result of a full-size ``output`` made from ``source`` (both H x W x C uint8):
        only its ``bbox`` is kept. Other arguments as the constructor's."""
        y0, x0, y1, x1 = bbox
        patch = np.ascontiguousarray(output[y0:y1, x0:x1])
        return cls(patch, bbox, *args, **{**kw, "source": source})

    @property
    def image(self) -> np.ndarray:
        """The full-size result: the source with the patch in its box (a new array)."""
        if self.source is None:
            return self.patch.copy()
        y0, x0, y1, x1 = self.bbox
        out = self.source.copy()
        out[y0:y1, x0:x1] = self.patch
        return out

    @property
    def total_seconds(self) -> float:
        return sum(self.timings.values())
