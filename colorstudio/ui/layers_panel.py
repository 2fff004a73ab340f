"""Layers: raster layers (top first) with visibility, opacity, blend mode; masks and the hint
layer below, shown distinctly and toggleable as overlays. Every change is an undoable edit."""

from __future__ import annotations

import qtawesome as qta
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
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
from colorstudio.core.edits import InsertNode, MoveNode, RemoveNode, SetProperties
from colorstudio.core.history import History
from colorstudio.core.layer import BlendMode

ID_ROLE = Qt.ItemDataRole.UserRole


class LayersPanel(QWidget):
    active_layer_changed = Signal(str)
    active_mask_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc: Document | None = None
        self.history: History | None = None
        self.layers = QListWidget()
        self.layers.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.layers.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked)
        self.masks = QListWidget()
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.blend = QComboBox()
        self.blend.addItems([m.value for m in BlendMode])
        buttons = QHBoxLayout()
        self.buttons = {}
        for name, icon, tip in (
            ("add", "fa5s.plus", "New layer"),
            ("duplicate", "fa5s.clone", "Duplicate layer"),
            ("delete", "fa5s.trash", "Delete layer"),
            ("up", "fa5s.arrow-up", "Move up"),
            ("down", "fa5s.arrow-down", "Move down"),
            ("mask", "fa5s.mask", "New mask"),
        ):
            button = QToolButton()
            button.setIcon(qta.icon(icon))
            button.setToolTip(tip)
            buttons.addWidget(button)
            self.buttons[name] = button
        buttons.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(QLabel("Opacity"))
        row.addWidget(self.opacity, 1)
        row.addWidget(self.blend)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(row)
        layout.addWidget(self.layers, 2)
        layout.addLayout(buttons)
        layout.addWidget(QLabel("Hints and masks (overlays)"))
        layout.addWidget(self.masks, 1)
        self.buttons["add"].clicked.connect(self.add_layer)
        self.buttons["duplicate"].clicked.connect(self.duplicate_layer)
        self.buttons["delete"].clicked.connect(self.delete_layer)
        self.buttons["up"].clicked.connect(lambda: self.move_layer(+1))
        self.buttons["down"].clicked.connect(lambda: self.move_layer(-1))
        self.buttons["mask"].clicked.connect(self.add_mask)
        self.layers.itemChanged.connect(self._on_layers_item_changed)
        self.layers.currentItemChanged.connect(self._on_layers_current_changed)
        self.layers.model().rowsMoved.connect(self._on_layers_rows_moved)
        self.masks.itemChanged.connect(self._on_masks_item_changed)
        self.masks.currentItemChanged.connect(self._on_masks_current_changed)
        self.opacity.sliderReleased.connect(self._on_opacity_released)
        self.blend.activated.connect(self._on_blend_activated)
        self._syncing = False
        self.active_layer_id: str | None = None
        self.active_mask_id: str | None = None

    # ------------------------------------------------------------------ binding
    def set_document(self, doc: Document | None, history: History | None) -> None:
        if self.doc is not None:
            self.doc.events.structure_changed.disconnect(self.refresh)
            self.doc.events.properties_changed.disconnect(self._on_document_properties_changed)
        self.doc, self.history = doc, history
        if doc is not None:
            doc.events.structure_changed.connect(self.refresh)
            doc.events.properties_changed.connect(self._on_document_properties_changed)
            layer_ids, mask_ids = [x.id for x in doc.layers], [m.id for m in doc.masks]
            saved = doc.editor_state  # a project remembers what was active when it was saved
            self.active_layer_id = (
                saved.get("active_layer") if saved.get("active_layer") in layer_ids else None
            ) or (layer_ids[-1] if layer_ids else None)
            self.active_mask_id = (
                saved.get("active_mask") if saved.get("active_mask") in mask_ids else None
            ) or (mask_ids[0] if mask_ids else None)
        self.refresh()

    def _on_document_properties_changed(self, _node_id: str) -> None:
        self.refresh()

    def refresh(self) -> None:
        self._syncing = True
        self.layers.clear()
        self.masks.clear()
        doc = self.doc
        if doc is not None:
            for layer in reversed(doc.layers):
                item = QListWidgetItem(layer.name)
                item.setData(ID_ROLE, layer.id)
                flags = item.flags() | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEditable
                item.setFlags(flags | Qt.ItemFlag.ItemIsDragEnabled)
                item.setCheckState(
                    Qt.CheckState.Checked if layer.visible else Qt.CheckState.Unchecked
                )
                item.setIcon(qta.icon("fa5s.image"))
                self.layers.addItem(item)
                if layer.id == self.active_layer_id:
                    self.layers.setCurrentItem(item)
            for node, icon in [(doc.hint, "fa5s.palette"), *((m, "fa5s.mask") for m in doc.masks)]:
                item = QListWidgetItem(node.name)
                item.setData(ID_ROLE, node.id)
                item.setFlags(
                    item.flags() | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEditable
                )
                item.setCheckState(
                    Qt.CheckState.Checked if node.visible else Qt.CheckState.Unchecked
                )
                item.setIcon(qta.icon(icon, color="#c03030" if icon == "fa5s.mask" else "#2060c0"))
                self.masks.addItem(item)
                if node.id == self.active_mask_id:
                    self.masks.setCurrentItem(item)
            layer = self._layer(self.active_layer_id)
            if layer is not None:
                self.opacity.setValue(round(layer.opacity * 100))
                self.blend.setCurrentText(layer.blend_mode.value)
        self._syncing = False

    def _layer(self, layer_id):
        if self.doc is None:
            return None
        return next((layer for layer in self.doc.layers if layer.id == layer_id), None)

    def _do(self, edit) -> None:
        if self.history is not None:
            self.history.do(edit)

    def select_layer(self, layer_id: str) -> None:
        """Make ``layer_id`` the active layer (the tools paint on it)."""
        self.active_layer_id = layer_id
        self.refresh()
        self.active_layer_changed.emit(layer_id)

    # ------------------------------------------------------------------ actions
    def add_layer(self) -> None:
        if self.doc is None:
            return
        layer = self.doc.new_layer(f"Layer {len(self.doc.layers) + 1}")
        index = self._active_index() + 1
        self.active_layer_id = layer.id
        self._do(InsertNode("layers", index, layer, "New layer"))
        self.active_layer_changed.emit(layer.id)

    def duplicate_layer(self) -> None:
        layer = self._layer(self.active_layer_id)
        if layer is None:
            return
        copy = layer.copy()
        copy.name = f"{layer.name} copy"
        self.active_layer_id = copy.id
        self._do(InsertNode("layers", self._active_index(layer.id) + 1, copy, "Duplicate layer"))
        self.active_layer_changed.emit(copy.id)

    def delete_layer(self) -> None:
        if self.doc is None or len(self.doc.layers) <= 1 or self.active_layer_id is None:
            return
        index = self._active_index()
        self._do(RemoveNode.of(self.doc, self.active_layer_id))
        self.active_layer_id = self.doc.layers[max(0, index - 1)].id
        self.refresh()
        self.active_layer_changed.emit(self.active_layer_id)

    def move_layer(self, step: int) -> None:
        if self.doc is None or self.active_layer_id is None:
            return
        index = self._active_index()
        target = index + step
        if 0 <= target < len(self.doc.layers):
            self._do(MoveNode("layers", index, target))

    def add_mask(self) -> None:
        if self.doc is None:
            return
        mask = self.doc.new_mask(f"Mask {len(self.doc.masks) + 1}")
        self.active_mask_id = mask.id
        self._do(InsertNode("masks", len(self.doc.masks), mask, "New mask"))
        self.active_mask_changed.emit(mask.id)

    def _active_index(self, layer_id: str | None = None) -> int:
        layer_id = layer_id or self.active_layer_id
        assert self.doc is not None
        return next(
            (i for i, layer in enumerate(self.doc.layers) if layer.id == layer_id),
            len(self.doc.layers) - 1,
        )

    # ------------------------------------------------------------------ slots
    def _on_layers_item_changed(self, item: QListWidgetItem) -> None:
        if self._syncing or self.doc is None:
            return
        layer = self._layer(item.data(ID_ROLE))
        if layer is None:
            return
        visible = item.checkState() == Qt.CheckState.Checked
        if visible != layer.visible:
            self._do(
                SetProperties.of(
                    self.doc, layer.id, "Show layer" if visible else "Hide layer", visible=visible
                )
            )
        elif item.text() != layer.name and item.text().strip():
            self._do(SetProperties.of(self.doc, layer.id, "Rename layer", name=item.text().strip()))

    def _on_layers_current_changed(self, current: QListWidgetItem | None, _previous) -> None:
        if current is not None and not self._syncing:
            self.active_layer_id = current.data(ID_ROLE)
            self.refresh()
            self.active_layer_changed.emit(self.active_layer_id)

    def _on_layers_rows_moved(self, *_args) -> None:
        """A drag in the list: find the moved layer and record one MoveNode."""
        if self.doc is None:
            return
        shown = [self.layers.item(i).data(ID_ROLE) for i in range(self.layers.count())]
        wanted = list(reversed(shown))
        current = [layer.id for layer in self.doc.layers]
        for old_index, layer_id in enumerate(current):
            new_index = wanted.index(layer_id)
            trial = current.copy()
            trial.insert(new_index, trial.pop(old_index))
            if trial == wanted and new_index != old_index:
                self._do(MoveNode("layers", old_index, new_index))
                return
        self.refresh()

    def _on_masks_item_changed(self, item: QListWidgetItem) -> None:
        if self._syncing or self.doc is None:
            return
        node = self.doc.find(item.data(ID_ROLE))
        visible = item.checkState() == Qt.CheckState.Checked
        if visible != node.visible:
            self._do(
                SetProperties.of(
                    self.doc,
                    node.id,
                    "Show overlay" if visible else "Hide overlay",
                    visible=visible,
                )
            )
        elif item.text() != node.name and item.text().strip():
            self._do(SetProperties.of(self.doc, node.id, "Rename", name=item.text().strip()))

    def _on_masks_current_changed(self, current: QListWidgetItem | None, _previous) -> None:
        if current is None or self._syncing or self.doc is None:
            return
        node_id = current.data(ID_ROLE)
        if any(m.id == node_id for m in self.doc.masks):
            self.active_mask_id = node_id
            self.active_mask_changed.emit(node_id)

    def _on_opacity_released(self) -> None:
        layer = self._layer(self.active_layer_id)
        if (
            layer is not None
            and self.doc is not None
            and round(layer.opacity * 100) != self.opacity.value()
        ):
            self._do(
                SetProperties.of(
                    self.doc, layer.id, "Layer opacity", opacity=self.opacity.value() / 100
                )
            )

    def _on_blend_activated(self, index: int) -> None:
        layer = self._layer(self.active_layer_id)
        mode = list(BlendMode)[index]
        if layer is not None and self.doc is not None and layer.blend_mode is not mode:
            self._do(SetProperties.of(self.doc, layer.id, "Blend mode", blend_mode=mode))
