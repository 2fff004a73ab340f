"""Tool options: size, hardness, opacity, flow, colour with recent colours."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from colorstudio.session.tools import BRUSH_TOOLS, COLOR_TOOLS, TOOL_LABELS, Tool, ToolState

#: what to do with a tool that has no settings of its own
TOOL_USAGE = {
    Tool.RECT_SELECT: "Drag a rectangle: it becomes the active mask (drag again to add to it). "
    "Edit ▸ Clear Mask empties it.",
    Tool.LASSO: "Draw around a region: it becomes the active mask. Edit ▸ Clear Mask empties it.",
    Tool.PICKER: "Click the photo to take its colour.",
    Tool.FILL: "Click to fill the connected area of similar colour on the active layer.",
}


#: recent colours shown beside the colour button (two rows of six)
RECENT_SHOWN = 12


def _slider(maximum: int) -> QSlider:
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(0, maximum)
    return slider


class ColorSwatch(QPushButton):
    """A button that is a square of colour. It paints itself: a style sheet per swatch made
    each colour change re-polish the widget, and the recent-colour row took ~10 ms of the GUI
    thread per picked colour (20+ ms beside busy programs)."""

    def __init__(self, color: tuple[int, int, int], size: int = 22, role: str = "colour") -> None:
        super().__init__()
        self.role = role  #: what the swatch is, for screen readers ("Brush colour #1e90ff")
        self.setFixedSize(size, size)
        self.setAttribute(Qt.WidgetAttribute.WA_Hover)  # repaint the edge on enter and leave
        # reached with Tab, not focused by a click: a recent swatch that was clicked holds
        # another colour a moment later (the picked one moves to the front), and a focus
        # edge left on it would mark the wrong colour
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.set_color(color)

    def set_color(self, color: tuple[int, int, int]) -> None:
        self.color = tuple(int(c) for c in color)[:3]  # type: ignore[assignment]
        name = "#{:02x}{:02x}{:02x}".format(*self.color)
        self.setToolTip(name)
        self.setAccessibleName(f"{self.role} {name}")
        self.update()

    def paintEvent(self, event) -> None:
        """A thin dark edge; hovered or focused, a 2 px edge that contrasts with the colour;
        pressed, the colour drawn inset."""
        painter = QPainter(self)
        fill = QColor(*self.color)
        marked = self.underMouse() or self.hasFocus()
        if marked:
            edge = QColor("black") if fill.lightnessF() > 0.5 else QColor("white")
        else:
            edge = QColor("#222")
        painter.fillRect(self.rect(), edge)
        inset = 3 if self.isDown() else 2 if marked else 1
        painter.fillRect(self.rect().adjusted(inset, inset, -inset, -inset), fill)


class ToolOptionsPanel(QWidget):
    """Edits a ToolState; emits ``state_changed`` after any change."""

    state_changed = Signal()
    suggestion_chosen = Signal(tuple)

    def __init__(self, state: ToolState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: bold")
        self.size = QSpinBox()
        self.size.setRange(1, 2000)
        self.size.setSuffix(" px")
        self.hardness, self.opacity, self.flow = _slider(100), _slider(100), _slider(100)
        self.color_button = ColorSwatch(state.color, 36, "Brush colour")
        self.color_button.clicked.connect(self._on_color_button_clicked)
        self.recent = QGridLayout()
        self.recent.setSpacing(2)
        #: the recent colours, newest first (made once; a colour change repaints them)
        self.recent_swatches = [ColorSwatch((0, 0, 0), 16) for _ in range(RECENT_SHOWN)]
        for i, swatch in enumerate(self.recent_swatches):
            swatch.clicked.connect(lambda _c=False, w=swatch: self._on_recent_clicked(w))
            self.recent.addWidget(swatch, i // 6, i % 6)
        form = self.form = QFormLayout()
        form.addRow("Size", self.size)
        form.addRow("Hardness", self.hardness)
        form.addRow("Opacity", self.opacity)
        form.addRow("Flow", self.flow)
        color_row = QHBoxLayout()
        color_row.addWidget(self.color_button)
        color_row.addLayout(self.recent)
        color_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(form)
        self.raise_strength = QCheckBox("Strength brush raises strength (off: lowers)")
        self.raise_strength.toggled.connect(self._on_raise_strength_toggled)
        layout.addWidget(self.raise_strength)
        self.color_label = QLabel("Colour (recent on the right)")
        layout.addWidget(self.color_label)
        self.color_row = QWidget()
        self.color_row.setLayout(color_row)
        layout.addWidget(self.color_row)
        self.usage = QLabel()  # how to use a tool that has no settings
        self.usage.setWordWrap(True)
        layout.addWidget(self.usage)
        self.suggest_label = QLabel("Suggested colours here: click with the hint brush")
        self.suggest_label.setWordWrap(True)
        self.suggestions = QHBoxLayout()
        self.suggestions.setSpacing(3)
        layout.addWidget(self.suggest_label)
        self.suggestions_row = QWidget()
        self.suggestions_row.setLayout(self.suggestions)
        layout.addWidget(self.suggestions_row)
        layout.addStretch(1)
        for widget in (self.hardness, self.opacity, self.flow):
            widget.valueChanged.connect(self._on_widget_changed)
        self.size.valueChanged.connect(self._on_widget_changed)
        self.sync_from_state()

    def sync_from_state(self) -> None:
        s = self.state
        for widget in (self.size, self.hardness, self.opacity, self.flow):
            widget.blockSignals(True)
        self.title.setText(TOOL_LABELS[s.tool])
        self.raise_strength.setVisible(s.tool is Tool.STRENGTH)
        for row in range(self.form.rowCount()):  # only what the tool uses is shown
            self.form.setRowVisible(row, s.tool in BRUSH_TOOLS)
        self.color_label.setVisible(s.tool in COLOR_TOOLS)
        self.color_row.setVisible(s.tool in COLOR_TOOLS)
        self.suggest_label.setVisible(s.tool is Tool.HINT)
        self.suggestions_row.setVisible(s.tool is Tool.HINT)
        self.usage.setText(TOOL_USAGE.get(s.tool, ""))
        self.usage.setVisible(s.tool in TOOL_USAGE)
        self.raise_strength.setChecked(not s.strength_lower)
        self.size.setValue(round(s.brush.size))
        self.hardness.setValue(round(s.brush.hardness * 100))
        self.opacity.setValue(round(s.brush.opacity * 100))
        self.flow.setValue(round(s.brush.flow * 100))
        for widget in (self.size, self.hardness, self.opacity, self.flow):
            widget.blockSignals(False)
        self.color_button.set_color(s.color)
        for swatch, color in zip(self.recent_swatches, s.recent_colors, strict=False):
            swatch.set_color(color)
        for i, swatch in enumerate(self.recent_swatches):
            swatch.setVisible(i < len(s.recent_colors))

    def _on_recent_clicked(self, swatch: ColorSwatch) -> None:
        """Use a recent colour. It moves to the front of the row; a keyboard user's focus
        moves with it, instead of staying on a slot that now holds another colour."""
        had_focus = swatch.hasFocus()
        self.set_color(swatch.color)
        if had_focus:
            self.recent_swatches[0].setFocus(Qt.FocusReason.TabFocusReason)

    def set_suggestions(self, colors: list[tuple[int, int, int]], message: str = "") -> None:
        """Show the model's likely colours at the last hint point; a click uses one."""
        while self.suggestions.count():
            item = self.suggestions.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        for color in colors:
            swatch = ColorSwatch(color, 26)
            swatch.clicked.connect(lambda _c=False, c=color: self.suggestion_chosen.emit(c))
            self.suggestions.addWidget(swatch)
        self.suggestions.addStretch(1)
        self.suggest_label.setText(
            message
            or (
                "Suggested colours here (click to use)"
                if colors
                else "Suggested colours here: click with the hint brush"
            )
        )

    def _on_raise_strength_toggled(self, checked: bool) -> None:
        self.state.strength_lower = not checked
        self.state_changed.emit()

    def _on_widget_changed(self) -> None:
        self.state.brush = replace(
            self.state.brush,
            size=float(self.size.value()),
            hardness=self.hardness.value() / 100,
            opacity=max(0.01, self.opacity.value() / 100),
            flow=max(0.01, self.flow.value() / 100),
        )
        self.state_changed.emit()

    def set_color(self, color: tuple[int, int, int]) -> None:
        self.state.set_color(color)
        self.sync_from_state()
        self.state_changed.emit()

    def _on_color_button_clicked(self) -> None:
        chosen = QColorDialog.getColor(QColor(*self.state.color), self, "Hint / brush colour")
        if chosen.isValid():
            self.set_color((chosen.red(), chosen.green(), chosen.blue()))
