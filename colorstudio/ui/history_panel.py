"""History: every step (brush strokes, layer changes, generated results); click a row to go back."""

from __future__ import annotations

from PySide6.QtWidgets import QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from colorstudio.core.history import History


class HistoryPanel(QWidget):
    """Mirrors a core History (the single source of truth, memory-bounded). Row 0 is the
    document as opened; row N is after the N-th kept step."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history: History | None = None
        self.list = QListWidget()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.list)
        self.list.itemClicked.connect(self._on_list_item_clicked)

    def set_history(self, history: History | None) -> None:
        if self.history is not None:
            self.history.changed.disconnect(self.refresh)
        self.history = history
        if history is not None:
            history.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        self.list.clear()
        if self.history is None:
            return
        first = (
            "Open"
            if not self.history.dropped
            else f"Open ({self.history.dropped} older steps dropped)"
        )
        labels = [first, *self.history.labels()]
        for row, label in enumerate(labels):
            item = QListWidgetItem(label)
            if row > self.history.index:
                item.setForeground(self.palette().placeholderText())  # undone steps, greyed
            self.list.addItem(item)
        self.list.setCurrentRow(self.history.index)

    def _on_list_item_clicked(self, item: QListWidgetItem) -> None:
        if self.history is not None:
            self.history.go_to(self.list.row(item))
