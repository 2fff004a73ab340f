"""The canvas's preview badge: where it goes and how it is drawn.

The badge says the picture is a preview, not yet applied. It must not hide what it labels, so
it sits in the view's margin beside the photo where the margin has room (above, below, left,
right, in that order), and at the view's top-left corner, over the photo, only when the photo
fills the view; there the canvas leaves it out while the pointer is over it, so the corner can
be seen. A frame around the photo in the badge's colour marks the preview wherever the badge is.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPen

COLOR = QColor(20, 90, 200, 220)
MARGIN = 10  #: px between the badge and the view's edge
GAP = 4  #: px between the badge and the photo


def badge_size(metrics: QFontMetrics, text: str) -> QSizeF:
    return QSizeF(metrics.horizontalAdvance(text) + 20, metrics.height() + 10)


def badge_rect(size: QSizeF, photo: QRectF, view: QSizeF) -> QRectF:
    """Where a badge of ``size`` goes for the ``photo`` drawn at that rectangle in a view of
    ``view`` size (widget pixels): the first margin beside the photo that holds it, else
    the view's top-left corner (over the photo)."""
    w, h = size.width(), size.height()
    left = min(max(MARGIN, photo.left()), max(MARGIN, view.width() - w - MARGIN))
    top = min(max(MARGIN, photo.top()), max(MARGIN, view.height() - h - MARGIN))
    candidates = (
        (photo.top() - GAP - h >= 0, QPointF(left, photo.top() - GAP - h)),
        (photo.bottom() + GAP + h <= view.height(), QPointF(left, photo.bottom() + GAP)),
        (photo.left() - GAP - w >= 0, QPointF(photo.left() - GAP - w, top)),
        (photo.right() + GAP + w <= view.width(), QPointF(photo.right() + GAP, top)),
    )
    corner = next((point for fits, point in candidates if fits), QPointF(MARGIN, MARGIN))
    return QRectF(corner, size)


def paint_badge(painter: QPainter, box: QRectF, text: str) -> None:
    painter.save()
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(COLOR)
    painter.drawRoundedRect(box, 6, 6)
    painter.setPen(QColor(255, 255, 255))
    painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
    painter.restore()


def paint_frame(painter: QPainter, photo: QRectF) -> None:
    """A 2 px frame just outside ``photo``: the picture inside is a preview."""
    painter.save()
    painter.setPen(QPen(COLOR, 2))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRect(photo.adjusted(-1, -1, 1, 1))
    painter.restore()
