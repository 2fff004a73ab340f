"""Autosave and crash recovery as a user meets them: the offer, Yes / Later / Discard, and
what a restored document keeps."""

import numpy as np
import pytest
from PIL import Image

from colorstudio.ui.main_window import MainWindow


@pytest.fixture
def photo(tmp_path, rng):
    path = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(path)
    return path


def test_autosave_and_recovery_in_a_new_window(make_window, window, photo):
    window.open_path(photo)
    window.document.layers[0].pixels[0, 0] = [1, 2, 3, 255]
    window.document.mark_dirty()
    assert window.autosave_now() is not None
    second = make_window()
    assert second.pending_recoveries() == []  # the first is still running: its autosave is live
    # The first session crashes (the OS drops its lock); the second now finds its autosave.
    window.autosaver._lock.release()
    recoveries = second.pending_recoveries()
    assert len(recoveries) == 1
    assert recoveries[0].title.startswith("photo.png (autosaved")  # the image, not "Untitled"
    assert second.restore_recovery(recoveries[0])
    assert second.document.layers[0].pixels[0, 0].tolist() == [1, 2, 3, 255]
    assert second.document.dirty
    assert second.windowTitle().startswith("photo.png*")
    assert second.pending_recoveries() == []


def crashed_session(make_window, window, photo):
    """A second window beside the first, whose session 'crashed' with unsaved work."""
    window.open_path(photo)
    window.document.layers[0].pixels[0, 0] = [1, 2, 3, 255]
    window.document.mark_dirty()
    assert window.autosave_now() is not None
    window.autosaver._lock.release()
    second = make_window()
    (recovery,) = second.pending_recoveries()
    return second, recovery


def test_yes_to_recovery_while_a_file_opens_waits_for_it(qtbot, make_window, window, photo):
    from PySide6.QtWidgets import QMessageBox

    second, recovery = crashed_session(make_window, window, photo)
    second._loading = True  # a file is decoding: it would replace the recovered work
    second._on_recovery_box_finished(QMessageBox.StandardButton.Yes, recovery)
    assert second.document is None and recovery.project_path.is_file()  # nothing lost
    second._loading = False
    qtbot.waitUntil(lambda: second.findChild(QMessageBox, "recovery_box") is not None, timeout=3000)


def test_yes_to_recovery_asks_before_replacing_changed_work(
    qtbot, make_window, window, photo, monkeypatch
):
    from PySide6.QtWidgets import QMessageBox

    second, recovery = crashed_session(make_window, window, photo)
    second.open_path(photo)
    second.document.mark_dirty()  # the user painted while the offer was up
    doc = second.document
    asked = []
    monkeypatch.setattr(
        QMessageBox,
        "question",
        lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.Cancel,
    )
    second._on_recovery_box_finished(QMessageBox.StandardButton.Yes, recovery)
    assert asked == ["Save changes before restoring the recovered work?"]
    assert second.document is doc and recovery.project_path.is_file()


def test_recovered_work_is_deleted_only_when_the_user_confirms(
    make_window, window, photo, monkeypatch
):
    from PySide6.QtWidgets import QMessageBox

    second, recovery = crashed_session(make_window, window, photo)
    second._on_recovery_box_finished(QMessageBox.StandardButton.Cancel, recovery)  # Later, Esc
    assert recovery.project_path.is_file()
    answers = [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes]
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: answers.pop(0))
    second._on_recovery_box_finished(QMessageBox.StandardButton.Discard, recovery)  # a mis-click
    assert recovery.project_path.is_file()
    second._on_recovery_box_finished(QMessageBox.StandardButton.Discard, recovery)
    assert not recovery.project_path.is_file()


def test_restoring_over_a_photo_says_that_the_photo_was_closed(
    make_window, window, photo, tmp_path
):
    second, recovery = crashed_session(make_window, window, photo)
    other = tmp_path / "other.png"
    other.write_bytes(photo.read_bytes())
    second.open_path(other)  # the photo named on the command line
    assert second.restore_recovery(recovery)
    assert "other.png was closed for it" in second.banner.label.text()


def test_a_photo_given_at_start_up_still_gets_the_recovery_offer(qtbot, photo, monkeypatch):
    from colorstudio import app

    offered = []
    monkeypatch.setattr(MainWindow, "offer_recovery", lambda self: offered.append(self.source))
    window, probe = app.start_editor(str(photo))
    qtbot.addWidget(window, before_close_func=lambda w: w.document and w.document.mark_clean())
    assert offered == [photo]  # asked after the photo opened, not instead of opening it
    assert probe.wait(30000)


def test_recovered_work_is_in_this_sessions_autosave_before_the_old_copy_goes(
    make_window, window, photo
):
    window.open_path(photo)
    window.document.mark_dirty()
    assert window.autosave_now() is not None
    window.autosaver._lock.release()  # the first session crashes
    second = make_window()
    (recovery,) = second.pending_recoveries()
    assert second.restore_recovery(recovery)
    assert not recovery.project_path.exists()  # the crashed session's copy is gone…
    assert second.autosaver.project_path.is_file()  # …because this session's copy exists
