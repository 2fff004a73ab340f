"""The last resort: an unexpected failure is one line for the user and a traceback in the log."""

import os
import sys

from PySide6.QtCore import QThread

from colorstudio import cli, crash_log
from colorstudio.cli_commands import SUBCOMMANDS


def _failing(error):
    def command(argv):
        raise error

    return command


def test_an_unexpected_error_in_a_command_is_one_line_and_logged(monkeypatch, capsys):
    monkeypatch.setitem(SUBCOMMANDS, "info", _failing(ValueError("the widget\nbroke")))
    assert cli.main(["info"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "unexpected error: ValueError: the widget broke" in err
    log = crash_log.log_path().read_text()
    assert "Traceback" in log and "the widget" in log and str(crash_log.log_path()) in err


def test_out_of_memory_is_said_in_words(monkeypatch, capsys):
    monkeypatch.setitem(SUBCOMMANDS, "info", _failing(MemoryError()))
    assert cli.main(["info"]) == 1
    assert "out of memory" in capsys.readouterr().err


def test_an_unwritable_log_still_gives_the_line(monkeypatch, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("COLORSTUDIO_DATA_DIR", str(blocker / "inside"))  # cannot be a folder
    monkeypatch.setitem(SUBCOMMANDS, "info", _failing(RuntimeError("boom")))
    assert cli.main(["info"]) == 1
    err = capsys.readouterr().err
    assert "RuntimeError: boom" in err and "details" not in err


def test_the_log_stays_bounded(monkeypatch):
    monkeypatch.setattr(crash_log, "MAX_BYTES", 4000)
    for i in range(40):
        try:
            raise ValueError(f"failure {i}")
        except ValueError as error:
            crash_log.report(error)
    log = crash_log.log_path().read_text()
    assert len(log.encode()) < 2 * 4000 + 2000
    assert "failure 39" in log and "failure 0\n" not in log


def test_the_editor_turns_an_escaped_exception_into_a_banner(qtbot, monkeypatch, tmp_path):
    from colorstudio.app import install_error_banner
    from colorstudio.ui.main_window import MainWindow

    window = MainWindow(tmp_path / "recovery")
    qtbot.addWidget(window)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    install_error_banner(window)
    try:
        raise KeyError("layer-42")
    except KeyError as error:
        sys.excepthook(type(error), error, error.__traceback__)
    banner = window.banner.label
    qtbot.waitUntil(lambda: "Something went wrong (KeyError: 'layer-42')" in banner.text())
    assert "KeyError" in crash_log.log_path().read_text()

    class Failing(QThread):  # PySide runs the hook on the thread that failed
        def run(self):
            raise ValueError("probe broke")

    shown_on = []
    real_show = window.show_error
    monkeypatch.setattr(
        window,
        "show_error",
        lambda text: (shown_on.append(QThread.currentThread()), real_show(text)),
    )
    thread = Failing()
    thread.start()
    assert thread.wait(5000)
    qtbot.waitUntil(lambda: "probe broke" in banner.text())
    assert shown_on == [window.thread()]  # the banner was made on the GUI thread


def test_a_file_name_that_is_not_utf8_is_logged_not_a_second_failure(monkeypatch, capsys):
    name = os.fsdecode(b"/tmp/\xff.png")  # a lone surrogate, as Linux hands such names over
    monkeypatch.setitem(SUBCOMMANDS, "info", _failing(ValueError(f"cannot read {name}")))
    assert cli.main(["info"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "cannot read /tmp/" in err
    assert "\\udcff" in crash_log.log_path().read_text()


def test_a_closed_pipe_is_not_an_error(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", sys.stdout)  # restored after the test
    monkeypatch.setitem(SUBCOMMANDS, "info", _failing(BrokenPipeError()))
    assert cli.main(["info"]) == 0
    assert capsys.readouterr().err == ""
    assert not crash_log.log_path().exists()


def test_a_logged_exception_is_one_line_on_the_terminal_and_its_traceback_in_the_log():
    """The editor logs a failed job with log.exception: its terminal must not show the trace."""
    import io
    import logging

    stream = io.StringIO()
    console = logging.StreamHandler(stream)
    console.setFormatter(crash_log.OneLineFormatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("colorstudio.test_one_line")
    logger.propagate = False
    logger.handlers[:] = [console, crash_log.ErrorLogHandler()]
    try:
        try:
            raise KeyError("main")
        except KeyError:
            logger.exception("job 2 failed")
    finally:
        logger.handlers.clear()
    shown = stream.getvalue().strip()
    assert len(shown.splitlines()) == 1 and "Traceback" not in shown
    assert "job 2 failed" in shown and str(crash_log.log_path()) in shown
    log = crash_log.log_path().read_text()
    assert "Traceback" in log and "KeyError: 'main'" in log
