"""The canvas's input: mouse, tablet, wheel and keys, routed to the tool controller (strokes,
clicks, colour picks), to zoom and pan, and to the before/after key. A mixin of
:class:`colorstudio.ui.canvas.CanvasView`, whose state it reads and writes."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtGui import QPolygonF

from colorstudio.session.tools import Tool


class CanvasInputMixin:
    """Input handlers of the canvas view (see the module docstring)."""

    def _pressure(self, event) -> float:
        pressure = getattr(event, "pressure", None)
        return (
            float(pressure())
            if callable(pressure)
            and event.type()
            in (event.Type.TabletPress, event.Type.TabletMove, event.Type.TabletRelease)
            else 1.0
        )

    @property
    def drawing(self) -> bool:
        """A stroke or selection is being dragged (its undo step is made when it ends)."""
        return self._drawing

    def end_gesture(self) -> None:
        """End the stroke or selection being dragged where it is now, as its release would:
        its undo step is made. Anything that changes the document from outside the gesture
        (save, undo, another document, a dialog that took the release) calls this first, so a
        file never holds half a stroke and an undo step never straddles another edit. Moves of
        the still-held button then do nothing until the next press."""
        if self._drawing and self._pressed_at is not None:
            self._end(QPointF(), self._gesture_at[1], click=False, at=self._gesture_at[0])

    def _begin(self, pos: QPointF, pressure: float) -> None:
        self.end_gesture()  # a release that never came (a modal dialog took it)
        if self.controller is None or self.document is None:
            return
        p = self.widget_to_image(pos)
        tool = self.controller.state.tool
        box = self.controller.press(p.x(), p.y(), pressure)
        self._drawing = tool not in (Tool.PICKER, Tool.FILL)
        if tool is Tool.PICKER and self.controller.picked is not None:
            self.color_picked.emit(self.controller.picked)
        self._pressed_at = (QPointF(pos), p)
        self._gesture_at = (QPointF(p), pressure)
        if box is not None:
            self.refresh(box, layers=self._tool_changes_layers())
        if tool is Tool.FILL:
            self.stroke_finished.emit()

    def _continue(self, pos: QPointF, pressure: float) -> None:
        if not self._drawing or self.controller is None:
            return
        p = self.widget_to_image(pos)
        self._gesture_at = (QPointF(p), pressure)
        box = self.controller.move(p.x(), p.y(), pressure)
        if box is not None:
            self.refresh(box, layers=self._tool_changes_layers())
        elif self.controller.selection_path:
            self.update()

    def _end(
        self, pos: QPointF, pressure: float, click: bool = True, at: QPointF | None = None
    ) -> None:
        """The release at ``pos`` (widget), or at image point ``at`` where the view may have
        moved since (a stroke ended by :meth:`end_gesture`)."""
        if not self._drawing or self.controller is None:
            return
        self._drawing = False
        p = self.widget_to_image(pos) if at is None else at
        outline = list(self.controller.selection_path or [])  # a selection tool's dashed line
        box = self.controller.release(p.x(), p.y(), pressure)
        if box is not None:
            self.refresh(box, layers=self._tool_changes_layers())
        if outline:  # gone now: repaint where it was (a full repaint held the window 4-6 ms)
            points = QPolygonF([self.image_to_widget(x, y) for x, y in outline])
            self.update(points.boundingRect().toAlignedRect().adjusted(-3, -3, 3, 3))
        self.stroke_finished.emit()
        pressed, point = self._pressed_at or (None, None)
        click = click and pressed is not None and (pos - pressed).manhattanLength() <= self.CLICK_PX
        inside = (
            point is not None
            and self.document is not None
            and (0 <= point.x() < self.document.width and 0 <= point.y() < self.document.height)
        )
        if self.controller.state.tool is Tool.HINT and click and inside:
            # after the preview the stroke asked for (its timer was started first)
            x, y = int(point.x()), int(point.y())
            QTimer.singleShot(0, self, lambda: self.hint_point.emit(x, y))

    def _tool_changes_layers(self) -> bool:
        tool = self.controller.state.tool if self.controller else None
        return tool in (Tool.BRUSH, Tool.ERASER, Tool.FILL)

    def mousePressEvent(self, event) -> None:
        pos = event.position()
        if event.button() == Qt.MouseButton.MiddleButton or (
            event.button() == Qt.MouseButton.LeftButton and self._space_down
        ):
            self._panning = pos
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        elif event.button() == Qt.MouseButton.LeftButton:
            self._begin(pos, 1.0)

    def mouseMoveEvent(self, event) -> None:
        pos = event.position()
        old = self._cursor_pos
        self._cursor_pos = pos
        if self._panning is not None:
            delta = pos - self._panning
            self._panning = pos
            self.pan_by(delta.x(), delta.y())
            return
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._continue(pos, 1.0)
        image = self.widget_to_image(pos)
        self.cursor_moved.emit(image.x(), image.y())
        self._update_cursor_outline(old, pos)
        if self.preview_label:  # a badge over the photo steps aside for the pointer
            box = self._badge_rect(self.preview_label)
            inside = self._pointer_in(box)
            if self._badge_over_photo(box) and inside != (old is not None and box.contains(old)):
                self.update(box.toAlignedRect().adjusted(-1, -1, 1, 1))

    def mouseReleaseEvent(self, event) -> None:
        if self._panning is not None and event.button() in (
            Qt.MouseButton.MiddleButton,
            Qt.MouseButton.LeftButton,
        ):
            self._panning = None
            self.setCursor(
                Qt.CursorShape.OpenHandCursor if self._space_down else Qt.CursorShape.CrossCursor
            )
        elif event.button() == Qt.MouseButton.LeftButton:
            self._end(event.position(), 1.0)

    def tabletEvent(self, event) -> None:
        pos, pressure = event.position(), self._pressure(event)
        kind = event.type()
        if kind == event.Type.TabletPress:
            self._begin(pos, pressure)
        elif kind == event.Type.TabletMove:
            self._continue(pos, pressure)
        elif kind == event.Type.TabletRelease:
            self._end(pos, pressure)
        event.accept()

    def wheelEvent(self, event) -> None:
        delta = event.angleDelta()
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier or delta.x():
            self.pan_by(delta.x() / 2 or delta.y() / 2, 0 if not delta.x() else delta.y() / 2)
            return
        self.set_zoom(self.zoom * (1.25 ** (delta.y() / 120.0)), event.position())

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = True
            self.setCursor(Qt.CursorShape.OpenHandCursor)
        elif event.key() == Qt.Key.Key_Backslash and not event.isAutoRepeat():
            self.showing_before = True
            self.update()
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = False
            self.setCursor(Qt.CursorShape.CrossCursor)
        elif event.key() == Qt.Key.Key_Backslash and not event.isAutoRepeat():
            self.showing_before = self.original_pinned
            self.update()
        else:
            super().keyReleaseEvent(event)

    def leaveEvent(self, event) -> None:
        old, self._cursor_pos = self._cursor_pos, None
        self._update_cursor_outline(old, None)
        if self.preview_label:  # the badge the pointer hid comes back
            self.update(self._badge_rect(self.preview_label).toAlignedRect().adjusted(-1, -1, 1, 1))
