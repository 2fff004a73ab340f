"""What a preview is made from, so it is recomputed when — and only when — that changes.

A preview shows the current mode's result for the current inputs. :class:`InputTracker` counts
changes of what previews read (the hint layer, masks, references) separately from changes of the
raster layers (pixels, opacity, blend mode, order): an input change makes a new preview; a raster
change only means the shown preview no longer matches the document (it is taken down, not
recomputed — Apply, undo of an Apply, or a new blend mode must show the document itself).
:meth:`InputTracker.inputs` turns the counters and the mode's own settings into a
:class:`PreviewInputs` value: two equal values give the same preview.

:func:`default_mode` picks the mode that fits a newly opened photo: Colourize for a black-and-
white or toned (sepia, cyanotype) print, a local Recolour for a colour photo, which never gets a
colourize preview unless the user chooses that mode. It judges what the user sees
(:func:`look_of`: all visible layers), not the bottom layer, which in a project may be a plain
background under the photo.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from PIL import Image

from colorstudio.core.compositing import composite, flatten_on
from colorstudio.core.document import Document
from colorstudio.core.events import Event
from colorstudio.core.layer import MaskRole, ReferenceRole
from colorstudio.session.generate import GenerateSettings, Mode

#: The settings each mode reads besides mode, strength and only_in_mask.
MODE_SETTINGS: dict[Mode, tuple[str, ...]] = {
    Mode.COLORIZE: ("engine", "hint_reach", "working_size", "provenance"),
    Mode.RECOLOR: ("engine", "working_size", "provenance"),
    Mode.STYLIZE: ("alpha", "detail", "keep_color", "style_working_size"),
    Mode.COLORIZE_STYLIZE: (
        "alpha",
        "detail",
        "keep_color",
        "style_working_size",
        "engine",
        "hint_reach",
    ),
    Mode.ADJUST: ("hue", "saturation", "lightness"),
    Mode.RESTORE: (),
}
HINTED_MODES = (Mode.COLORIZE, Mode.RECOLOR, Mode.COLORIZE_STYLIZE)

#: A photo is monochrome when it has almost no colour — 95 % of its pixels' chroma within this
#: distance (YCbCr units) of the median: grey scans measure 0, faded prints 4-8 — …
GREY_SPREAD = 8.0
#: …or when its colour is one hue at low chroma (a toned print: sepia, selenium, cyanotype):
#: the mean unit hue vector of the coloured pixels is at least TONED_HUE long (1: one hue) and
#: the chroma spread at most TONED_SPREAD. Measured on the aged and damaged prints in
#: shared/data: hue 0.96-1.0, spread up to 23; colour photos that are one hue (warm scenes)
#: spread 25-46, and 3 of the 40 devval photos (earth-toned landscapes) pass as toned.
TONED_HUE = 0.95
TONED_SPREAD = 24.0
_COLORED = 4.0  #: chroma above which a pixel's hue counts


@dataclass(frozen=True)
class PreviewInputs:
    document: int  #: id() of the document
    settings: tuple
    active_mask: str | None
    versions: tuple


class InputTracker:
    """Change counters for one document. ``raster_changed`` fires (synchronously) whenever
    something other than a preview input changes."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.versions: dict[str, int] = {}
        self.raster_version = 0
        self.raster_changed = Event("raster_changed")
        self._layers = self._layer_ids()
        self._inputs = self._input_ids()
        self._looks = self._layer_looks()
        doc.events.pixels_changed.connect(self._on_pixels_changed)
        doc.events.properties_changed.connect(self._on_properties_changed)
        doc.events.structure_changed.connect(self._on_structure_changed)

    def close(self) -> None:
        """Stop listening (the document is no longer the open one)."""
        self.doc.events.pixels_changed.disconnect(self._on_pixels_changed)
        self.doc.events.properties_changed.disconnect(self._on_properties_changed)
        self.doc.events.structure_changed.disconnect(self._on_structure_changed)

    def _layer_ids(self) -> tuple[str, ...]:
        return tuple(layer.id for layer in self.doc.layers)

    def _layer_looks(self) -> dict[str, tuple]:
        """What of each raster layer's properties shows (a new name does not)."""
        return {x.id: (x.visible, x.opacity, x.blend_mode) for x in self.doc.layers}

    def _input_ids(self) -> tuple[str, ...]:
        doc = self.doc
        return (doc.hint.id, *(m.id for m in doc.masks), *(r.id for r in doc.references))

    def _bump(self, node_id: str) -> None:
        if node_id in self._inputs:
            self.versions[node_id] = self.versions.get(node_id, 0) + 1
        else:
            self.raster_version += 1
            self.raster_changed.emit()

    def _on_pixels_changed(self, target_id: str, _bbox) -> None:
        self._bump(target_id)

    def _on_properties_changed(self, target_id: str) -> None:
        if target_id in self._inputs:
            self._bump(target_id)
            return
        looks = self._layer_looks()
        if looks.get(target_id) != self._looks.get(target_id):
            self._looks = looks
            self._bump(target_id)

    def _on_structure_changed(self) -> None:
        layers, inputs = self._layer_ids(), self._input_ids()
        if inputs != self._inputs:  # which nodes exist is part of what inputs() reads
            self._inputs = inputs
        if layers != self._layers:
            self._layers, self._looks = layers, self._layer_looks()
            self.raster_version += 1
            self.raster_changed.emit()

    def inputs(self, settings: GenerateSettings, active_mask: str | None) -> PreviewInputs:
        """What a preview in ``settings.mode`` made now would be computed from: the mode's
        settings and the versions of the nodes that mode reads (see :func:`read_by`)."""
        names = ("mode", "strength", "only_in_mask", *MODE_SETTINGS[settings.mode])
        wanted = read_by(self.doc, settings, active_mask)
        versions = tuple((k, self.versions.get(k, 0)) for k in sorted(wanted))
        reads_mask = active_mask in wanted
        return PreviewInputs(
            id(self.doc),
            tuple(getattr(settings, name) for name in names),
            active_mask if reads_mask else None,
            versions,
        )


