"""A non-modal message strip at the top of the window (errors never block the editor)."""

from __future__ import annotations

from typing import ClassVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget


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
        close = QPushButton("×")
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
