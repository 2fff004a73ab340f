"""Starting on a minimal Linux: the missing X11 libraries and their packages, in one line."""

import subprocess

from colorstudio import cli, qt_check


def test_packages_are_named_after_the_missing_libraries():
    assert qt_check.package_of("libxcb-icccm.so.4") == "libxcb-icccm4"
    assert qt_check.package_of("libxcb-keysyms.so.1") == "libxcb-keysyms1"
    assert qt_check.package_of("libxkbcommon-x11.so.0") == "libxkbcommon-x11-0"
    assert qt_check.package_of("libxcb-cursor.so.0.0.0") == "libxcb-cursor0"


def test_only_xcb_is_checked():
    assert not qt_check.wants_xcb({"QT_QPA_PLATFORM": "offscreen"})
    assert not qt_check.wants_xcb({"WAYLAND_DISPLAY": "wayland-0"})
    assert qt_check.wants_xcb({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"})


def test_a_missing_library_is_one_line_with_the_apt_command(monkeypatch, tmp_path, capsys):
    plugin = tmp_path / "libqxcb.so"
    plugin.write_bytes(b"")
    ldd = (
        "\tlinux-vdso.so.1 (0x00007ffd)\n"
        "\tlibxcb-icccm.so.4 => not found\n"
        "\tlibxcb-keysyms.so.1 => not found\n"
        "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n"
    )

    def run(args, **kwargs):
        assert args[0] == "ldd"
        return subprocess.CompletedProcess(args, 0, ldd, "")

    monkeypatch.setattr(qt_check.subprocess, "run", run)
    monkeypatch.setattr(qt_check, "_xcb_files", lambda: [plugin])
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setenv("DISPLAY", ":0")
    assert cli.main([]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in err
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1" in err


def test_no_display_is_one_line_not_qts_abort():
    problem = qt_check.startup_problem({})
    if not qt_check.wants_xcb({}):  # not Linux: Qt has its own platforms
        assert problem is None
        return
    assert problem is not None and "no display" in problem and "\n" not in problem
    assert qt_check.startup_problem({"QT_QPA_PLATFORM": "offscreen"}) is None
