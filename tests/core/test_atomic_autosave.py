"""Atomic saves survive failures; autosave writes recovery copies that can be restored."""

import json
import os
import time

import numpy as np
import pytest

from colorstudio.core.document import Document
from colorstudio.core.io import ora
from colorstudio.core.io.atomic import HOST, atomic_write, atomic_write_bytes
from colorstudio.core.io.autosave import (
    Autosaver,
    RecoveryFile,
    clean_after_crash,
    discard_recovery,
    find_recoveries,
    restore,
)
from colorstudio.core.io.errors import ProjectFileError
from colorstudio.core.io.ora import load_ora, save_ora


def test_atomic_write_replaces_file(tmp_path):
    path = tmp_path / "f.bin"
    atomic_write_bytes(path, b"one")
    atomic_write_bytes(path, b"two")
    assert path.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]  # no temporary files left


def test_crash_mid_write_keeps_previous_file(tmp_path):
    path = tmp_path / "f.bin"
    atomic_write_bytes(path, b"precious")
    with pytest.raises(RuntimeError), atomic_write(path) as handle:
        handle.write(b"half of the new cont")
        raise RuntimeError("power cut")
    assert path.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_failed_project_save_keeps_previous_project(tmp_path, monkeypatch, rng):
    doc = Document.from_rgba(rng.integers(0, 256, (8, 8, 4), dtype=np.uint8))
    path = tmp_path / "p.ora"
    save_ora(doc, path)
    before = path.read_bytes()

    def explode(*args, **kwargs):
        raise OSError("disk full")

    doc.layers[0].pixels[...] = 0
    monkeypatch.setattr(ora, "_write_colorstudio_part", explode)  # fails after layers were written
    with pytest.raises(OSError, match="disk full"):
        save_ora(doc, path)
    assert path.read_bytes() == before
    assert load_ora(path).document.layers[0].pixels.any()


def test_atomic_write_keeps_permissions(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"x")
    os.chmod(path, 0o640)
    atomic_write_bytes(path, b"y")
    assert (path.stat().st_mode & 0o777) == 0o640


def test_autosave_only_when_dirty_and_due(tmp_path):
    doc = Document.from_rgba(np.zeros((4, 4, 4), np.uint8))
    saver = Autosaver(tmp_path, interval_s=60)
    assert not saver.due(doc, now=1000)
    doc.mark_dirty()
    assert saver.due(doc, now=1000)
    saver.save(doc, "/photos/grandma.jpg", now=1000)
    assert not saver.due(doc, now=1030)
    assert saver.due(doc, now=1061)


def test_crashed_session_is_found_and_restored(tmp_path, rng):
    doc = Document.from_rgba(rng.integers(0, 256, (6, 5, 4), dtype=np.uint8))
    doc.hint.pixels[1, 1] = [1, 2, 3, 255]
    doc.mark_dirty()
    crashed = Autosaver(tmp_path)
    crashed.save(doc, "/photos/grandma.jpg")
    # while it runs, another instance neither sees nor deletes its autosave
    assert find_recoveries(tmp_path, exclude_session=Autosaver(tmp_path).session) == []
    # ...the process dies here (the OS drops its lock); a new session starts:
    crashed._lock.release()
    current = Autosaver(tmp_path)
    found = find_recoveries(tmp_path, exclude_session=current.session)
    assert len(found) == 1 and found[0].source_path == "/photos/grandma.jpg"
    assert "grandma.jpg" in found[0].title
    restored = restore(found[0]).document
    assert np.array_equal(restored.layers[0].pixels, doc.layers[0].pixels)
    assert np.array_equal(restored.hint.pixels, doc.hint.pixels)
    assert restored.dirty
    discard_recovery(found[0])
    assert find_recoveries(tmp_path) == []


def test_clean_close_leaves_nothing_to_recover(tmp_path):
    doc = Document.from_rgba(np.zeros((4, 4, 4), np.uint8))
    doc.mark_dirty()
    saver = Autosaver(tmp_path)
    saver.save(doc, None)
    saver.discard()
    assert find_recoveries(tmp_path) == []


@pytest.mark.parametrize(
    "info",
    [
        "{not json",
        "[]",  # valid JSON, not the object we write
        '{"pid": 1e400}',
        '{"saved_at": 1e300}',
        '{"saved_at": 1' + "0" * 400 + "}",
        '{"source_path": 5}',
        '{"pid": true}',
        "[" * 100_000 + "]" * 100_000,
        '{"pad": "' + "x" * 70_000 + '"}',
    ],
)
def test_broken_recovery_info_is_skipped(tmp_path, info):
    """A damaged or foreign info file must not stop the editor from starting (every start would
    fail until it was deleted by hand); the good copy beside it is still offered."""
    (tmp_path / "abc.json").write_text(info)
    (tmp_path / "abc.ora").write_bytes(b"junk")
    doc = Document.from_rgba(np.zeros((4, 4, 4), np.uint8))
    doc.mark_dirty()
    good = Autosaver(tmp_path / "other")
    good.save(doc, "grandma.jpg")
    for name in (good.project_path, good.info_path):
        os.replace(name, tmp_path / name.name)
    (found,) = find_recoveries(tmp_path)
    assert found.source_path == "grandma.jpg"


