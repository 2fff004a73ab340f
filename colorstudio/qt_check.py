"""Before the window opens on Linux: can Qt's X11 (xcb) platform plugin load its libraries?

Qt's own message when one is missing names only xcb-cursor0, whatever is missing, and aborts.
We ask the dynamic loader (``ldd``) what the plugin and Qt's xcb library lack and name the
Debian/Ubuntu packages that hold them. Qt-free: runs before anything imports PySide6's GUI.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

#: The packages a minimal Debian/Ubuntu lacks for Qt's xcb plugin (README: set-up).
XCB_PACKAGES = (
    "libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 "
    "libxcb-shape0 libxcb-randr0 libxcb-xkb1 libxkbcommon-x11-0"
)


def wants_xcb(environ: dict[str, str] | None = None) -> bool:
    """Whether Qt will use its xcb plugin: Linux, and no other platform asked for."""
    env = os.environ if environ is None else environ
    platform = env.get("QT_QPA_PLATFORM", "")
    if not sys.platform.startswith("linux") or (platform and not platform.startswith("xcb")):
        return False
    return platform.startswith("xcb") or not env.get("WAYLAND_DISPLAY")


def _xcb_files() -> list[Path]:
    import PySide6  # the package only: no Qt library is loaded by this

    qt = Path(PySide6.__file__).parent / "Qt"
    return [qt / "plugins" / "platforms" / "libqxcb.so", *sorted(qt.glob("lib/libQt6XcbQpa.so*"))]


def missing_libraries(files: list[Path] | None = None) -> list[str]:
    """Shared libraries the xcb plugin needs and the loader cannot find (sonames)."""
    missing: list[str] = []
    for path in files if files is not None else _xcb_files():
        if not path.exists():
            continue
        try:
            listing = subprocess.run(
                ["ldd", str(path)], capture_output=True, text=True, timeout=20
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return []  # no ldd: let Qt try
        for name in re.findall(r"^\s*(\S+) => not found", listing, re.MULTILINE):
            if name not in missing:
                missing.append(name)
    return missing


def package_of(soname: str) -> str:
    """The Debian package that ships a library: libxcb-icccm.so.4 -> libxcb-icccm4,
    libxkbcommon-x11.so.0 -> libxkbcommon-x11-0 (Debian's naming policy)."""
    match = re.fullmatch(r"(lib[\w+.-]*?)\.so\.(\d+)(?:\..*)?", soname)
    if not match:
        return soname
    name, version = match.group(1).lower(), match.group(2)
    return f"{name}-{version}" if name[-1].isdigit() else f"{name}{version}"


def startup_problem(environ: dict[str, str] | None = None) -> str | None:
    """One line naming what is missing and how to install it, or None when the window can
    start (or we cannot tell): no display to open it on (over ssh, say), or libraries."""
    env = os.environ if environ is None else environ
    if not wants_xcb(env):
        return None
    if not env.get("DISPLAY"):
        return (
            "the window cannot start: there is no display (DISPLAY is not set); run it on a "
            "desktop, or use the command line (colorstudio --help)"
        )
    missing = missing_libraries()
    if not missing:
        return None
    packages = " ".join(dict.fromkeys(package_of(name) for name in missing))
    return (
        f"the window cannot start: Qt's X11 plugin needs {', '.join(missing)}; install them "
        f"with: sudo apt-get install {packages}"
    )
