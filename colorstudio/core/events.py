"""A tiny synchronous event emitter, so the document model can be observed without Qt."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class Event:
    """A list of callbacks called in connection order by :meth:`emit`.

    The UI connects its slots here; the core never knows who listens.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, callback: Callable[..., Any]) -> None:
        if callback not in self._callbacks:
            self._callbacks.append(callback)

    def disconnect(self, callback: Callable[..., Any]) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, *args: Any, **kwargs: Any) -> None:
        for callback in list(self._callbacks):
            callback(*args, **kwargs)

    def __len__(self) -> int:
        return len(self._callbacks)


class DocumentEvents:
    """The events a :class:`~colorstudio.core.document.Document` emits.

    - ``pixels_changed(target_id, bbox)``: pixels of a layer/mask/hint changed inside ``bbox``.
    - ``structure_changed()``: layers, masks or references were added, removed or reordered.
    - ``properties_changed(target_id)``: name, opacity, visibility, blend mode, role... changed.
    - ``dirty_changed(is_dirty)``.
    """

    def __init__(self) -> None:
        self.pixels_changed = Event("pixels_changed")
        self.structure_changed = Event("structure_changed")
        self.properties_changed = Event("properties_changed")
        self.dirty_changed = Event("dirty_changed")
