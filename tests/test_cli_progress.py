"""The single-image commands' progress line: on a terminal only, each stage's share of the job."""

import io
import sys

from colorstudio.cli_progress import stage, terminal_progress


def test_a_stage_maps_its_progress_into_the_whole_job():
    seen = []
    second = stage(lambda fraction, message: seen.append((fraction, message)), 1, 2, "repair")
    second(0.5, "tile 3 of 6")
    second(0.0, "")
    assert seen == [(0.75, "repair tile 3 of 6"), (0.5, "repair")]
    assert stage(None, 0, 1, "detect") is None
    stage(lambda fraction, message: seen.append(message), 0, 1, "detect")(0.1, "detect")
    assert seen[-1] == "detect"  # the engine's own step of that name is not said twice


def test_without_a_terminal_nothing_is_drawn(monkeypatch):
    stderr = io.StringIO()  # piped: isatty() is False
    monkeypatch.setattr(sys, "stderr", stderr)
    with terminal_progress("scan.jpg") as progress:
        assert progress is None
    assert stderr.getvalue() == ""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_line_names_the_file_and_the_stage(monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with terminal_progress("scan.jpg") as progress:
        assert progress is not None
        stage(progress, 0, 2, "detect")(0.5, "tile 1 of 2")
        drawn = terminal.getvalue()
        progress(7.0, "")  # a fraction out of range is clamped, never an error
    assert "scan.jpg" in drawn and "detect tile 1 of 2" in drawn
