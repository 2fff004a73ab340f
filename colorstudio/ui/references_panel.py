"""References: palette photos and style paintings, with role, strength and thumbnails."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import qtawesome as qta
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from colorstudio.core.document import Document
from colorstudio.core.edits import InsertNode, RemoveNode, SetProperties
from colorstudio.core.history import History
from colorstudio.core.io.errors import FileFormatError
from colorstudio.core.io.images import IMPORT_SUFFIXES, load_image
from colorstudio.core.layer import Reference, ReferenceRole
from colorstudio.ui.qimage import rgba_to_qimage

ID_ROLE = Qt.ItemDataRole.UserRole
MAX_REFERENCE_SIDE = 1024  # references only give colours and texture statistics


class ReferencePreview(QLabel):
    """The selected reference, large; a click picks the colour under the cursor (eyedropper)."""

    color_picked = Signal(tuple)
    region_selected = Signal(tuple)  #: (y0, x0, y1, x1) in reference pixels

    def __init__(self) -> None:
        super().__init__()
        self.setMinimumHeight(120)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setToolTip("Click to pick a colour from the reference")
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.image: np.ndarray | None = None
        self.mask: np.ndarray | None = None
        self._press: tuple[float, float] | None = None

    def set_image(self, image: np.ndarray | None, mask: np.ndarray | None = None) -> None:
        self.image, self.mask = image, mask
        if image is None:
            self.clear()
            return
        shown = (
            image
            if mask is None
            else (image * (0.35 + 0.65 * (mask[..., None] / 255.0))).astype(np.uint8)
        )
        rgba = np.dstack([shown, np.full(image.shape[:2], 255, np.uint8)])
        pixmap = QPixmap.fromImage(rgba_to_qimage(rgba))
        self.setPixmap(
            pixmap.scaled(
                self.width(),
                max(120, self.height()),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )

    def to_image(self, x: float, y: float, clamp: bool = False) -> tuple[int, int] | None:
        """Reference pixel (row, column) under widget point (x, y); None outside the image."""
        pixmap = self.pixmap()
        if self.image is None or pixmap is None or pixmap.isNull():
            return None
        left = (self.width() - pixmap.width()) / 2
        top = (self.height() - pixmap.height()) / 2
        u, v = (x - left) / pixmap.width(), (y - top) / pixmap.height()
        if clamp:
            u, v = min(max(u, 0.0), 0.9999), min(max(v, 0.0), 0.9999)
        if not (0 <= u < 1 and 0 <= v < 1):
            return None
        h, w = self.image.shape[:2]
        return int(v * h), int(u * w)

    def pick_at(self, x: float, y: float) -> tuple[int, int, int] | None:
        """Colour at widget point (x, y), or None outside the shown image."""
        point = self.to_image(x, y)
        return None if point is None else tuple(int(c) for c in self.image[point])

    def mousePressEvent(self, event) -> None:
        self._press = (event.position().x(), event.position().y())

    def mouseReleaseEvent(self, event) -> None:
        """A click picks a colour; a drag selects the region of the reference to use."""
        if self._press is None:
            return
        (x0, y0), (x1, y1) = self._press, (event.position().x(), event.position().y())
        self._press = None
        if abs(x1 - x0) + abs(y1 - y0) < 5:
            color = self.pick_at(x1, y1)
            if color is not None:
                self.color_picked.emit(color)
            return
        a, b = self.to_image(x0, y0, clamp=True), self.to_image(x1, y1, clamp=True)
        if a is not None and b is not None:
            box = (min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]) + 1, max(a[1], b[1]) + 1)
            self.region_selected.emit(box)


class ReferencesPanel(QWidget):
    error = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc: Document | None = None
        self.history: History | None = None
        self.setAcceptDrops(True)
        self.list = QListWidget()
        self.list.setIconSize(QSize(72, 72))
        self.role = QComboBox()
        self.role.addItems(["palette", "style"])
        self.strength = QSlider(Qt.Orientation.Horizontal)
        self.strength.setRange(0, 100)
        add = QToolButton()
        add.setIcon(qta.icon("fa5s.plus"))
        add.setToolTip("Add a reference image (or drop one here)")
        remove = QToolButton()
        remove.setIcon(qta.icon("fa5s.trash"))
        remove.setToolTip("Remove the reference")
        row = QHBoxLayout()
        row.addWidget(self.role)
        row.addWidget(self.strength, 1)
        row.addWidget(add)
        row.addWidget(remove)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.list)
        layout.addLayout(row)
        self.preview = ReferencePreview()
        self.preview.setToolTip(
            "Click: pick a colour. Drag: use only that region of the reference."
        )
        self.preview.region_selected.connect(self._on_preview_region_selected)
        clear = QToolButton()
        clear.setIcon(qta.icon("fa5s.expand"))
        clear.setToolTip("Use the whole reference again")
        clear.clicked.connect(lambda: self.set_region(None))
        row.addWidget(clear)
        layout.addWidget(self.preview)
        add.clicked.connect(self.add_dialog)
        remove.clicked.connect(self.remove_current)
        self.role.activated.connect(self._on_role_activated)
        self.strength.sliderReleased.connect(self._on_strength_released)
        self.list.currentItemChanged.connect(lambda *_: self._sync_controls())

    def set_document(self, doc: Document | None, history: History | None) -> None:
        if self.doc is not None:
            self.doc.events.structure_changed.disconnect(self.refresh)
            self.doc.events.properties_changed.disconnect(self._on_properties_changed)
        self.doc, self.history = doc, history
        if doc is not None:
            doc.events.structure_changed.connect(self.refresh)
            doc.events.properties_changed.connect(self._on_properties_changed)
        self.refresh()

    def _on_properties_changed(self, _node_id: str) -> None:
        self.refresh()

    def refresh(self) -> None:
        current = self.current_id()
        self.list.clear()
        for ref in self.doc.references if self.doc else []:
            thumb = ref.image
            step = max(1, max(thumb.shape[:2]) // 96)
            rgba = np.dstack(
                [thumb[::step, ::step], np.full(thumb[::step, ::step].shape[:2], 255, np.uint8)]
            )
            item = QListWidgetItem(
                QIcon(QPixmap.fromImage(rgba_to_qimage(rgba))),
                f"{ref.name}\n{ref.role.value}, {round(ref.strength * 100)} %",
            )
            item.setData(ID_ROLE, ref.id)
            self.list.addItem(item)
            if ref.id == current:
                self.list.setCurrentItem(item)
        self._sync_controls()

    def current_id(self) -> str | None:
        item = self.list.currentItem()
        return None if item is None else item.data(ID_ROLE)

    def _current(self) -> Reference | None:
        ref_id = self.current_id()
        return next((r for r in self.doc.references if r.id == ref_id), None) if self.doc else None

    def _sync_controls(self) -> None:
        ref = self._current()
        self.preview.set_image(
            None if ref is None else ref.image, None if ref is None else ref.mask
        )
        self.role.setEnabled(ref is not None)
        self.strength.setEnabled(ref is not None)
        if ref is not None:
            self.role.setCurrentText(ref.role.value)
            self.strength.setValue(round(ref.strength * 100))

    def add_file(self, path: str | Path, role: ReferenceRole = ReferenceRole.PALETTE) -> bool:
        if self.doc is None or self.history is None:
            return False
        path = Path(path)
        try:
            rgb = load_image(path).rgba[..., :3]
        except FileFormatError as err:
            self.error.emit(f"Could not add {path.name}: {err}")
            return False
        step = max(1, -(-max(rgb.shape[:2]) // MAX_REFERENCE_SIDE))
        ref = Reference(path.stem, np.ascontiguousarray(rgb[::step, ::step]), role)
        self.history.do(InsertNode("references", len(self.doc.references), ref, "Add reference"))
        self.list.setCurrentRow(self.list.count() - 1)
        return True

    def add_dialog(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self, "Add reference", "", "Images (" + " ".join(f"*{s}" for s in IMPORT_SUFFIXES) + ")"
        )
        if name:
            self.add_file(name)

    def remove_current(self) -> None:
        ref = self._current()
        if ref is not None and self.doc is not None and self.history is not None:
            self.history.do(RemoveNode.of(self.doc, ref.id, "Remove reference"))

    def _on_preview_region_selected(self, box: tuple) -> None:
        self.set_region(box)

    def set_region(self, box: tuple | None) -> None:
        """Sample only ``box`` (y0, x0, y1, x1) of the selected reference (None: all of it)."""
        ref = self._current()
        if ref is None or self.history is None:
            return
        mask = None
        if box is not None:
            mask = np.zeros(ref.image.shape[:2], np.uint8)
            mask[box[0] : box[2], box[1] : box[3]] = 255
        label = "Reference region" if box is not None else "Whole reference"
        self.history.do(SetProperties.of(self.doc, ref.id, label, mask=mask))

    def _on_role_activated(self, _index: int) -> None:
        ref = self._current()
        role = ReferenceRole(self.role.currentText())
        if ref is not None and ref.role is not role and self.history is not None:
            self.history.do(SetProperties.of(self.doc, ref.id, "Reference role", role=role))

    def _on_strength_released(self) -> None:
        ref = self._current()
        value = self.strength.value() / 100
        if ref is not None and abs(ref.strength - value) > 1e-6 and self.history is not None:
            self.history.do(
                SetProperties.of(self.doc, ref.id, "Reference strength", strength=value)
            )

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.add_file(url.toLocalFile())
        event.acceptProposedAction()
