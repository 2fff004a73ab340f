"""Checks what runs the networks (ONNX Runtime, PyTorch) off the GUI thread at start-up."""

from __future__ import annotations

from PySide6.QtCore import QThread, Signal

from colorstudio.ml.environment import check_runtime


class EnvironmentProbe(QThread):
    """Runs :func:`check_runtime` on its own thread.

    Emits ``checked(ok, message, label)``: label names the runtime ("ONNX Runtime 1.20").
    """

    checked = Signal(bool, str, str)

    def run(self) -> None:
        status = check_runtime()
        self.checked.emit(status.ok, status.message, status.label)
