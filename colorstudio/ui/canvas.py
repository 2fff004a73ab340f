"""The canvas: shows the document composite over a checkerboard, with zoom and pan."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap, QWheelEvent
from PySide6.QtWidgets import QWidget

from colorstudio.core.compositing import composite
from colorstudio.core.document import Document
from colorstudio.core.geometry import BBox
from colorstudio.ui.qimage import rgba_to_qimage

MIN_ZOOM, MAX_ZOOM = 0.01, 32.0


def checkerboard(size: int = 8) -> QPixmap:
    pixmap = QPixmap(2 * size, 2 * size)
    pixmap.fill(QColor(204, 204, 204))
    painter = QPainter(pixmap)
    painter.fillRect(0, 0, size, size, QColor(153, 153, 153))
    painter.fillRect(size, size, size, size, QColor(153, 153, 153))
    painter.end()
    return pixmap


class CanvasView(QWidget):
    """Displays a Document; repaints only the regions whose pixels changed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(200, 150)
        self.setMouseTracking(True)
        self.document: Document | None = None
        self.image = QImage()
        self.zoom = 1.0
        self.offset = QPointF(0, 0)  # widget position of image pixel (0, 0)
        self._checker = checkerboard()
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    # ---------------------------------------------------------------- document binding
    def set_document(self, doc: Document | None) -> None:
        if self.document is not None:
            self.document.events.pixels_changed.disconnect(self._on_document_pixels_changed)
            self.document.events.structure_changed.disconnect(self.refresh)
            self.document.events.properties_changed.disconnect(self._on_document_properties_changed)
        self.document = doc
        if doc is not None:
            doc.events.pixels_changed.connect(self._on_document_pixels_changed)
            doc.events.structure_changed.connect(self.refresh)
            doc.events.properties_changed.connect(self._on_document_properties_changed)
        self.refresh()
        self.fit()

    def refresh(self, bbox: BBox | None = None) -> None:
        """Recomposite ``bbox`` (or everything) into the cached image and schedule a repaint."""
        doc = self.document
        if doc is None:
            self.image = QImage()
            self.update()
            return
        if bbox is None or self.image.isNull():
            self.image = rgba_to_qimage(composite(doc.layers, doc.height, doc.width))
            self.update()
            return
        patch = rgba_to_qimage(composite(doc.layers, doc.height, doc.width, bbox))
        painter = QPainter(self.image)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        painter.drawImage(bbox[1], bbox[0], patch)
        painter.end()
        self.update(self.image_rect_to_widget(bbox).toAlignedRect().adjusted(-2, -2, 2, 2))

    def _on_document_pixels_changed(self, target_id: str, bbox: BBox) -> None:
        if self.document is not None and any(
            layer.id == target_id for layer in self.document.layers
        ):
            self.refresh(bbox)

    def _on_document_properties_changed(self, target_id: str) -> None:
        self.refresh()

    # ---------------------------------------------------------------- view transform
    def image_rect_to_widget(self, bbox: BBox) -> QRectF:
        y0, x0, y1, x1 = bbox
        return QRectF(
            self.offset.x() + x0 * self.zoom,
            self.offset.y() + y0 * self.zoom,
            (x1 - x0) * self.zoom,
            (y1 - y0) * self.zoom,
        )

    def widget_to_image(self, point: QPointF) -> QPointF:
        return (point - self.offset) / self.zoom

    def fit(self) -> None:
        if self.image.isNull():
            return
        zoom = min(self.width() / self.image.width(), self.height() / self.image.height()) * 0.95
        self.set_zoom(zoom)
        self.offset = QPointF(
            (self.width() - self.image.width() * self.zoom) / 2,
            (self.height() - self.image.height() * self.zoom) / 2,
        )
        self.update()

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom (1.0 = 100 %) keeping the image point under ``anchor`` fixed."""
        zoom = min(max(zoom, MIN_ZOOM), MAX_ZOOM)
        anchor = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        image_point = self.widget_to_image(anchor)
        self.zoom = zoom
        self.offset = anchor - image_point * zoom
        self.update()

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        self.set_zoom(self.zoom * (1.25**steps), event.position())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.document is not None and self.zoom == 1.0:
            self.fit()

    # ---------------------------------------------------------------- painting
    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(event.rect(), QColor(58, 58, 62))
        if not self.image.isNull():
            target = QRectF(
                self.offset.x(),
                self.offset.y(),
                self.image.width() * self.zoom,
                self.image.height() * self.zoom,
            )
            painter.save()
            painter.setClipRect(target.intersected(QRectF(event.rect())))
            painter.drawTiledPixmap(target, self._checker)
            smooth = self.zoom < 2.0
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
            painter.drawImage(target, self.image)
            painter.restore()
        painter.end()
