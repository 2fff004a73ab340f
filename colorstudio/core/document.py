"""The Document: an ordered raster stack plus the editor's hint layer, masks and references."""

from __future__ import annotations

import json
from typing import Any, Literal

import numpy as np

from colorstudio.core.events import DocumentEvents
from colorstudio.core.layer import Layer, LayerKind, Reference

Collection = Literal["layers", "masks", "references"]
Node = Layer | Reference


class DocumentError(Exception):
    """A request that does not fit the document (wrong size, unknown id...)."""


class Document:
    """An image being edited.

    - ``layers``: raster layers, bottom first (index 0 is composited first).
    - ``hint``: the single colour-hint layer the generator reads (RGBA, transparent = no hint).
    - ``masks``: any number of 8-bit soft masks.
    - ``references``: reference images with a role (palette / style) and a strength.
    - ``editor_state``: JSON-safe editor settings saved with the project (active layer...).

    Mutation goes through :mod:`colorstudio.core.edits` so every change is undoable; the
    methods here are the primitives those edits use, and they emit :attr:`events`.
    """

    MAX_SIDE = 32768

    def __init__(self, width: int, height: int) -> None:
        if not (0 < width <= self.MAX_SIDE and 0 < height <= self.MAX_SIDE):
            raise DocumentError(
                f"a document must be 1..{self.MAX_SIDE} px on each side, got {width} x {height}"
            )
        self.width = int(width)
        self.height = int(height)
        self.layers: list[Layer] = []
        self.masks: list[Layer] = []
        self.references: list[Reference] = []
        self.hint = Layer("Colour hints", self.blank_rgba(), kind=LayerKind.HINT)
        self.editor_state: dict[str, Any] = {}
        self.events = DocumentEvents()
        self._dirty = False

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_rgba(cls, rgba: np.ndarray, name: str = "Background") -> Document:
        """A document with one layer holding ``rgba`` (H x W x 4 uint8)."""
        doc = cls(rgba.shape[1], rgba.shape[0])
        pixels = np.ascontiguousarray(rgba, dtype=np.uint8)
        if not pixels.flags.writeable:
            pixels = pixels.copy()
        doc.layers.append(Layer(name, pixels))
        return doc

    def blank_rgba(self) -> np.ndarray:
        """Transparent H x W x 4 uint8 pixels of the document's size."""
        return np.zeros((self.height, self.width, 4), np.uint8)

    def blank_mask(self) -> np.ndarray:
        """Empty H x W uint8 mask of the document's size."""
        return np.zeros((self.height, self.width), np.uint8)

    def new_layer(self, name: str, pixels: np.ndarray | None = None) -> Layer:
        """A raster layer of the document's size (not yet inserted: use an InsertNode edit)."""
        return Layer(name, self.blank_rgba() if pixels is None else pixels)

    def new_mask(self, name: str, pixels: np.ndarray | None = None) -> Layer:
        return Layer(name, self.blank_mask() if pixels is None else pixels, kind=LayerKind.MASK)

    def snapshot(self) -> Document:
        """A deep copy with the same ids (for saving from another thread while editing goes on)."""
        copy = Document(self.width, self.height)
        copy.layers = [layer.copy(keep_id=True) for layer in self.layers]
        copy.masks = [mask.copy(keep_id=True) for mask in self.masks]
        copy.hint = self.hint.copy(keep_id=True)
        copy.references = [
            Reference(
                ref.name,
                ref.image.copy(),
                ref.role,
                ref.strength,
                None if ref.mask is None else ref.mask.copy(),
                ref.enabled,
                ref.id,
            )
            for ref in self.references
        ]
        copy.editor_state = json.loads(json.dumps(self.editor_state))
        copy._dirty = self._dirty
        return copy

    # ----------------------------------------------------------------- lookup
    def collection(self, which: Collection) -> list[Any]:
        if which == "layers":
            return self.layers
        if which == "masks":
            return self.masks
        if which == "references":
            return self.references
        raise DocumentError(f"unknown collection {which!r}")

    def find(self, node_id: str) -> Node:
        """The layer, mask, hint layer or reference with this id."""
        if self.hint.id == node_id:
            return self.hint
        nodes: tuple[Node, ...] = (*self.layers, *self.masks, *self.references)
        for node in nodes:
            if node.id == node_id:
                return node
        raise DocumentError(f"no layer, mask or reference with id {node_id!r}")

    def pixels_of(self, node_id: str) -> np.ndarray:
        """The live pixel array of a layer, mask or the hint layer."""
        node = self.find(node_id)
        if not isinstance(node, Layer):
            raise DocumentError(f"{node.name!r} is a reference, it has no editable pixels")
        return node.pixels

    def index_of(self, node_id: str) -> tuple[Collection, int]:
        for which in ("layers", "masks", "references"):
            for i, node in enumerate(self.collection(which)):  # type: ignore[arg-type]
                if node.id == node_id:
                    return which, i  # type: ignore[return-value]
        raise DocumentError(f"{node_id!r} is not in any collection")

    # ----------------------------------------------------------------- primitives used by edits
    def insert(self, which: Collection, index: int, node: Node) -> None:
        items = self.collection(which)
        if isinstance(node, Layer):
            expected = (self.height, self.width)
            if node.pixels.shape[:2] != expected:
                raise DocumentError(
                    f"layer {node.name!r} is {node.pixels.shape[1]} x {node.pixels.shape[0]}, "
                    f"the document is {self.width} x {self.height}"
                )
            wanted = LayerKind.MASK if which == "masks" else LayerKind.RASTER
            if node.kind is not wanted:
                raise DocumentError(f"a {node.kind.value} layer cannot go into {which}")
        elif which != "references":
            raise DocumentError("references go into the references collection")
        if not 0 <= index <= len(items):
            raise DocumentError(f"index {index} out of range for {which}")
        items.insert(index, node)
        self.events.structure_changed.emit()

    def remove(self, which: Collection, index: int) -> Node:
        node = self.collection(which).pop(index)
        self.events.structure_changed.emit()
        return node

    def move(self, which: Collection, old_index: int, new_index: int) -> None:
        items = self.collection(which)
        node = items.pop(old_index)
        items.insert(new_index, node)
        self.events.structure_changed.emit()

    def set_properties(self, node_id: str, values: dict[str, Any]) -> None:
        node = self.find(node_id)
        for key, value in values.items():
            if key not in node.PROPERTIES:
                raise DocumentError(f"{key!r} is not an editable property of {node.name!r}")
            setattr(node, key, value)
        self.events.properties_changed.emit(node_id)

    # ----------------------------------------------------------------- dirty flag
    @property
    def dirty(self) -> bool:
        return self._dirty

    def mark_dirty(self) -> None:
        if not self._dirty:
            self._dirty = True
            self.events.dirty_changed.emit(True)

    def mark_clean(self) -> None:
        if self._dirty:
            self._dirty = False
            self.events.dirty_changed.emit(False)
