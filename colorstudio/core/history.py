"""A linear undo history with bounded memory."""

from __future__ import annotations

import logging

from colorstudio.core.document import Document
from colorstudio.core.edits import Edit
from colorstudio.core.events import Event

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 1 << 30  # 1 GiB


class History:
    """Undo/redo over :class:`Edit` objects.

    ``push`` records an edit that has *already been applied* to the document (a brush stroke
    paints live and is recorded when the drag ends). When the edits' memory exceeds ``max_bytes``
    the oldest steps are dropped (the newest step is always kept, however large).

    The UI mirrors this in a QUndoStack; the core history is what tests and the CLI use.
    """

    def __init__(self, doc: Document, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.doc = doc
        self.max_bytes = int(max_bytes)
        self._edits: list[Edit] = []
        self._index = 0  # number of applied edits in _edits
        self._clean_index: int | None = 0
        self.dropped = 0  # how many old steps were dropped for memory
        self.changed = Event("history_changed")
        #: what the last change was: "do" (a new edit), "undo" or "redo" (read in changed)
        self.last_step = "do"

    # ------------------------------------------------------------------ queries
    @property
    def can_undo(self) -> bool:
        return self._index > 0

    @property
    def can_redo(self) -> bool:
        return self._index < len(self._edits)

    @property
    def nbytes(self) -> int:
        return sum(edit.nbytes for edit in self._edits)

    def __len__(self) -> int:
        return len(self._edits)

    @property
    def index(self) -> int:
        return self._index

    def labels(self) -> list[str]:
        return [edit.label for edit in self._edits]

    def undone(self, edit: Edit) -> bool:
        """Whether ``edit`` is recorded and undone (it would come back with Redo)."""
        return any(e is edit for e in self._edits[self._index :])

    # ------------------------------------------------------------------ changes
    def push(self, edit: Edit | None) -> None:
        """Record an already-applied edit; discards the redo tail.

        ``None`` (a stroke that changed nothing) is ignored, so ``push(stroke.finish(...))`` works.
        """
        if edit is None:
            return
        if self._clean_index is not None and self._clean_index > self._index:
            self._clean_index = None  # the saved state can no longer be reached
        del self._edits[self._index :]
        self._edits.append(edit)
        self._index = len(self._edits)
        self._enforce_budget()
        self._sync_dirty()
        self.last_step = "do"
        self.changed.emit()

    def do(self, edit: Edit) -> None:
        """Apply ``edit`` and record it."""
        edit.apply(self.doc)
        self.push(edit)

    def undo(self) -> Edit | None:
        if not self.can_undo:
            return None
        self._index -= 1
        edit = self._edits[self._index]
        edit.revert(self.doc)
        self._sync_dirty()
        self.last_step = "undo"
        self.changed.emit()
        return edit

    def redo(self) -> Edit | None:
        if not self.can_redo:
            return None
        edit = self._edits[self._index]
        edit.apply(self.doc)
        self._index += 1
        self._sync_dirty()
        self.last_step = "redo"
        self.changed.emit()
        return edit

    def go_to(self, index: int) -> None:
        """Undo or redo until ``index`` edits are applied (History panel click)."""
        index = max(0, min(index, len(self._edits)))
        while self._index > index:
            self.undo()
        while self._index < index:
            self.redo()

    def set_clean(self) -> None:
        """The document was saved in the current state."""
        self._clean_index = self._index
        self._sync_dirty()

    def mark_unsaved(self) -> None:
        """No state of this history is in a file (recovered work): unsaved until saved, whatever
        is done and undone."""
        self._clean_index = None
        self._sync_dirty()

    def state(self) -> object:
        """A token for the current state: the last applied edit, or at the start the number of
        steps dropped so far. An undo and a different new edit reach the same index in another
        state, so the index cannot be it."""
        return self._edits[self._index - 1] if self._index else ("start", self.dropped)

    def set_clean_at(self, state: object) -> None:
        """The document was saved in ``state`` (a :meth:`state` token; edits may have been made
        since, as during a save that runs in the background). A state no longer recorded (its
        edits dropped or discarded) is clean nowhere: the document stays dirty."""
        self._clean_index = None
        if state == ("start", self.dropped):
            self._clean_index = 0
        for index, edit in enumerate(self._edits, start=1):
            if edit is state:
                self._clean_index = index
        self._sync_dirty()

    def clear(self) -> None:
        self._edits.clear()
        self._index = 0
        self._clean_index = 0
        self.changed.emit()

    # ------------------------------------------------------------------ internals
    def _enforce_budget(self) -> None:
        total = self.nbytes
        while total > self.max_bytes and len(self._edits) > 1 and self._index > 1:
            oldest = self._edits.pop(0)
            total -= oldest.nbytes
            self._index -= 1
            self.dropped += 1
            if self._clean_index is not None:
                self._clean_index = self._clean_index - 1 if self._clean_index > 0 else None
        if self.dropped:
            log.debug("history holds %d steps, %d bytes", len(self._edits), total)

    def _sync_dirty(self) -> None:
        if self._index == self._clean_index:
            self.doc.mark_clean()
        else:
            self.doc.mark_dirty()