def read_by(doc: Document, settings: GenerateSettings, active_mask: str | None) -> set[str]:
    """The ids of the nodes a preview in ``settings.mode`` reads: hints in the colour modes,
    the active mask where the mode is limited to it, the strength map, palette references in
    the colour modes, style references in the style modes."""
    mode = settings.mode
    wanted = set()
    if mode in HINTED_MODES:
        wanted.add(doc.hint.id)
    if mode in (Mode.RECOLOR, Mode.RESTORE) or settings.only_in_mask:
        wanted.add(active_mask or "(no mask)")
    wanted.update(m.id for m in doc.masks if m.role is MaskRole.STRENGTH)
    roles = set()
    if mode in (Mode.COLORIZE, Mode.RECOLOR, Mode.COLORIZE_STYLIZE):
        roles.add(ReferenceRole.PALETTE)
    if mode in (Mode.STYLIZE, Mode.COLORIZE_STYLIZE):
        roles.add(ReferenceRole.STYLE)
    wanted.update(r.id for r in doc.references if r.role in roles)
    return wanted


def is_monochrome(rgb: np.ndarray) -> bool:
    """Whether an H x W x 3 uint8 sRGB photo is black-and-white or toned (sepia…)."""
    image = Image.fromarray(np.ascontiguousarray(rgb[..., :3]))
    image.thumbnail((256, 256))
    chroma = np.asarray(image.convert("YCbCr"), np.float32)[..., 1:].reshape(-1, 2) - 128
    spread = np.linalg.norm(chroma - np.median(chroma, axis=0), axis=1)
    spread95 = float(np.percentile(spread, 95))
    if spread95 <= GREY_SPREAD:
        return True
    if spread95 > TONED_SPREAD:
        return False
    colored = chroma[np.linalg.norm(chroma, axis=1) > _COLORED]
    hue = np.arctan2(colored[:, 1], colored[:, 0])
    return bool(np.abs(np.exp(1j * hue).mean()) >= TONED_HUE)


def default_mode(rgb: np.ndarray) -> Mode:
    """Colourize for a monochrome photo, a local Recolour for a colour one."""
    return Mode.COLORIZE if is_monochrome(rgb) else Mode.RECOLOR


def look_of(doc: Document, long_side: int = 512) -> np.ndarray:
    """A cheap look at what the document shows: its visible layers composited at about
    ``long_side`` (every n-th pixel), over white. H' x W' x 3 uint8 sRGB."""
    step = max(1, max(doc.width, doc.height) // long_side)
    small = [
        dataclasses.replace(layer, pixels=layer.pixels[::step, ::step]) for layer in doc.layers
    ]
    height, width = small[0].pixels.shape[:2] if small else (1, 1)
    return flatten_on(composite(small, height, width))
