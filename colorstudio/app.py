"""Composition root: QApplication, main window, start-up checks."""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from colorstudio import __version__, crash_log, paths
from colorstudio.ui.main_window import MainWindow
from colorstudio.workers.environment_probe import EnvironmentProbe


def create_window(recovery_folder=None) -> MainWindow:
    window = MainWindow(recovery_folder or paths.recovery_dir())
    return window


def _report_environment(window: MainWindow, ok: bool, message: str, runtime: str) -> None:
    if not ok:
        print(f"colorstudio: {message}", file=sys.stderr)
    window.set_device_status(ok, message, runtime)


def install_error_banner(window: MainWindow) -> None:
    """A failure no code expected (an exception escaping a Qt slot) becomes a banner and a line
    in the error log instead of a traceback on a terminal the user never sees; the document,
    its undo history and autosave are untouched."""

    def hook(kind, error, tb) -> None:
        if not isinstance(error, Exception):  # KeyboardInterrupt, SystemExit: Python's own
            sys.__excepthook__(kind, error, tb)
            return
        where = crash_log.record(kind, error, tb)
        tail = f" Details: {where}" if where is not None else ""
        text = (
            f"Something went wrong ({crash_log.summary(error)}). The last action may not have "
            f"finished; undo and autosave still work.{tail}"
        )
        # the hook runs on the thread that failed (a QThread's run, too): widgets are the GUI
        # thread's, so the banner is queued to it
        QTimer.singleShot(0, window, lambda: window.show_error(text))

    sys.excepthook = hook


def application_icon():
    """The app icon from resources/icons (every rendered size, so docks pick a sharp one)."""
    from PySide6.QtGui import QIcon

    from colorstudio import paths

    icon = QIcon()
    for png in sorted((paths.resources_dir() / "icons").glob("colorstudio-*.png")):
        icon.addFile(str(png))
    return icon


def start_editor(file: str | None = None) -> tuple[MainWindow, EnvironmentProbe]:
    """Show the window (and ``file``), start the environment check and the model's warm-up,
    and offer what a crashed session left behind; returns the window and the running check."""
    window = create_window()
    install_error_banner(window)
    probe = EnvironmentProbe(window)
    probe.checked.connect(lambda ok, msg, ver: _report_environment(window, ok, msg, ver))
    probe.start()
    window.show()
    window.generation.start_up()  # the runtime and the model load while the user finds a photo
    if file:
        window.open_path(file)
    window.offer_recovery()  # also with a file: a crash's work is offered whatever is opened
    return window, probe


def run_editor(file: str | None = None, quit_after: float | None = None) -> int:
    """Start the editor; ``quit_after`` (seconds) closes it again, for smoke tests."""
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("ColorStudio")
    app.setOrganizationName("ColorStudio")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("colorstudio")  # matches packaging/colorstudio.desktop (Wayland)
    app.setWindowIcon(application_icon())
    window, probe = start_editor(file)
    if quit_after is not None:

        def smoke_test_done() -> None:
            doc = window.document
            size = f"{doc.width}x{doc.height}" if doc else "no document"
            print(f"colorstudio: window shown: {window.windowTitle()} ({size})", flush=True)
            if doc is not None:
                doc.mark_clean()
            window.close()
            app.quit()

        QTimer.singleShot(int(quit_after * 1000), smoke_test_done)
    code = app.exec()
    probe.wait()
    return int(code)
