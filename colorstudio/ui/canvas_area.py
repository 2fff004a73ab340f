"""The canvas with scroll bars that follow and drive its view."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QScrollBar, QWidget

from colorstudio.ui.canvas import CanvasView


class CanvasArea(QWidget):
    """The canvas with scroll bars that follow and drive the view."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = CanvasView()
        self.hbar = QScrollBar(Qt.Orientation.Horizontal)
        self.vbar = QScrollBar(Qt.Orientation.Vertical)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.canvas, 0, 0)
        layout.addWidget(self.vbar, 0, 1)
        layout.addWidget(self.hbar, 1, 0)
        self._syncing = False
        self.canvas.view_changed.connect(self._on_canvas_view_changed)
        self.hbar.valueChanged.connect(self._on_hbar_value_changed)
        self.vbar.valueChanged.connect(self._on_vbar_value_changed)

    def _on_canvas_view_changed(self) -> None:
        c = self.canvas
        if c.image.isNull():
            return
        self._syncing = True
        s = c.scale
        for bar, extent, view, offset in (
            (self.hbar, c.image.width() * s, c.width(), c.offset.x()),
            (self.vbar, c.image.height() * s, c.height(), c.offset.y()),
        ):
            margin = view / 2
            bar.setRange(int(-margin), int(max(extent - view + margin, -margin)))
            bar.setPageStep(int(view))
            bar.setValue(int(-offset))
        self._syncing = False

    def _on_hbar_value_changed(self, value: int) -> None:
        if not self._syncing:
            self.canvas.offset.setX(-value)
            self.canvas.update()

    def _on_vbar_value_changed(self, value: int) -> None:
        if not self._syncing:
            self.canvas.offset.setY(-value)
            self.canvas.update()
