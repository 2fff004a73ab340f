"""Small dialogs of the main window."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QSpinBox, QWidget

MAX_NEW_SIDE = 16_384


def new_document_size(parent: QWidget | None = None) -> tuple[int, int] | None:
    """Ask for a new canvas's width and height (pixels); None when cancelled."""
    dialog = QDialog(parent)
    dialog.setWindowTitle("New document")
    form = QFormLayout(dialog)
    sides = []
    for label, value in (("Width", 1920), ("Height", 1080)):
        spin = QSpinBox()
        spin.setRange(1, MAX_NEW_SIDE)
        spin.setValue(value)
        spin.setSuffix(" px")
        form.addRow(label, spin)
        sides.append(spin)
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
    )
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    form.addRow(buttons)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return sides[0].value(), sides[1].value()
