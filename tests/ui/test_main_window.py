"""The main window: opens offscreen, opens/saves files, keeps the document on bad input."""

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QRect, Qt, QThread, QTimer
from PySide6.QtWidgets import QDockWidget, QProgressDialog, QPushButton

from colorstudio.core.brush import BrushSettings, PaintMode, Stroke
from colorstudio.session.tools import Tool


@pytest.fixture
def photo(tmp_path, rng):
    path = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(path)
    return path


def test_window_has_menus_docks_and_status(window):
    menus = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert menus == ["File", "Edit", "View", "Tools", "Generate", "Help"]
    docks = {d.windowTitle() for d in window.findChildren(QDockWidget)}
    assert docks == {"Tool Options", "Layers", "References", "Generate", "History"}
    assert window.act_open.shortcut().toString() == "Ctrl+O"
    assert window.act_undo.shortcut().toString() == "Ctrl+Z"
    assert not window.act_save.isEnabled()  # nothing open yet


def test_open_image_shows_it(window, photo):
    assert window.open_path(photo)
    assert window.document is not None and window.document.width == 64
    assert not window.canvas.image.isNull() and window.canvas.image.width() == 64
    assert window.act_save.isEnabled()
    assert window.windowTitle().startswith("photo.png —")  # named after the file it came from
    assert str(photo.resolve()) in window.recent_files()


@pytest.mark.parametrize("content", [b"", b"garbage that is not an image"])
def test_bad_file_keeps_the_open_document(window, photo, tmp_path, content):
    window.open_path(photo)
    doc = window.document
    pixels = doc.layers[0].pixels.copy()
    bad = tmp_path / "bad.png"
    bad.write_bytes(content)
    assert not window.open_path(bad)
    assert window.document is doc
    assert np.array_equal(doc.layers[0].pixels, pixels)
    assert window.banner.isVisible() and "bad.png" in window.banner.label.text()


def test_broken_project_keeps_the_open_document(window, photo, tmp_path):
    window.open_path(photo)
    doc = window.document
    broken = tmp_path / "broken.ora"
    broken.write_bytes(b"PK\x03\x04broken")
    assert not window.open_path(broken)
    assert window.document is doc
    assert "not an OpenRaster project" in window.banner.label.text()


def test_paint_undo_save_reopen(window, photo, tmp_path):
    window.open_path(photo)
    doc = window.document
    stroke = Stroke(doc.hint.pixels, BrushSettings(size=9), PaintMode.PAINT, (0, 0, 255))
    stroke.add_point(5, 5)
    stroke.add_point(40, 30)
    window.history.push(stroke.finish(doc.hint.id))
    assert doc.dirty and window.windowTitle().startswith("photo.png*")
    assert window.act_undo.isEnabled()
    window.undo()
    assert not doc.hint.pixels.any()
    window.redo()
    painted = doc.hint.pixels.copy()
    target = tmp_path / "work.ora"
    assert window.save_to(target)
    assert not doc.dirty and window.windowTitle().startswith("work.ora —")
    assert window.open_path(target)
    assert np.array_equal(window.document.hint.pixels, painted)


def test_export_writes_an_image(window, photo, tmp_path):
    window.open_path(photo)
    out = tmp_path / "out.jpg"
    assert window.export_to(out)
    with Image.open(out) as im:
        assert im.size == (64, 48)


