"""Undo as data: every change to a Document is an Edit with pure apply()/revert().

``apply`` and ``revert`` never mutate the edit itself, so an edit can be applied, reverted and
re-applied any number of times with identical results. Pixel edits store only the box they touched,
the touched-pixel mask (or ``None`` when every pixel in the box changed), and the old and new values
of the touched pixels — memory grows with the stroke, not the image (as napari's paint history).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from colorstudio.core.document import Collection, Document, Node
from colorstudio.core.geometry import BBox, slices


class Edit:
    """Base class: a reversible change with a human label and a memory cost."""

    label: str = "Edit"

    def apply(self, doc: Document) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def revert(self, doc: Document) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    @property
    def nbytes(self) -> int:
        return 64


@dataclass(frozen=True, eq=False)
class PatchEdit(Edit):
    """Pixels of one layer/mask/hint layer changed inside ``bbox``.

    - ``mask``: ``None`` (every pixel of the box changed) or a bool array of the box's H x W.
    - ``old`` / ``new``: with a mask, the touched pixels only, shape (N,) or (N, C) where N is
      ``mask.sum()``; without one, the whole box, shape (h, w) or (h, w, C). dtype uint8.
    """

    target_id: str
    bbox: BBox
    mask: np.ndarray | None
    old: np.ndarray
    new: np.ndarray
    label: str = "Paint"

    @classmethod
    def from_arrays(
        cls,
        target_id: str,
        bbox: BBox,
        before: np.ndarray,
        after: np.ndarray,
        label: str = "Paint",
    ) -> PatchEdit | None:
        """Build the smallest edit turning ``before`` into ``after`` (both the bbox crop).

        Returns ``None`` when nothing changed. Keeps a pixel mask when under ~60% of the box
        changed, otherwise the whole box (cheaper than mask + scattered values).
        """
        if before.shape != after.shape:
            raise ValueError("before and after must have the same shape")
        diff = before != after
        if diff.ndim == 3:
            diff = diff.any(axis=2)
        changed = int(diff.sum())
        if changed == 0:
            return None
        ys, xs = np.nonzero(diff)
        y0, x0, y1, x1 = int(ys.min()), int(xs.min()), int(ys.max()) + 1, int(xs.max()) + 1
        diff = diff[y0:y1, x0:x1]
        before = before[y0:y1, x0:x1]
        after = after[y0:y1, x0:x1]
        box = (bbox[0] + y0, bbox[1] + x0, bbox[0] + y1, bbox[1] + x1)
        if changed < 0.6 * diff.size:
            return cls(target_id, box, diff.copy(), before[diff].copy(), after[diff].copy(), label)
        return cls(target_id, box, None, before.copy(), after.copy(), label)

    def _write(self, doc: Document, values: np.ndarray) -> None:
        pixels = doc.pixels_of(self.target_id)
        region = pixels[slices(self.bbox)]
        if self.mask is None:
            region[...] = values
        else:
            region[self.mask] = values
        doc.events.pixels_changed.emit(self.target_id, self.bbox)

    def apply(self, doc: Document) -> None:
        self._write(doc, self.new)

    def revert(self, doc: Document) -> None:
        self._write(doc, self.old)

    @property
    def nbytes(self) -> int:
        mask_bytes = 0 if self.mask is None else self.mask.nbytes
        return self.old.nbytes + self.new.nbytes + mask_bytes + 128


@dataclass(frozen=True, eq=False)
class InsertNode(Edit):
    """Insert a layer, mask or reference at ``index`` of a collection."""

    collection: Collection
    index: int
    node: Node
    label: str = "Add layer"

    def apply(self, doc: Document) -> None:
        doc.insert(self.collection, self.index, self.node)

    def revert(self, doc: Document) -> None:
        doc.remove(self.collection, self.index)

    @property
    def nbytes(self) -> int:
        return _node_bytes(self.node)


@dataclass(frozen=True, eq=False)
class RemoveNode(Edit):
    """Remove the node at ``index`` (the edit keeps it, so undo restores it exactly)."""

    collection: Collection
    index: int
    node: Node
    label: str = "Delete layer"

    @classmethod
    def of(cls, doc: Document, node_id: str, label: str = "Delete layer") -> RemoveNode:
        which, index = doc.index_of(node_id)
        return cls(which, index, doc.collection(which)[index], label)

    def apply(self, doc: Document) -> None:
        removed = doc.remove(self.collection, self.index)
        if removed is not self.node:
            doc.insert(self.collection, self.index, removed)
            raise RuntimeError("history out of step with the document")

    def revert(self, doc: Document) -> None:
        doc.insert(self.collection, self.index, self.node)

    @property
    def nbytes(self) -> int:
        return _node_bytes(self.node)


@dataclass(frozen=True, eq=False)
class MoveNode(Edit):
    collection: Collection
    old_index: int
    new_index: int
    label: str = "Move layer"

    def apply(self, doc: Document) -> None:
        doc.move(self.collection, self.old_index, self.new_index)

    def revert(self, doc: Document) -> None:
        doc.move(self.collection, self.new_index, self.old_index)


@dataclass(frozen=True, eq=False)
class SetProperties(Edit):
    """Change properties (name, opacity, visible, blend_mode, role, strength...) of a node."""

    target_id: str
    old: dict[str, Any]
    new: dict[str, Any]
    label: str = "Layer properties"

    @classmethod
    def of(cls, doc: Document, node_id: str, label: str = "Layer properties", **values: Any):
        node = doc.find(node_id)
        old = {key: getattr(node, key) for key in values}
        return cls(node_id, old, dict(values), label)

    def apply(self, doc: Document) -> None:
        doc.set_properties(self.target_id, self.new)

    def revert(self, doc: Document) -> None:
        doc.set_properties(self.target_id, self.old)


@dataclass(frozen=True, eq=False)
class CompoundEdit(Edit):
    """Several edits as one undo step (e.g. "new layer + generated pixels")."""

    edits: tuple[Edit, ...] = field(default_factory=tuple)
    label: str = "Edit"

    def apply(self, doc: Document) -> None:
        for edit in self.edits:
            edit.apply(doc)

    def revert(self, doc: Document) -> None:
        for edit in reversed(self.edits):
            edit.revert(doc)

    @property
    def nbytes(self) -> int:
        return sum(edit.nbytes for edit in self.edits) + 64


def _node_bytes(node: Node) -> int:
    arrays = [
        getattr(node, "pixels", None),
        getattr(node, "image", None),
        getattr(node, "mask", None),
    ]
    return sum(a.nbytes for a in arrays if a is not None) + 256
