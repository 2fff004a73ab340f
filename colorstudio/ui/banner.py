"""A non-modal message strip at the top of the window (errors never block the editor)."""

from __future__ import annotations

from typing import ClassVar

from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

TEXT_MARGIN = 4  #: px: QTextDocument's default document margin
WRAP = int(Qt.TextFlag.TextWordWrap)


class Banner(QWidget):
    STYLES: ClassVar[dict[str, str]] = {
        "error": "background:#5c1f1f;color:#ffdede;",
        "info": "background:#1f3d5c;color:#e0efff;",
    }

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 4, 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = close = QPushButton("×")
        close.setFlat(True)
        close.setFixedWidth(28)
        close.clicked.connect(self.hide)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self.setAutoFillBackground(True)
        self.hide()

    def show_message(self, text: str, kind: str = "error") -> None:
        self.label.setText(text)
        self.setStyleSheet(f"#banner {{{self.STYLES[kind]}}} QLabel {{{self.STYLES[kind]}}}")
        self.show()
        self._fit_height()

    def _fit_height(self) -> None:
        """Tall enough for every wrapped line. Selectable text is laid out by a text document
        with a margin on every side that the label's height-for-width leaves out, so the last
        of two lines was drawn half outside the banner (seen under X11): add the margins. The
        label's width follows from the banner's (the label is not laid out yet here)."""
        layout = self.layout()
        margins = layout.contentsMargins()
        label_width = (
            self.width()
            - margins.left()
            - margins.right()
            - self.close_button.width()
            - layout.spacing()
        )
        if label_width > 0:
            # from the font, not heightForWidth(): that includes the minimum height set here
            box = QRect(0, 0, max(1, label_width - 2 * TEXT_MARGIN), 1 << 20)
            lines = self.label.fontMetrics().boundingRect(box, WRAP, self.label.text())
            self.label.setMinimumHeight(lines.height() + 2 * TEXT_MARGIN)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_height()