def test_python_dash_m_colorstudio_opens_a_real_main_window(photo, tmp_path):
    """The real entry point in a fresh process (offscreen): shows the file, then quits."""
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "COLORSTUDIO_DATA_DIR": str(tmp_path / "data"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "colorstudio", str(photo), "--quit-after", "1.5"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "window shown: photo.png — ColorStudio (64x48)" in result.stdout


def test_closing_stops_the_worker_thread(qtbot, window):
    assert window.worker.isRunning()
    window.close()
    assert [t for t in window.findChildren(QThread) if t.isRunning()] == []


def test_periodic_autosave_runs_off_the_gui_thread(qtbot, window, photo):
    window.open_path(photo)
    window.document.mark_dirty()
    window.autosaver.interval_s = 0
    with qtbot.waitSignal(window.autosave_done, timeout=10000) as blocker:
        window._on_autosave_timer_timeout()
        assert window._autosave_future is not None  # the GUI returned before the file was written
    path, error = blocker.args
    assert error == "" and path.endswith(".ora")
    assert len(window.pending_recoveries()) == 0  # our own session is not offered to ourselves
    from colorstudio.core.io.autosave import find_recoveries
    from colorstudio.core.io.ora import load_ora

    assert len(load_ora(path).document.layers) == 1  # written and readable...
    assert find_recoveries(window.autosaver.folder) == []  # ...but live: offered to no one


def test_a_long_banner_message_shows_every_line(qtbot, window):
    window.resize(700, 600)
    text = "Damage found on 6.8% of the photo. Refine the mask, then Apply to repair it. " * 4
    window.banner.show_message(text, "info")
    qtbot.waitUntil(lambda: window.banner.isVisible())
    qtbot.wait(50)
    label = window.banner.label
    lines = label.fontMetrics().boundingRect(
        QRect(0, 0, label.width(), 1 << 20), int(Qt.TextFlag.TextWordWrap), text
    )
    assert lines.height() > 2 * label.fontMetrics().height()  # the message wraps
    assert label.height() >= lines.height() + 8  # every line, and the text margins, fit
    window.banner.show_message("one line", "info")
    qtbot.wait(50)
    assert label.height() < lines.height()  # and the banner shrinks again


def test_image_named_with_an_undecodable_byte_saves_and_reopens(window, tmp_path, rng):
    """Linux file names may hold bytes that are not UTF-8; the first layer is named after it."""
    import os

    name = os.fsdecode(b"grandma\xe9.png")
    path = tmp_path / name
    Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(path)
    assert window.open_path(path)
    assert window.document.layers[0].name == os.fsdecode(b"grandma\xe9")
    project = tmp_path / "grandma.ora"
    assert window.save_to(project)
    assert window.open_path(project)
    assert window.document.layers[0].name == os.fsdecode(b"grandma\xe9")


def test_a_save_that_fails_its_check_keeps_document_dirty_and_autosave(
    window, photo, tmp_path, monkeypatch
):
    from colorstudio.core.io import ora

    window.open_path(photo)
    window.document.mark_dirty()
    autosave = window.autosave_now()
    target = tmp_path / "keep.ora"
    target.write_bytes(b"the user's previous project")
    real = ora.write_ora

    def truncated(doc, handle, level=3):
        real(doc, handle, level)
        handle.truncate(100)

    monkeypatch.setattr(ora, "write_ora", truncated)
    assert not window.save_to(target)
    assert target.read_bytes() == b"the user's previous project"
    assert window.document.dirty and autosave.is_file()
    assert "keep.ora on disk is unchanged" in window.banner.label.text()


def test_an_unexpected_error_while_saving_is_one_message(window, photo, tmp_path, monkeypatch):
    from colorstudio.core.io import ora

    window.open_path(photo)
    window.document.mark_dirty()

    def crash(doc, handle, level=3):
        raise UnicodeEncodeError("utf-8", "x", 0, 1, "simulated defect")

    monkeypatch.setattr(ora, "write_ora", crash)
    assert not window.save_to(tmp_path / "p.ora")
    assert window.document.dirty
    text = window.banner.label.text()
    assert "Could not save p.ora: an internal error (UnicodeEncodeError)" in text


def test_a_refused_save_says_why_in_words_and_goes_once_a_save_works(
    window, photo, tmp_path, monkeypatch
):
    from colorstudio.core.io import ora

    window.open_path(photo)
    window.document.mark_dirty()
    real = ora.write_ora

    def refused(doc, handle, level=3):
        raise PermissionError(1, "Operation not permitted", str(tmp_path / ".p.ora.77.part"))

    monkeypatch.setattr(ora, "write_ora", refused)
    assert not window.save_to(tmp_path / "p.ora")
    text = window.banner.label.text()
    assert text.startswith("Could not save p.ora: operation not permitted.")
    assert ".part" not in text and "Errno" not in text
    assert "unchanged" not in text  # there was no earlier p.ora to keep
    monkeypatch.setattr(ora, "write_ora", real)
    assert window.save_to(tmp_path / "elsewhere.ora")
    assert not window.banner.isVisibleTo(window)


def test_opening_decodes_off_the_gui_thread_and_can_be_cancelled(
    qtbot, window, photo, tmp_path, monkeypatch
):
    import threading

    from colorstudio.ui import file_loading

    window.open_path(photo)
    before = window.document
    release = threading.Event()
    threads = []
    real = file_loading.open_file

    def slow_open(path, max_pixels):
        threads.append(threading.current_thread())
        release.wait(10)
        return real(path, max_pixels)

    monkeypatch.setattr(file_loading, "open_file", slow_open)
    monkeypatch.setattr(file_loading, "SHOW_AFTER_MS", 0)
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)

    def cancel_when_shown():
        dialog = window.findChild(QProgressDialog, "open_progress")
        if dialog is not None and dialog.isVisible():
            dialog.findChild(QPushButton).click()  # the user presses Cancel
        else:
            QTimer.singleShot(20, cancel_when_shown)

    QTimer.singleShot(20, cancel_when_shown)
    assert not window.open_path(photo)  # cancelled
    timer.stop()
    release.set()
    assert threads and threads[0] is not threading.main_thread()
    assert ticks  # the GUI thread kept handling events while the file decoded
    assert window.document is before
    file_loading.wait_for_cancelled_loads()


