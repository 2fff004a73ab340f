"""Autosave and crash recovery as a user meets them: the offer, Yes / Later / Discard, and
what a restored document keeps."""

import threading

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox

from colorstudio.core.edits import SetProperties
from colorstudio.core.io import ora
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


def rename(win, name):
    doc = win.document
    win.history.do(SetProperties.of(doc, doc.layers[0].id, name=name))


def test_a_save_with_an_edit_meanwhile_leaves_no_recovery_copy_older_than_the_file(
    make_window, window, photo, tmp_path, monkeypatch
):
    window.open_path(photo)
    project = tmp_path / "p.ora"
    assert window.save_to(project)  # the user works on a project
    rename(window, "Old")
    assert window.autosave_now() is not None  # an autosave tick: the copy holds "Old"
    rename(window, "Saved")
    real = ora.write_ora

    def slow(document, handle, level=3):
        threading.Event().wait(0.5)
        real(document, handle, level)

    monkeypatch.setattr(ora, "write_ora", slow)
    QTimer.singleShot(150, lambda: rename(window, "Later"))  # an edit during the save
    assert window.save_to(project)
    monkeypatch.setattr(ora, "write_ora", real)
    assert window.document.dirty
    copy = window.autosaver.project_path
    held = ora.load_ora(copy).document.layers[0].name if copy.exists() else None
    # the session crashes now (before the next autosave tick): what is offered?
    window.autosaver._lock.release()
    second = make_window()
    recoveries = second.pending_recoveries()
    if recoveries:
        assert second.restore_recovery(recoveries[0])  # "Restore p.ora?"  Yes
        assert second.path == project
        assert second.save()  # "Save it to keep it."
    assert ora.load_ora(project).document.layers[0].name == "Saved", (
        f"recovery copy held {held!r}; restoring and saving it overwrote the saved project"
    )


def test_restored_work_stays_unsaved_after_an_edit_and_its_undo(make_window, window, photo):
    second, recovery = crashed_session(make_window, window, photo)
    assert second.restore_recovery(recovery)
    assert second.document.dirty
    rename(second, "x")
    second.undo()  # back to the recovered state, which is in no file
    assert second.document.dirty, "recovered work looks saved: closing would not ask"


def test_restore_while_the_old_documents_autosave_runs_keeps_the_recovered_work(
    make_window, window, photo, monkeypatch
):
    second, recovery = crashed_session(make_window, window, photo)
    second.open_path(photo)
    rename(second, "old work")  # dirty: the autosave tick writes it on a thread
    real = second.autosaver.save

    def slow_on_thread(doc, source, now=None):
        if threading.current_thread() is not threading.main_thread():
            threading.Event().wait(0.5)
        return real(doc, source)

    monkeypatch.setattr(second.autosaver, "save", slow_on_thread)
    monkeypatch.setattr(second.autosaver, "due", lambda d, now=None: True)
    second._on_autosave_timer_timeout()
    running = second._autosave_future
    assert running is not None
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    second._on_recovery_box_finished(QMessageBox.StandardButton.Yes, recovery)  # Restore
    assert second.document.layers[0].pixels[0, 0].tolist() == [1, 2, 3, 255]
    running.result(timeout=10)
    assert not recovery.project_path.exists()  # the crashed session's copy is gone…
    kept = ora.load_ora(second.autosaver.project_path).document
    # …so this session's copy must hold the recovered work
    assert kept.layers[0].pixels[0, 0].tolist() == [1, 2, 3, 255], "copy holds the old document"


def test_the_editor_starts_whatever_the_clean_up_after_a_crash_meets(qtbot, tmp_path, monkeypatch):
    from colorstudio.ui import main_window

    def broken(*_args):
        raise UnicodeDecodeError("utf-8", b"\xe5", 0, 1, "a recent file's name")

    monkeypatch.setattr(main_window, "clean_after_crash", broken)
    win = MainWindow(tmp_path / "recovery", engine_factory=lambda: None)
    qtbot.addWidget(win)
    assert win.document is None  # it started
