"""Generate panel: mode, engine, strength, mask, working size, live preview, Apply, Cancel."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from colorstudio.ml.requests import STYLE_DETAIL, STYLE_WORKING_SIZE, STYLE_WORKING_SIZES
from colorstudio.session.generate import GenerateSettings, Mode

#: the hint reaches as people read them (ColorizeRequest.hint_reach)
HINT_REACH_NAMES = {"The painted object": "object", "Everything alike": "photo"}

ENGINES = {
    "Auto (trained GAN, else classical)": "auto",
    "GAN": "gan",
    "Levin (classical)": "levin",
    "Reinhard transfer": "reinhard",
}


def _percent_slider(value: int) -> QSlider:
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(0, 100)
    slider.setValue(value)
    return slider


class GeneratePanel(QWidget):
    settings_changed = Signal()
    preview_requested = Signal()
    apply_requested = Signal()
    cancel_requested = Signal()
    detect_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = GenerateSettings()
        self.mode = QComboBox()
        self.mode.addItems([m.value for m in Mode])
        self.engine = QComboBox()
        self.engine.addItems(list(ENGINES))
        self.engine.setToolTip(
            "Auto: the trained GAN (the classical engines when no model is installed).\n"
            "A recolour without a palette reference uses Levin's propagation\n"
            "of the colours around the region: it measured more accurate there."
        )
        self.reach = QComboBox()
        self.reach.addItems(list(HINT_REACH_NAMES))
        self.reach.setToolTip(
            "How far a hint stroke's colour spreads.\n"
            "The painted object: along the photo up to the object's outlines.\n"
            "Everything alike: to every alike part of the photo (for scattered\n"
            "hints in known true colours)."
        )
        self.strength = _percent_slider(100)
        self.only_in_mask = QCheckBox("Only inside the active mask")
        self.size = QComboBox()
        self.size.addItems(["256", "384", "512"])
        self.style_size = QComboBox()
        self.style_size.addItems([str(size) for size in STYLE_WORKING_SIZES])
        self.style_size.setCurrentText(str(STYLE_WORKING_SIZE))
        self.style_size.setToolTip(
            "The long side the painting's brushwork is drawn at: a smaller size gives bigger\n"
            "strokes and is faster. Preview and Apply use the same size; the photo's finer\n"
            "detail comes back at full resolution."
        )
        self.live = QCheckBox("Live preview")
        self.live.setChecked(True)
        self.as_new_layer = QCheckBox("Apply as a new layer")
        self.as_new_layer.setChecked(True)
        self.alpha = _percent_slider(100)
        self.detail = _percent_slider(round(STYLE_DETAIL * 100))
        self.detail.setToolTip(
            "How much of the photo's own structure to keep over the painting's drawing: 0 % is\n"
            "as painted, 100 % the photo with the painting's style added. Detail finer than the\n"
            "brush scale always comes back at full resolution."
        )
        self.keep_color = QCheckBox("Keep the photo's colours (texture only)")
        self.hue = QDoubleSpinBox()
        self.hue.setRange(-180, 180)
        self.hue.setSuffix("°")
        self.saturation = QDoubleSpinBox()
        self.saturation.setRange(0, 3)
        self.saturation.setSingleStep(0.1)
        self.saturation.setValue(1.0)
        self.lightness = QDoubleSpinBox()
        self.lightness.setRange(-50, 50)
        self.sensitivity = _percent_slider(50)
        self.sensitivity.setToolTip(
            "Higher finds fainter damage (and more false alarms); used by the next Detect damage"
        )
        self.detect_button = QPushButton("Detect damage")
        self.detect_button.setToolTip(
            "Find scratches, dust, cracks, stains, folds and torn corners; the result is a mask "
            "you can refine with the mask brush and eraser"
        )
        form = QFormLayout()
        form.addRow("Mode", self.mode)
        form.addRow("Engine", self.engine)
        form.addRow("Hints reach", self.reach)
        form.addRow("Strength", self.strength)
        form.addRow("Working size", self.size)
        form.addRow(self.only_in_mask)
        self.style_rows = [
            ("Brush scale", self.style_size),
            ("Style strength", self.alpha),
            ("Keep detail", self.detail),
            ("", self.keep_color),
        ]
        self.adjust_rows = [
            ("Hue", self.hue),
            ("Saturation ×", self.saturation),
            ("Lightness", self.lightness),
        ]
        self.restore_rows = [("Sensitivity", self.sensitivity), ("", self.detect_button)]
        for label, widget in self.style_rows + self.adjust_rows + self.restore_rows:
            form.addRow(label, widget)
        self.form = form
        for slider in (self.strength, self.alpha, self.detail, self.sensitivity):
            self._show_value(slider)  # the row's label says the slider's value
        self.preview_button = QPushButton("Preview")
        self.apply_button = QPushButton("Apply")
        self.apply_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        buttons = QHBoxLayout()
        for b in (self.preview_button, self.apply_button, self.cancel_button):
            buttons.addWidget(b)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setTextVisible(False)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.live)
        layout.addWidget(self.as_new_layer)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addStretch(1)
        for combo in (self.mode, self.engine, self.reach, self.size, self.style_size):
            combo.currentIndexChanged.connect(self._on_control_changed)
        for check in (self.only_in_mask, self.live, self.as_new_layer, self.keep_color):
            check.toggled.connect(self._on_control_changed)
        for slider in (self.strength, self.alpha, self.detail, self.sensitivity):
            # a drag counts when released; a click on the groove, the keys or the wheel at once
            slider.sliderReleased.connect(self._on_control_changed)
            slider.valueChanged.connect(
                lambda _value, moved=slider: moved.isSliderDown() or self._on_control_changed()
            )
        for spin in (self.hue, self.saturation, self.lightness):
            spin.editingFinished.connect(self._on_control_changed)
        self.preview_button.clicked.connect(self.preview_requested)
        self.apply_button.clicked.connect(self.apply_requested)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.detect_button.clicked.connect(self.detect_requested)
        self._on_control_changed()

    def _on_control_changed(self, *_args) -> None:
        s = self.settings
        s.mode = list(Mode)[self.mode.currentIndex()]
        s.engine = ENGINES[self.engine.currentText()]
        s.hint_reach = HINT_REACH_NAMES[self.reach.currentText()]
        s.strength = self.strength.value() / 100
        s.only_in_mask = self.only_in_mask.isChecked()
        s.working_size = int(self.size.currentText())
        s.style_working_size = int(self.style_size.currentText())
        s.live_preview = self.live.isChecked()
        s.as_new_layer = self.as_new_layer.isChecked()
        s.alpha = self.alpha.value() / 100
        s.detail = self.detail.value() / 100
        s.keep_color = self.keep_color.isChecked()
        s.sensitivity = min(0.99, max(0.01, self.sensitivity.value() / 100))
        s.hue, s.saturation, s.lightness = (
            self.hue.value(),
            self.saturation.value(),
            self.lightness.value(),
        )
        styling = s.mode in (Mode.STYLIZE, Mode.COLORIZE_STYLIZE)
        for _label, widget in self.style_rows:
            self.form.setRowVisible(widget, styling)
        for _label, widget in self.adjust_rows:
            self.form.setRowVisible(widget, s.mode is Mode.ADJUST)
        for _label, widget in self.restore_rows:
            self.form.setRowVisible(widget, s.mode is Mode.RESTORE)
        self.form.setRowVisible(self.engine, s.mode in (Mode.COLORIZE, Mode.RECOLOR))
        self.form.setRowVisible(self.reach, s.mode in (Mode.COLORIZE, Mode.COLORIZE_STYLIZE))
        self.form.setRowVisible(self.strength, s.mode is not Mode.RESTORE)
        self.form.setRowVisible(self.size, s.mode in (Mode.COLORIZE, Mode.RECOLOR))
        self.form.setRowVisible(self.only_in_mask, s.mode is not Mode.RESTORE)
        self.settings_changed.emit()

    def _show_value(self, slider: QSlider) -> None:
        label = self.form.labelForField(slider)
        name = label.text()
        # as wide as its widest value, so the sliders do not move sideways as the value changes
        label.setMinimumWidth(label.fontMetrics().horizontalAdvance(f"{name} {slider.maximum()} %"))

        def show(value: int) -> None:
            label.setText(f"{name} {value} %")

        slider.valueChanged.connect(show)
        show(slider.value())

    def set_mode(self, mode: Mode) -> None:
        self.mode.setCurrentIndex(list(Mode).index(mode))

    def set_busy(self, busy: bool) -> None:
        """The worker started or ran out of jobs: when idle, the bar empties and the last stage's
        name goes with it (a message the controller put there, an error, stays)."""
        self.cancel_button.setEnabled(busy)
        if not busy:
            self.progress.setValue(0)
            if self.status.text() == self._stage:
                self.status.clear()

    #: the last stage name set_progress showed
    _stage = ""

    def set_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(round(fraction * 100))
        self._stage = message
        self.status.setText(message)
