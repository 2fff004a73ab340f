"""The last resort: an unexpected failure is one line for the user and a traceback in the log."""

import sys

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
    assert "Something went wrong (KeyError: 'layer-42')" in window.banner.label.text()
    assert "KeyError" in crash_log.log_path().read_text()
