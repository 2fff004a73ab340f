"""Checks the torch/torchvision pair off the GUI thread at start-up."""

from __future__ import annotations

from PySide6.QtCore import QThread, Signal

from colorstudio.ml.environment import check_torch_stack


class EnvironmentProbe(QThread):
    """Runs :func:`check_torch_stack` on its own thread.

    Emits ``checked(ok, message, torch_version)``.
    """

    checked = Signal(bool, str, str)

    def run(self) -> None:
        status = check_torch_stack()
        self.checked.emit(status.ok, status.message, status.torch_version or "")