def test_live_session_autosave_cannot_be_restored_or_deleted(tmp_path, rng):
    doc = Document.from_rgba(rng.integers(0, 256, (6, 5, 4), dtype=np.uint8))
    doc.mark_dirty()
    live = Autosaver(tmp_path)
    live.save(doc, None)
    info = json.loads(live.info_path.read_text())
    recovery = RecoveryFile(live.project_path, live.info_path, None, info["saved_at"], 1)
    with pytest.raises(ProjectFileError, match="still running"):
        discard_recovery(recovery)
    with pytest.raises(ProjectFileError, match="still running"):
        restore(recovery)
    assert live.project_path.exists() and live.info_path.exists()


def test_start_up_cleans_unfinished_writes_of_dead_processes(tmp_path):
    dead = tmp_path / f".abc.ora.999999999-{HOST}-x1y2x1y2.part"  # this computer, no such pid
    dead.write_bytes(b"half a project")
    mine = tmp_path / f".abc.ora.{os.getpid()}-{HOST}-zzzzzzzz.part"  # a write in progress here
    mine.write_bytes(b"being written")
    elsewhere = tmp_path / ".abc.ora.999999999-0badc0de-zzzzzzzz.part"  # another computer's write
    elsewhere.write_bytes(b"being written over a shared folder")
    ancient = tmp_path / ".abc.ora.1-0badc0de-oldoldol.part"
    ancient.write_bytes(b"left two days ago")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(ancient, (two_days_ago, two_days_ago))
    orphan_lock = tmp_path / "0123456789ab.lock"
    orphan_lock.write_bytes(b"")
    clean_after_crash(tmp_path)
    assert not dead.exists() and not ancient.exists() and not orphan_lock.exists()
    assert mine.exists() and elsewhere.exists()


def test_a_lock_file_that_cannot_be_opened_counts_as_live(tmp_path, rng):
    doc = Document.from_rgba(rng.integers(0, 256, (4, 4, 4), dtype=np.uint8))
    doc.mark_dirty()
    saver = Autosaver(tmp_path)
    saver.save(doc, None)
    saver._lock.release()  # the session died…
    saver._lock.path.unlink()
    saver._lock.path.mkdir()  # …and its lock file cannot be opened (here: a folder)
    assert find_recoveries(tmp_path) == []  # neither offered nor deleted
    clean_after_crash(tmp_path)
    assert saver.project_path.exists()


def test_atomic_write_that_fails_verification_keeps_the_old_file(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")

    def refuse(written):
        assert written.read_bytes() == b"new"
        raise ProjectFileError("does not read back")

    with pytest.raises(ProjectFileError), atomic_write(target, verify=refuse) as handle:
        handle.write(b"new")
    assert target.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [target]


def test_old_files_that_only_look_like_ours_are_never_deleted(tmp_path):
    """A user's own ".keep.png.my notes.part" beside an output is theirs, however old."""
    theirs = tmp_path / ".keep.png.my notes.part"
    theirs.write_text("data")
    dated = tmp_path / ".keep.png.20240101-cafebabe-v2.part"  # looks like ours, is not
    dated.write_text("data")
    ours = tmp_path / ".keep.png.1-0badc0de-abc12345.part"
    ours.write_text("half written")
    two_days_ago = time.time() - 2 * 24 * 3600
    for path in (theirs, dated, ours):
        os.utime(path, (two_days_ago, two_days_ago))
    atomic_write_bytes(tmp_path / "keep.png", b"new")
    assert theirs.exists() and dated.exists() and not ours.exists()


def test_a_long_name_is_written_and_a_failure_names_the_file_asked_for(tmp_path, monkeypatch):
    long_name = "L" * 250 + ".png"  # legal (254 bytes); the temporary name must not fail
    atomic_write_bytes(tmp_path / long_name, b"data")
    assert (tmp_path / long_name).read_bytes() == b"data"
    assert [p.name for p in tmp_path.iterdir()] == [long_name]
    wide = "\u5199" * 80 + ".png"  # 244 bytes of UTF-8: cut at a character, not inside one
    atomic_write_bytes(tmp_path / wide, b"data")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([long_name, wide])
    from colorstudio.core.io.atomic import _part_stem

    _part_stem(wide).encode("utf-8")  # whole characters only (raises on a cut one)

    def refused(src, dst):
        raise PermissionError(13, "Permission denied", src)  # as a read-only folder says it

    monkeypatch.setattr(os, "replace", refused)
    with pytest.raises(OSError) as caught:
        atomic_write_bytes(tmp_path / "out.png", b"data")
    assert caught.value.filename == str(tmp_path / "out.png")  # not ".out.png.123-….part"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([long_name, wide])
