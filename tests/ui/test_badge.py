"""The preview badge never hides the picture it labels: it sits in the view's margin where
there is room, and over the photo only when the photo fills the view, stepping aside for the
pointer there."""

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, QSizeF
from PySide6.QtGui import QColor

from colorstudio.core.document import Document
from colorstudio.ui import badge
from colorstudio.ui.canvas import CanvasView

SIZE = QSizeF(120, 26)


def test_the_badge_takes_the_first_margin_that_holds_it():
    view = QSizeF(800, 600)
    above = badge.badge_rect(SIZE, QRectF(40, 100, 720, 400), view)
    assert above.bottom() <= 100 and above.left() >= 40
    # a wide photo touching the top: below it
    below = badge.badge_rect(SIZE, QRectF(0, 0, 800, 500), view)
    assert below.top() >= 500
    # a tall photo filling the height: beside it, left first
    left = badge.badge_rect(SIZE, QRectF(300, 0, 200, 600), view)
    assert left.right() <= 300 and not left.intersects(QRectF(300, 0, 200, 600))
    # the photo fills the view: over its corner, inside the view
    over = badge.badge_rect(SIZE, QRectF(-50, -50, 900, 700), view)
    assert over.topLeft() == QPointF(badge.MARGIN, badge.MARGIN)


def canvas_with_preview(qtbot, width: int, height: int) -> CanvasView:
    """A canvas of 400 x 300 px showing a ``width`` x ``height`` grey photo with a green
    preview over it, fitted to the view."""
    canvas = CanvasView()
    qtbot.addWidget(canvas)
    canvas.resize(400, 300)
    canvas.show()
    rgba = np.full((height, width, 4), 128, np.uint8)
    rgba[..., 3] = 255
    canvas.set_document(Document.from_rgba(rgba))
    green = np.zeros((height, width, 3), np.uint8)
    green[..., 1] = 200
    canvas.set_preview(green, "Preview — not applied")
    return canvas


def pixel(canvas: CanvasView, point: QPointF) -> QColor:
    image = canvas.grab().toImage()
    ratio = image.devicePixelRatio()
    return image.pixelColor(QPoint(int(point.x() * ratio), int(point.y() * ratio)))


def is_preview_green(color: QColor) -> bool:
    return color.green() > 150 and color.red() < 60 and color.blue() < 60


def test_with_room_beside_the_photo_the_badge_leaves_its_corner_visible(qtbot):
    canvas = canvas_with_preview(qtbot, 400, 200)  # wide: room above and below
    photo = canvas._photo_rect()
    box = canvas._badge_rect(canvas.preview_label)
    assert not box.intersects(photo)
    assert is_preview_green(pixel(canvas, photo.topLeft() + QPointF(4, 4)))
    shown = pixel(canvas, box.center() + QPointF(0, box.height() / 2 - 3))
    assert shown.blue() > 150 and not is_preview_green(shown)  # the badge is drawn


def test_a_badge_over_the_photo_steps_aside_for_the_pointer(qtbot):
    canvas = canvas_with_preview(qtbot, 400, 300)  # fills the view: no margin holds it
    box = canvas._badge_rect(canvas.preview_label)
    assert canvas._badge_over_photo(box)
    inside = box.center() + QPointF(box.width() / 2 - 4, 0)
    assert not is_preview_green(pixel(canvas, inside))  # the badge covers the corner
    qtbot.mouseMove(canvas, inside.toPoint())
    qtbot.waitUntil(lambda: is_preview_green(pixel(canvas, inside)))
    assert canvas.preview_label  # still a preview, still labelled once the pointer leaves
    qtbot.mouseMove(canvas, QPoint(300, 250))
    qtbot.waitUntil(lambda: not is_preview_green(pixel(canvas, inside)))


def test_the_badge_and_frame_go_with_the_preview(qtbot):
    canvas = canvas_with_preview(qtbot, 400, 200)
    photo = canvas._photo_rect()
    frame = photo.topLeft() + QPointF(-1, photo.height() / 2)
    assert pixel(canvas, frame).blue() > 150
    canvas.set_preview(None)
    assert pixel(canvas, frame).blue() < 100 and not canvas.preview_label
