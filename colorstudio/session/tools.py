"""Tools: what a press / drag / release on the canvas does to the document.

Qt-free (core only), so every tool is unit-tested without a window. The canvas converts mouse and
tablet events to image coordinates and calls :meth:`ToolController.press`, ``move`` and
``release``; each returns the image box that needs repainting. A whole drag becomes one undo step
pushed on the History.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum

import numpy as np

from colorstudio.core.brush import BrushSettings, PaintMode, Stroke, flood_fill
from colorstudio.core.compositing import composite
from colorstudio.core.document import Document
from colorstudio.core.edits import CompoundEdit, Edit, InsertNode, PatchEdit
from colorstudio.core.geometry import BBox
from colorstudio.core.history import History
from colorstudio.core.layer import MaskRole
from colorstudio.core.masks import bbox_of


class Tool(str, Enum):
    HINT = "hint"  #: colour-hint brush: paints into the hint layer
    MASK = "mask"  #: mask brush: adds to the active mask
    MASK_ERASER = "mask_eraser"
    BRUSH = "brush"  #: paint brush on the active layer
    ERASER = "eraser"
    PICKER = "picker"  #: eyedropper: sets the current colour
    FILL = "fill"
    RECT_SELECT = "rect_select"  #: rectangle → mask
    LASSO = "lasso"  #: freehand polygon → mask
    STRENGTH = "strength"  #: paints the generator's strength map (lower/raise locally)


#: the tools that paint with the brush settings (size, hardness, opacity, flow)
BRUSH_TOOLS = frozenset(
    {Tool.HINT, Tool.MASK, Tool.MASK_ERASER, Tool.BRUSH, Tool.ERASER, Tool.STRENGTH}
)
#: the tools that make or change the active mask
MASK_TOOLS = frozenset({Tool.MASK, Tool.MASK_ERASER, Tool.RECT_SELECT, Tool.LASSO})
#: the tools that use (or set) the current colour
COLOR_TOOLS = frozenset({Tool.HINT, Tool.BRUSH, Tool.PICKER, Tool.FILL})

TOOL_LABELS = {
    Tool.HINT: "Colour hint brush (H)",
    Tool.MASK: "Mask brush (M)",
    Tool.MASK_ERASER: "Mask eraser (Shift+M)",
    Tool.BRUSH: "Paint brush (B)",
    Tool.ERASER: "Eraser (E)",
    Tool.PICKER: "Colour picker (I)",
    Tool.FILL: "Fill (G)",
    Tool.RECT_SELECT: "Rectangle selection → mask (R)",
    Tool.LASSO: "Lasso selection → mask (L)",
    Tool.STRENGTH: "Strength brush (S)",
}
STRENGTH_MASK_NAME = "Strength"  #: the strength map's default name (its role says what it is)


@dataclass
class ToolState:
    """The tool options the user sets (size, hardness, opacity, flow, colour...)."""

    tool: Tool = Tool.HINT
    brush: BrushSettings = field(default_factory=lambda: BrushSettings(size=24, hardness=0.7))
    color: tuple[int, int, int] = (200, 60, 40)
    recent_colors: list[tuple[int, int, int]] = field(default_factory=list)
    fill_tolerance: int = 32
    sample_merged: bool = True
    strength_lower: bool = True  #: the strength brush lowers (True) or raises strength

    def set_color(self, color: tuple[int, int, int]) -> None:
        self.color = tuple(int(c) for c in color)[:3]  # type: ignore[assignment]
        if self.color in self.recent_colors:
            self.recent_colors.remove(self.color)
        self.recent_colors.insert(0, self.color)
        del self.recent_colors[12:]

    def resize_brush(self, factor: float) -> None:
        size = min(5000.0, max(1.0, round(self.brush.size * factor, 1)))
        self.brush = replace(self.brush, size=size)


class ToolController:
    """Applies the current tool to a document and records each gesture in the history."""

    def __init__(
        self, document: Document, history: History, state: ToolState | None = None
    ) -> None:
        self.doc = document
        self.history = history
        self.state = state or ToolState()
        self.active_layer_id: str | None = document.layers[-1].id if document.layers else None
        self.active_mask_id: str | None = document.masks[0].id if document.masks else None
        self._stroke: Stroke | None = None
        self._stroke_target: str | None = None
        self._created: InsertNode | None = None
        self._path: list[tuple[float, float]] = []
        self.picked: tuple[int, int, int] | None = None

    # ------------------------------------------------------------------ targets
    def active_layer(self):
        for layer in self.doc.layers:
            if layer.id == self.active_layer_id:
                return layer
        return self.doc.layers[-1] if self.doc.layers else None

    def _mask_target(self, role: MaskRole = MaskRole.SELECTION) -> str:
        """The active selection mask, or the strength map: created on first use as part of
        the gesture."""
        for mask in self.doc.masks:
            if mask.role is role and (role is MaskRole.STRENGTH or mask.id == self.active_mask_id):
                return mask.id
        strength = role is MaskRole.STRENGTH
        mask = self.doc.new_mask(
            STRENGTH_MASK_NAME if strength else f"Mask {len(self.doc.masks) + 1}"
        )
        mask.role = role
        if strength:
            mask.pixels[...] = 255  # full strength everywhere until painted down
        self._created = InsertNode("masks", len(self.doc.masks), mask, "Add mask")
        self._created.apply(self.doc)
        if not strength:
            self.active_mask_id = mask.id
        return mask.id

    @property
    def stroking(self) -> bool:
        """A brush stroke is in progress (its undo step is made when it ends)."""
        return self._stroke is not None

    # ------------------------------------------------------------------ gestures
    def press(self, x: float, y: float, pressure: float = 1.0) -> BBox | None:
        tool = self.state.tool
        self._created = None
        if tool in (Tool.HINT, Tool.MASK, Tool.MASK_ERASER, Tool.BRUSH, Tool.ERASER, Tool.STRENGTH):
            target, mode, color = self._stroke_setup(tool)
            if target is None:
                return None
            self._stroke_target = target
            self._stroke = Stroke(self.doc.pixels_of(target), self.state.brush, mode, color)
            return self._stroke.add_point(x, y, pressure)
        if tool is Tool.PICKER:
            self.pick(x, y)
            return None
        if tool is Tool.FILL:
            return self._fill(int(x), int(y))
        if tool in (Tool.RECT_SELECT, Tool.LASSO):
            self._path = [(x, y)]
        return None

    def move(self, x: float, y: float, pressure: float = 1.0) -> BBox | None:
        if self._stroke is not None:
            return self._stroke.add_point(x, y, pressure)
        if self.state.tool is Tool.LASSO and self._path:
            self._path.append((x, y))
        elif self.state.tool is Tool.RECT_SELECT and self._path:
            self._path[1:] = [(x, y)]
        return None

    def release(self, x: float, y: float, pressure: float = 1.0) -> BBox | None:
        if self._stroke is not None:
            dirty = self._stroke.add_point(x, y, pressure)
            dirty = self._stroke.bbox or dirty
            assert self._stroke_target is not None  # set with the stroke
            edit = self._stroke.finish(self._stroke_target, self._label())
            self._push(edit)
            self._stroke = None
            return dirty
        if self.state.tool in (Tool.RECT_SELECT, Tool.LASSO) and self._path:
            self.move(x, y)
            path, self._path = self._path, []
            return self._select(path)
        return None

    @property
    def selection_path(self) -> list[tuple[float, float]]:
        """The rectangle or lasso being dragged (for the canvas to draw)."""
        return list(self._path)

    # ------------------------------------------------------------------ pieces
    def _stroke_setup(self, tool: Tool):
        color = self.state.color
        if tool is Tool.HINT:
            return self.doc.hint.id, PaintMode.PAINT, color
        if tool is Tool.MASK:
            return self._mask_target(), PaintMode.MASK_ADD, (255, 255, 255)
        if tool is Tool.MASK_ERASER:
            if not self.doc.masks:
                return None, None, None
            return self._mask_target(), PaintMode.MASK_REMOVE, (0, 0, 0)
        if tool is Tool.STRENGTH:
            mode = PaintMode.MASK_REMOVE if self.state.strength_lower else PaintMode.MASK_ADD
            return self._mask_target(MaskRole.STRENGTH), mode, (0, 0, 0)
        layer = self.active_layer()
        if layer is None:
            return None, None, None
        return layer.id, PaintMode.PAINT if tool is Tool.BRUSH else PaintMode.ERASE, color

    def _label(self) -> str:
        return {
            Tool.HINT: "Colour hint",
            Tool.MASK: "Mask",
            Tool.MASK_ERASER: "Erase mask",
            Tool.BRUSH: "Paint",
            Tool.ERASER: "Erase",
            Tool.STRENGTH: "Strength",
        }.get(self.state.tool, "Paint")

    def _push(self, edit: PatchEdit | None) -> None:
        """Record a gesture already painted into the document, and say what it changed (the
        pixels were written live, without the events an edit's apply() sends)."""
        created, self._created = self._created, None
        if created is not None:
            parts = (created,) if edit is None else (created, edit)
            self.history.push(CompoundEdit(parts, edit.label if edit else "Add mask"))
            self.doc.events.structure_changed.emit()
        else:
            self.history.push(edit)
        if edit is not None:
            self.doc.events.pixels_changed.emit(edit.target_id, edit.bbox)

    def recolor_last_stroke(self, color: tuple[int, int, int]) -> BBox | None:
        """Give the most recent hint stroke another colour (one more undo step)."""
        if not self.history.can_undo:
            return None
        last: Edit | None = self.history._edits[self.history.index - 1]
        if isinstance(last, CompoundEdit):
            last = next((e for e in reversed(last.edits) if isinstance(e, PatchEdit)), None)
        if not isinstance(last, PatchEdit) or last.target_id != self.doc.hint.id:
            return None
        y0, x0, y1, x1 = last.bbox
        region = self.doc.hint.pixels[y0:y1, x0:x1]
        touched = np.zeros(region.shape[:2], bool)
        if last.mask is None:
            touched[...] = last.new[..., 3] > 0
        else:
            touched[last.mask] = last.new[:, 3] > 0
        before = region.copy()
        after = before.copy()
        after[touched, :3] = color
        edit = PatchEdit.from_arrays(self.doc.hint.id, last.bbox, before, after, "Recolour hint")
        if edit is None:
            return None
        self.history.do(edit)
        return edit.bbox

    def pick(self, x: float, y: float) -> tuple[int, int, int] | None:
        xi, yi = int(x), int(y)
        if not (0 <= xi < self.doc.width and 0 <= yi < self.doc.height):
            return None
        pixel = composite(
            self.doc.layers, self.doc.height, self.doc.width, (yi, xi, yi + 1, xi + 1)
        )[0, 0]
        self.picked = (int(pixel[0]), int(pixel[1]), int(pixel[2]))
        self.state.set_color(self.picked)
        return self.picked

    def _fill(self, x: int, y: int) -> BBox | None:
        layer = self.active_layer()
        if layer is None or not (0 <= x < self.doc.width and 0 <= y < self.doc.height):
            return None
        sample = (
            composite(self.doc.layers, self.doc.height, self.doc.width)
            if self.state.sample_merged
            else None
        )
        edit = flood_fill(
            layer.pixels,
            layer.id,
            x,
            y,
            (*self.state.color, 255),
            self.state.fill_tolerance,
            self.state.brush.opacity,
            sample,
        )
        self._push(edit)
        return None if edit is None else edit.bbox

    def _select(self, path: list[tuple[float, float]]) -> BBox | None:
        """Rasterise the rectangle or lasso into the active mask (one undo step)."""
        from PIL import Image, ImageDraw

        if self.state.tool is Tool.RECT_SELECT:
            (x0, y0), (x1, y1) = path[0], path[-1]
            polygon = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        else:
            polygon = path
        if len(polygon) < 3:
            return None
        shape = Image.new("L", (self.doc.width, self.doc.height), 0)
        ImageDraw.Draw(shape).polygon(polygon, fill=255)
        region = np.asarray(shape) > 0
        if not region.any():
            return None
        self._created = None
        target = self._mask_target()
        pixels = self.doc.pixels_of(target)
        ys, xs = np.nonzero(region)
        box = (int(ys.min()), int(xs.min()), int(ys.max()) + 1, int(xs.max()) + 1)
        before = pixels[box[0] : box[2], box[1] : box[3]].copy()
        after = np.where(region[box[0] : box[2], box[1] : box[3]], 255, before).astype(np.uint8)
        pixels[box[0] : box[2], box[1] : box[3]] = after
        self._push(PatchEdit.from_arrays(target, box, before, after, "Selection to mask"))
        return box


def clear_mask_edit(doc: Document, mask_id: str | None) -> Edit | None:
    """The undoable edit that empties mask ``mask_id`` (Deselect); None when there is no such
    mask or it is already empty."""
    mask = next((m for m in doc.masks if m.id == mask_id), None)
    if mask is None:
        return None
    box = bbox_of(mask.pixels > 0, mask.pixels.shape)
    if box is None:
        return None
    y0, x0, y1, x1 = box
    before = mask.pixels[y0:y1, x0:x1].copy()
    return PatchEdit.from_arrays(mask.id, box, before, np.zeros_like(before), "Clear mask")