def test_refused_format_keeps_the_document_and_says_what_the_file_is(window, photo, tmp_path):
    window.open_path(photo)
    doc = window.document
    eps = tmp_path / "scan.png"
    eps.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n{ } loop\n")
    assert not window.open_path(eps)
    assert window.document is doc
    assert "PostScript/EPS" in window.banner.label.text()
    broken = tmp_path / "torn.jpg"  # a message that names the file itself reads as a sentence
    broken.write_bytes(b"\xff\xd8\xff\xe0" * 40)
    assert not window.open_path(broken)
    assert window.banner.label.text().startswith("Could not open: torn.jpg is truncated")
    assert not window.open_path(tmp_path / "gone.jpg")
    assert window.banner.label.text().startswith("Could not open gone.jpg: ")


def test_tests_write_settings_and_recent_files_only_into_their_temporary_folder(
    window, photo, tmp_path
):
    from PySide6.QtCore import QSettings

    window.open_path(photo)
    assert window.recent_files()  # something was written…
    assert QSettings("ColorStudio", "ColorStudio").fileName().startswith(str(tmp_path))  # …here


def test_opening_another_file_asks_before_dropping_unsaved_changes(
    window, photo, tmp_path, monkeypatch
):
    from PySide6.QtWidgets import QMessageBox

    window.open_path(photo)
    doc = window.document
    doc.mark_dirty()
    answers = [QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Discard]
    asked = []

    def question(parent, title, text, buttons):
        asked.append(text)
        return answers.pop(0)

    monkeypatch.setattr(QMessageBox, "question", question)
    assert not window.open_path(photo)  # Cancel: nothing happens
    assert window.document is doc and doc.dirty
    assert window.open_path(photo)  # Discard: the file opens
    assert window.document is not doc
    assert asked == ["Save changes before opening another file?"] * 2


