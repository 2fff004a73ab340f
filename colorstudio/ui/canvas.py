"""The canvas: the document composite over a checkerboard, tools, zoom/pan, overlays, compare.

Rendering: a cached QImage holds what is shown (composite, or the live preview; the hint layer and
the active mask as overlays). Brush strokes recompute only their dirty box and repaint only the
matching widget rectangle, so painting on a 24 MP image stays smooth. Zoom runs from 1 % to
3200 % around the cursor; pixels are drawn nearest-neighbour from 200 %. 100 % means one image
pixel per *device* pixel on high-DPI screens. Tablet pressure reaches the brush.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QWidget

from colorstudio.core.compositing import composite
from colorstudio.core.document import Document
from colorstudio.core.geometry import BBox, clip
from colorstudio.session.tools import Tool, ToolController
from colorstudio.ui import badge
from colorstudio.ui.canvas_input import CanvasInputMixin
from colorstudio.ui.overlay import OUTLINE_WIDTH, overlay_rgba
from colorstudio.ui.qimage import display_qimage, rgba_to_qimage

MIN_ZOOM, MAX_ZOOM = 0.01, 32.0


def checkerboard(size: int = 8) -> QPixmap:
    pixmap = QPixmap(2 * size, 2 * size)
    pixmap.fill(QColor(204, 204, 204))
    painter = QPainter(pixmap)
    painter.fillRect(0, 0, size, size, QColor(153, 153, 153))
    painter.fillRect(size, size, size, size, QColor(153, 153, 153))
    painter.end()
    return pixmap


class CanvasView(CanvasInputMixin, QWidget):
    """Shows a Document and routes pointer input (:class:`CanvasInputMixin`) to a
    ToolController."""

    view_changed = Signal()
    stroke_finished = Signal()
    color_picked = Signal(tuple)
    cursor_moved = Signal(float, float)
    hint_point = Signal(int, int)  #: a click (not a stroke) with the hint brush: suggest colours
    CLICK_PX = 4  #: a press and release this close (screen pixels) are a click

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(200, 150)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.view_changed.connect(lambda: self.set_mask_outline(self.mask_outline))  # its width
        self.document: Document | None = None
        self.controller: ToolController | None = None
        self.image = QImage()  # the document composite ("before" when a preview is shown)
        self.overlay = QImage()  # hint layer and active mask, drawn on top
        self.preview: np.ndarray | None = None  # a generated preview, drawn over the composite
        self._preview_opaque = False  #: the preview hides the document wherever it is drawn
        self.preview_image = QImage()
        self.preview_label = ""  #: the badge drawn over a shown preview
        self.provenance_image = QImage()  # drawn scaled over the view when set
        self.show_hints = True
        self.show_mask = True
        self.split: float | None = None  # compare: fraction of the width showing "before"
        self.showing_before = False  # compare: the document, not the preview, is shown
        self.original_pinned = False  # View ▸ Show Original: what releasing the key returns to
        self._shown_radius = 0.0  # the cursor outline's radius as last painted
        self.zoom = 1.0
        self.offset = QPointF(0, 0)  # widget position of image pixel (0, 0), logical px
        self._checker = checkerboard()
        self._panning: QPointF | None = None
        self._space_down = False
        self._drawing = False
        self._pressed_at: tuple[QPointF, QPointF] | None = None  #: widget and image point
        #: where the gesture being dragged is now in the image, with its pressure (the view
        #: may move before the gesture ends)
        self._gesture_at: tuple[QPointF, float] = (QPointF(), 1.0)
        self._cursor_pos: QPointF | None = None
        self._composited: tuple = ()  # layer signature of the cached composite

    # ---------------------------------------------------------------- binding
    def set_document(self, doc: Document | None, controller: ToolController | None = None) -> None:
        if self.document is not None:
            events = self.document.events
            events.pixels_changed.disconnect(self._on_document_pixels_changed)
            events.structure_changed.disconnect(self._on_document_structure_changed)
            events.properties_changed.disconnect(self._on_document_properties_changed)
        self.document = doc
        self.controller = controller
        self.set_preview(None)
        self._outline = 0
        if doc is not None:
            doc.events.pixels_changed.connect(self._on_document_pixels_changed)
            doc.events.structure_changed.connect(self._on_document_structure_changed)
            doc.events.properties_changed.connect(self._on_document_properties_changed)
        self.refresh()
        self.fit()

    def set_preview(self, image: np.ndarray | None, label: str = "") -> None:
        """Show ``image`` (H' x W' x 3/4 uint8, any size: drawn scaled over the document),
        marked on the canvas with ``label`` (what it is: a preview, not yet applied)."""
        if image is not None and image is self.preview:  # the same picture, a new label:
            old = self._badge_rect(self.preview_label)  # repaint the badge only
            self.preview_label = label
            self.update(old.united(self._badge_rect(label)).toAlignedRect().adjusted(-1, -1, 1, 1))
            return
        self.preview = image
        self.preview_label = label if image is not None else ""
        if image is None:
            self.preview_image = QImage()
        else:
            self.preview_image = display_qimage(image)
            self._preview_opaque = image.shape[2] == 3 or bool((image[..., 3] == 255).all())
        self.update()

    def set_provenance(self, influence: np.ndarray | None, confidence: np.ndarray | None) -> None:
        """Blue where colours come from the user's hints, orange where the model guessed; more
        opaque where the model is unsure. Inputs: h x w float32 0..1 (any size)."""
        if influence is None or confidence is None:
            self.provenance_image = QImage()
        else:
            blue, orange = (
                np.array([40, 110, 255], np.float32),
                np.array([255, 140, 20], np.float32),
            )
            rgba = np.empty((*influence.shape, 4), np.uint8)
            rgba[..., :3] = influence[..., None] * blue + (1 - influence[..., None]) * orange
            rgba[..., 3] = (70 + 130 * (1 - confidence)).astype(np.uint8)
            self.provenance_image = display_qimage(rgba)
        self.update()

    def _on_document_pixels_changed(self, target_id: str, bbox: BBox) -> None:
        doc = self.document
        is_layer = doc is not None and any(layer.id == target_id for layer in doc.layers)
        self.refresh(bbox, layers=is_layer)

    def _layer_signature(self) -> tuple:
        doc = self.document
        if doc is None:
            return ()
        return tuple(
            (layer.id, layer.visible, layer.opacity, layer.blend_mode) for layer in doc.layers
        )

    def _on_document_structure_changed(self) -> None:
        # Masks and references come and go without touching the composite: redo the overlay only.
        if self._layer_signature() == self._composited and not self.image.isNull():
            self.refresh_overlay()
        else:
            self.refresh()

    _overlay = QImage()
    _overlay_stale = False  #: the overlay is rendered again when next drawn or read

    @property
    def overlay(self) -> QImage:
        """The hint layer over the active mask, at the document's size (QImage). Rendered when
        first needed after :meth:`refresh_overlay`: the refreshes of one turn of the event loop
        (an edit, the mask shown again, another active mask) cost one render, which on a 63 MP
        scan is a second or more of the GUI thread."""
        if self._overlay_stale:
            self._overlay_stale = False
            doc = self.document
            self._overlay = (
                QImage()
                if doc is None
                else display_qimage(self.render_overlay((0, 0, doc.height, doc.width)))
            )
        return self._overlay

    @overlay.setter
    def overlay(self, image: QImage) -> None:
        self._overlay, self._overlay_stale = image, False

    def refresh_overlay(self) -> None:
        if self.document is not None:
            self._overlay_stale = True
            self.update()

    def _on_document_properties_changed(self, target_id: str) -> None:
        self._on_document_structure_changed()

    # ---------------------------------------------------------------- rendering
    def _active_mask(self) -> np.ndarray | None:
        doc, ctl = self.document, self.controller
        if doc is None or not self.show_mask or ctl is None:
            return None
        for mask in doc.masks:
            if mask.id == ctl.active_mask_id and mask.visible:
                return mask.pixels
        return None

    def render_overlay(self, box: BBox) -> np.ndarray:
        """RGBA overlay for ``box``: the hint layer and the active mask (:func:`overlay_rgba`)."""
        doc = self.document
        assert doc is not None
        hint = doc.hint if self.show_hints and doc.hint.visible else None
        pixels, opacity = (hint.pixels if hint else None), doc.hint.opacity
        return overlay_rgba(box, pixels, opacity, self._active_mask(), self._outline)

    _outline = 0  #: the mask's outline band, document pixels (0: the mask is a tint)

    @property
    def mask_outline(self) -> bool:
        """The mask drawn as a line around it (over a repair's preview: the fill shows)."""
        return self._outline > 0

    def set_mask_outline(self, on: bool) -> None:
        width = max(OUTLINE_WIDTH, math.ceil(2 / max(self.scale, 1e-6))) if on else 0
        if width != self._outline:  # about 2 screen pixels wide at any zoom
            self._outline = width
            self.refresh_overlay()

    def refresh(self, bbox: BBox | None = None, layers: bool = True) -> None:
        """Re-render ``bbox`` (or everything) and schedule a repaint of just that area.

        ``layers=False`` skips recompositing the raster layers (hint and mask strokes change only
        the overlay), which keeps brushing on a 24 MP image cheap.
        """
        doc = self.document
        if doc is None:
            self.image = QImage()
            self.overlay = QImage()
            self.update()
            return
        if (
            bbox is None
            or self.image.isNull()
            or self.image.width() != doc.width
            or self.image.height() != doc.height
        ):
            self.image = display_qimage(composite(doc.layers, doc.height, doc.width))
            self._composited = self._layer_signature()
            self.refresh_overlay()
            return
        grow = self._outline  # a stroke moves the outline beyond its own box
        box = clip(
            (bbox[0] - grow, bbox[1] - grow, bbox[2] + grow, bbox[3] + grow), doc.height, doc.width
        )
        if box is None:
            return
        patches = [(self.overlay, self.render_overlay(box))]
        if layers:
            patches.append((self.image, composite(doc.layers, doc.height, doc.width, box)))
        for target, patch in patches:
            painter = QPainter(target)
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
            painter.drawImage(box[1], box[0], rgba_to_qimage(patch))
            painter.end()
        self.update(self.image_rect_to_widget(box).toAlignedRect().adjusted(-2, -2, 2, 2))

    # ---------------------------------------------------------------- view transform
    @property
    def scale(self) -> float:
        """Logical widget pixels per image pixel (zoom 1.0 = one *device* pixel)."""
        return self.zoom / max(self.devicePixelRatioF(), 1e-6)

    def image_rect_to_widget(self, bbox: BBox) -> QRectF:
        y0, x0, y1, x1 = bbox
        s = self.scale
        return QRectF(
            self.offset.x() + x0 * s, self.offset.y() + y0 * s, (x1 - x0) * s, (y1 - y0) * s
        )

    def widget_to_image(self, point: QPointF) -> QPointF:
        return (point - self.offset) / self.scale

    def image_to_widget(self, x: float, y: float) -> QPointF:
        return self.offset + QPointF(x, y) * self.scale

    def fit(self) -> None:
        if self.image.isNull():
            return
        dpr = max(self.devicePixelRatioF(), 1e-6)
        zoom = (
            min(self.width() / self.image.width(), self.height() / self.image.height()) * 0.95 * dpr
        )
        self.zoom = min(max(zoom, MIN_ZOOM), MAX_ZOOM)
        s = self.scale
        self.offset = QPointF(
            (self.width() - self.image.width() * s) / 2,
            (self.height() - self.image.height() * s) / 2,
        )
        self.update()
        self.view_changed.emit()

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom (1.0 = 100 %) keeping the image point under ``anchor`` fixed."""
        anchor = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        image_point = self.widget_to_image(anchor)
        self.zoom = min(max(zoom, MIN_ZOOM), MAX_ZOOM)
        self.offset = anchor - image_point * self.scale
        self.update()
        self.view_changed.emit()

    def pan_by(self, dx: float, dy: float) -> None:
        self.offset += QPointF(dx, dy)
        self.update()
        self.view_changed.emit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.view_changed.emit()

    def _brush_radius(self) -> float:
        if self.controller is None:
            return 0.0
        return self.controller.state.brush.size / 2 * self.scale

    def refresh_cursor(self) -> None:
        """The brush settings changed: repaint the cursor outline at its largest (old or new
        size), not the canvas."""
        radius = max(self._brush_radius(), self._shown_radius)
        self._update_cursor_outline(None, self._cursor_pos, radius)

    def _update_cursor_outline(
        self, old: QPointF | None, new: QPointF | None, radius: float | None = None
    ) -> None:
        r = (self._brush_radius() if radius is None else radius) + 3
        for p in (old, new):
            if p is not None:
                self.update(QRectF(p.x() - r, p.y() - r, 2 * r, 2 * r).toAlignedRect())

    # ---------------------------------------------------------------- painting
    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(event.rect(), QColor(58, 58, 62))
        if not self.image.isNull():
            target = self._photo_rect()
            painter.save()
            painter.setClipRect(target.intersected(QRectF(event.rect())))
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.zoom < 2.0)
            after = self.preview_image if not self.preview_image.isNull() else None
            hidden = (  # an opaque preview over all of it: the document is not seen
                after is not None and self._preview_opaque and not self.showing_before
                and self.split is None
            )  # fmt: skip
            if not hidden:
                painter.drawTiledPixmap(target, self._checker)
                painter.drawImage(target, self.image)  # "before": the document as it is
            if after is not None and not self.showing_before:
                if self.split is not None:
                    cut = target.left() + target.width() * self.split
                    painter.setClipRect(
                        QRectF(
                            cut, target.top(), target.right() - cut, target.height()
                        ).intersected(QRectF(event.rect()))
                    )
                painter.drawImage(target, after)
                painter.setClipRect(target.intersected(QRectF(event.rect())))
            if not self.showing_before:
                if not self.provenance_image.isNull():
                    painter.drawImage(target, self.provenance_image)
                painter.drawImage(target, self.overlay)
            if self.split is not None:
                cut = target.left() + target.width() * self.split
                painter.setPen(QPen(QColor(255, 255, 255), 2))
                painter.drawLine(QPointF(cut, target.top()), QPointF(cut, target.bottom()))
            painter.restore()
            if self.preview_label and not self.preview_image.isNull() and not self.showing_before:
                badge.paint_frame(painter, target)
                box = self._badge_rect(self.preview_label)
                if not (self._badge_over_photo(box) and self._pointer_in(box)):
                    badge.paint_badge(painter, box, self.preview_label)
        self._paint_tool_feedback(painter)
        painter.end()

    def _photo_rect(self) -> QRectF:
        """The document's rectangle in widget pixels."""
        s = self.scale
        return QRectF(self.offset, QSizeF(self.image.width() * s, self.image.height() * s))

    def _badge_rect(self, text: str) -> QRectF:
        size = badge.badge_size(self.fontMetrics(), text)
        return badge.badge_rect(size, self._photo_rect(), QSizeF(self.size()))

    def _badge_over_photo(self, box: QRectF) -> bool:
        return box.intersects(self._photo_rect())

    def _pointer_in(self, box: QRectF) -> bool:
        return self._cursor_pos is not None and box.contains(self._cursor_pos)

    def _paint_tool_feedback(self, painter: QPainter) -> None:
        if self.controller is None:
            return
        path = self.controller.selection_path
        if path:
            painter.setPen(QPen(QColor(255, 255, 255), 1, Qt.PenStyle.DashLine))
            points = [self.image_to_widget(x, y) for x, y in path]
            if self.controller.state.tool is Tool.RECT_SELECT and len(points) >= 2:
                painter.drawRect(QRectF(points[0], points[-1]).normalized())
            else:
                painter.drawPolyline(QPolygonF(points))
        tool = self.controller.state.tool
        if self._cursor_pos is not None and tool not in (
            Tool.PICKER,
            Tool.FILL,
            Tool.RECT_SELECT,
            Tool.LASSO,
        ):
            r = self._shown_radius = self._brush_radius()
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(QPen(QColor(0, 0, 0, 160), 1.5))
            painter.drawEllipse(self._cursor_pos, r + 1, r + 1)
            painter.setPen(QPen(QColor(255, 255, 255, 200), 1))
            painter.drawEllipse(self._cursor_pos, r, r)
