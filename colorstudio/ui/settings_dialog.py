"""Settings: device, CPU threads, autosave interval, history memory — typed, with defaults that
survive a damaged settings store."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QSpinBox, QWidget

#: Pillow refuses anything over about 179 MP before we see it (its own bomb check)
MAX_MEGAPIXELS = 175


@dataclass
class EditorSettings:
    device: str = "auto"
    colorizer: str = ""  # "" = the default (first) colourization model
    cpu_threads: int = 0  # 0 = all cores
    autosave_seconds: int = 120
    history_mb: int = 1024
    max_megapixels: int = 150  # largest image opened; projects may hold twice its memory

    @classmethod
    def load(cls, store: QSettings) -> EditorSettings:
        values = {}
        for f in fields(cls):
            raw = store.value(f"editor/{f.name}", f.default)
            try:
                values[f.name] = type(f.default)(raw)
            except (TypeError, ValueError):
                values[f.name] = f.default  # a damaged value falls back to the default
        settings = cls(**values)
        if settings.device not in ("auto", "cpu", "cuda"):
            settings.device = "auto"
        settings.cpu_threads = max(0, min(settings.cpu_threads, os.cpu_count() or 1))
        settings.autosave_seconds = max(10, settings.autosave_seconds)
        settings.history_mb = max(64, settings.history_mb)
        settings.max_megapixels = max(1, min(settings.max_megapixels, MAX_MEGAPIXELS))
        return settings

    def save(self, store: QSettings) -> None:
        for f in fields(self):
            store.setValue(f"editor/{f.name}", getattr(self, f.name))


def colorizer_names() -> list[str]:
    """Names of the installed colourization models (the manifest is read without torch)."""
    from colorstudio import paths
    from colorstudio.ml.manifest import ModelError, load_manifest

    try:
        return [m.name for m in load_manifest(paths.models_dir()) if m.task == "colorize"]
    except ModelError:
        return []


class SettingsDialog(QDialog):
    def __init__(self, settings: EditorSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda"])
        self.device.setCurrentText(settings.device)
        self.model = QComboBox()
        self.model.addItem("default", "")
        for name in colorizer_names():
            self.model.addItem(name, name)
        self.model.setCurrentIndex(max(0, self.model.findData(settings.colorizer)))
        self.threads = QSpinBox()
        self.threads.setRange(0, os.cpu_count() or 1)
        self.threads.setSpecialValueText("all cores")
        self.threads.setValue(settings.cpu_threads)
        self.autosave = QSpinBox()
        self.autosave.setRange(10, 3600)
        self.autosave.setSuffix(" s")
        self.autosave.setValue(settings.autosave_seconds)
        self.history = QSpinBox()
        self.history.setRange(64, 65536)
        self.history.setSuffix(" MB")
        self.history.setValue(settings.history_mb)
        form = QFormLayout(self)
        form.addRow("Compute device", self.device)
        form.addRow("Colourization model", self.model)
        form.addRow("CPU threads", self.threads)
        form.addRow("Autosave every", self.autosave)
        self.megapixels = QSpinBox()
        self.megapixels.setRange(1, MAX_MEGAPIXELS)
        self.megapixels.setSuffix(" MP")
        self.megapixels.setValue(settings.max_megapixels)
        self.megapixels.setToolTip(
            "Larger files are refused as possible decompression bombs; raise it for genuine ones"
        )
        form.addRow("Undo history memory", self.history)
        form.addRow("Largest image", self.megapixels)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def result_settings(self) -> EditorSettings:
        return EditorSettings(
            device=self.device.currentText(),
            colorizer=self.model.currentData() or "",
            cpu_threads=self.threads.value(),
            autosave_seconds=self.autosave.value(),
            history_mb=self.history.value(),
            max_megapixels=self.megapixels.value(),
        )