def test_file_new_and_save_as_suggest_what_a_user_expects(window, photo, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from colorstudio.ui import file_actions

    window.open_path(photo)
    offered = []

    def get_save_file_name(parent, title, default, filters):
        offered.append(default)
        return "", ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", get_save_file_name)
    assert not window.save_as_dialog()
    assert offered == [str(photo.parent / "photo.ora")]
    window.export_dialog()  # the photo's name, never the photo itself
    assert offered[-1] == str(photo.parent / "photo-edited.png")
    monkeypatch.setattr(file_actions, "new_document_size", lambda parent: (320, 200))
    window.act_new.trigger()
    doc = window.document
    assert (doc.width, doc.height) == (320, 200) and (doc.layers[0].pixels == 255).all()
    assert window.windowTitle().startswith("Untitled")
    said = window.statusBar().currentMessage()
    assert not said.startswith("Mode:")  # a blank canvas has no colour to judge


def test_a_status_message_leaves_the_size_and_cursor_in_view(qtbot, window, photo):
    window.show()
    window.open_path(photo)
    assert window.statusBar().currentMessage().startswith("Mode:")  # shown for 10 s
    qtbot.wait(50)
    assert window.status_doc.isVisible() and window.status_doc.text().endswith("px")
    assert window.status_cursor.isVisibleTo(window.statusBar())
    places = []
    for text in ("1, 2", "12345, 6789"):  # the read-outs keep still as the mouse moves
        window.status_cursor.setText(text)
        qtbot.wait(20)
        places.append(window.status_doc.geometry().x())
    assert places[0] == places[1]


def test_preview_and_apply_without_a_document_say_so(window):
    window.generate_panel.preview_button.click()
    assert "Open a photo first" in window.banner.label.text()
    window.banner.hide()
    window.generate_panel.apply_button.click()
    assert window.banner.isVisible() and "Open a photo first" in window.banner.label.text()


def test_tool_options_show_only_what_the_tool_uses(window):
    panel = window.tool_options
    window.set_tool(Tool.HINT)
    assert panel.size.isVisibleTo(panel) and panel.color_row.isVisibleTo(panel)
    assert panel.suggest_label.isVisibleTo(panel) and not panel.usage.isVisibleTo(panel)
    window.set_tool(Tool.ERASER)  # brush settings, no colour
    assert panel.size.isVisibleTo(panel) and not panel.color_row.isVisibleTo(panel)
    assert not panel.suggest_label.isVisibleTo(panel)
    window.set_tool(Tool.RECT_SELECT)  # nothing to set: how to use it instead
    assert not panel.size.isVisibleTo(panel) and not panel.hardness.isVisibleTo(panel)
    assert not panel.color_row.isVisibleTo(panel)
    assert panel.usage.isVisibleTo(panel) and "Clear Mask" in panel.usage.text()
    window.set_tool(Tool.PICKER)  # the colour it picks
    assert panel.color_row.isVisibleTo(panel) and not panel.size.isVisibleTo(panel)


def test_a_brush_size_change_repaints_the_cursor_not_the_canvas(qtbot, window, photo, monkeypatch):
    from PySide6.QtCore import QEvent, QPointF

    from tests.ui.conftest import send_mouse

    window.open_path(photo)
    window.set_tool(Tool.BRUSH)
    canvas = window.canvas
    canvas.set_zoom(4.0)
    qtbot.wait(20)
    send_mouse(canvas, QEvent.Type.MouseMove, QPointF(canvas.width() / 2, canvas.height() / 2))
    painted = []
    real = type(canvas).paintEvent
    monkeypatch.setattr(canvas, "paintEvent", lambda e: (painted.append(e.rect()), real(canvas, e)))
    window.tool_options.size.setValue(20)  # 20 px at zoom 4: an outline of radius 40
    qtbot.waitUntil(lambda: bool(painted), timeout=2000)
    big = painted[-1]
    assert 80 <= big.width() < canvas.width() and 80 <= big.height() < canvas.height()
    painted.clear()
    window.tool_options.size.setValue(4)  # smaller: the old, larger outline is repainted away
    qtbot.waitUntil(lambda: bool(painted), timeout=2000)
    assert painted[-1].width() >= 80


def test_the_status_bar_shows_the_zoom(qtbot, window, photo):
    window.open_path(photo)
    qtbot.waitUntil(lambda: window.status_zoom.text().endswith(" %"), timeout=2000)
    window.act_actual.trigger()
    assert window.status_zoom.text() == "100 %"
    window.act_zoom_in.trigger()
    assert int(window.status_zoom.text().split()[0]) > 100


def test_a_slow_save_keeps_the_window_live_and_an_edit_meanwhile_stays_unsaved(
    window, photo, tmp_path, monkeypatch
):
    import threading

    from colorstudio.core.edits import SetProperties
    from colorstudio.core.io import ora

    window.open_path(photo)
    doc = window.document
    window.history.do(SetProperties.of(doc, doc.layers[0].id, name="Saved"))
    real = ora.write_ora
    on_thread = []

    def slow(document, handle, level=3):
        on_thread.append(threading.current_thread() is not threading.main_thread())
        threading.Event().wait(0.6)  # a 24 MP project takes seconds
        real(document, handle, level)

    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(20)
    # the user renames the layer while the save runs: not in the file, so still unsaved
    QTimer.singleShot(
        200, lambda: window.history.do(SetProperties.of(doc, doc.layers[0].id, name="Later"))
    )
    monkeypatch.setattr(ora, "write_ora", slow)
    assert window.save_to(tmp_path / "p.ora")
    timer.stop()
    assert on_thread == [True] and len(ticks) >= 10  # the event loop ran during the save
    assert doc.layers[0].name == "Later" and doc.dirty
    assert ora.load_ora(tmp_path / "p.ora").document.layers[0].name == "Saved"
    window.undo()
    assert not doc.dirty  # the saved state


def test_no_other_document_comes_in_while_a_save_runs(window, photo, tmp_path, monkeypatch):
    import threading

    from colorstudio.core.io import ora

    window.open_path(photo)
    doc = window.document
    doc.mark_dirty()
    real = ora.write_ora

    def slow(document, handle, level=3):
        threading.Event().wait(0.5)
        real(document, handle, level)

    opened, autosaves = [], []
    monkeypatch.setattr(ora, "write_ora", slow)
    monkeypatch.setattr(window.autosaver, "due", lambda d, now=None: autosaves.append(1) or True)
    QTimer.singleShot(150, lambda: opened.append(window.open_path(photo)))  # a drop, a recent file
    QTimer.singleShot(200, lambda: opened.append(window.new_document(8, 8)))  # File ▸ New
    QTimer.singleShot(250, window._on_autosave_timer_timeout)  # the autosave tick
    assert window.save_to(tmp_path / "p.ora")
    assert opened == [False, None] and window.document is doc
    assert window.path == tmp_path / "p.ora" and not doc.dirty
    assert window._autosave_future is None and autosaves == []  # no autosave during the save


def test_a_save_from_the_close_question_that_missed_an_edit_keeps_the_window(
    window, photo, monkeypatch
):
    from PySide6.QtWidgets import QMessageBox

    window.open_path(photo)
    window.document.mark_dirty()
    window.path = None
    monkeypatch.setattr(window, "save", lambda: True)  # saved; an Apply landed meanwhile
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Save)
    assert not window.confirm_discard("closing")
    assert "not saved yet" in window.banner.label.text()


def test_an_autosave_running_when_a_save_ends_is_discarded_after_it(
    window, photo, tmp_path, monkeypatch
):
    import threading

    window.open_path(photo)
    window.document.mark_dirty()
    real = window.autosaver.save

    def slow(doc, source):
        threading.Event().wait(0.5)
        return real(doc, source)

    monkeypatch.setattr(window.autosaver, "save", slow)
    monkeypatch.setattr(window.autosaver, "due", lambda d, now=None: True)
    window._on_autosave_timer_timeout()  # an autosave starts…
    running = window._autosave_future
    assert running is not None
    assert window.save_to(tmp_path / "p.ora")  # …and the save ends before it
    running.result(timeout=10)
    assert not list(window.autosaver.folder.glob("*.ora"))  # nothing left to recover
