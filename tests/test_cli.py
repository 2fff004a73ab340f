"""The command line: version, info, and the start-up check of torch/torchvision."""

import subprocess
import sys
from types import ModuleType

import pytest

from colorstudio import __version__, cli
from colorstudio.ml.environment import check_torch_stack


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"colorstudio {__version__}"


def test_info_prints_versions_device_and_model_folder(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    for key in ("colorstudio", "torch", "torchvision", "device", "model folder", "PySide6"):
        assert key in out
    assert "cpu" in out or "cuda" in out


def test_mismatched_torchvision_gives_one_clear_line():
    def importer(name):
        if name == "torchvision":
            raise RuntimeError("operator torchvision::nms does not exist")
        module = ModuleType("torch")
        module.__version__ = "2.13.0"
        return module

    status = check_torch_stack(importer)
    assert not status.ok
    assert "\n" not in status.message
    assert "torchvision does not match torch 2.13.0" in status.message
    assert 'pip install --upgrade "torch>=2.4" "torchvision>=0.19"' in status.message


def test_missing_torch_is_explained():
    def importer(name):
        raise ImportError("No module named 'torch'")

    status = check_torch_stack(importer)
    assert not status.ok and "PyTorch is not installed" in status.message


def test_the_runtime_check_accepts_either_runtime_and_names_it():
    """The app profile (ONNX Runtime, no torch) is a working installation; so is torch alone;
    neither, or a broken ONNX Runtime, is one clear line."""
    from colorstudio.ml.environment import check_runtime

    def importer(name):
        module = ModuleType(name)
        module.__version__ = "1.20.0"
        return module

    app = check_runtime(importer, installed=lambda name: name == "onnxruntime")
    assert app.ok and app.label == "ONNX Runtime 1.20.0"
    imported = []

    def recording(name):
        imported.append(name)
        return importer(name)

    both = check_runtime(recording, installed=lambda name: True)
    assert both.ok and imported == ["onnxruntime"]  # torch is not imported beside it
    none = check_runtime(importer, installed=lambda name: False)
    assert not none.ok and "onnxruntime" in none.message and "\n" not in none.message

    def broken(name):
        raise ImportError("libonnxruntime.so: cannot open shared object file")

    failed = check_runtime(broken, installed=lambda name: name == "onnxruntime")
    assert not failed.ok and "ONNX Runtime is broken" in failed.message


def test_info_exits_with_message_instead_of_traceback(monkeypatch, capsys):
    import colorstudio.ml.environment as environment

    def broken(importer=None):
        return environment.TorchStatus(
            False, "torchvision does not match torch 2.13.0. Fix: pip ...", "2.13.0"
        )

    monkeypatch.setattr(environment, "check_torch_stack", broken)
    monkeypatch.setattr(environment, "_installed", lambda name: name == "torch")  # no ONNX RT
    assert cli.main(["info"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not match" in err and "Traceback" not in err


def test_python_dash_m_help_runs_in_a_fresh_process():
    result = subprocess.run(
        [sys.executable, "-m", "colorstudio", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    assert "colorstudio" in result.stdout and "info" in result.stdout


def test_self_test_colorizes_with_the_shipped_model(tmp_path):
    """The packaged app's smoke test: window offscreen, default model, checked result."""
    import os

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "COLORSTUDIO_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "colorstudio", "--self-test"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert "model: colorizer" in result.stdout and "self-test passed" in result.stdout


def test_installation_check_passes_and_names_each_model(exported_colorizer, capsys):
    from colorstudio.selftest import check_installation

    assert check_installation(exported_colorizer) == []
    assert "model c (colorize) loaded in torch, hash verified" in capsys.readouterr().out


def test_installation_check_names_a_tampered_model(exported_colorizer):
    from colorstudio.selftest import check_installation

    path = exported_colorizer / "c.pt"
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    (failure,) = check_installation(exported_colorizer)
    assert "c.pt" in failure and "modified or damaged" in failure


def test_installation_check_reports_a_broken_torchvision(monkeypatch, tmp_path):
    """What a frozen build without torchvision's operator library printed before the fix."""
    from colorstudio.ml import environment
    from colorstudio.selftest import check_installation

    broken = environment.TorchStatus(False, "torchvision does not match torch. Fix: pip …")
    monkeypatch.setattr(environment, "check_torch_stack", lambda importer=None: broken)
    # (beside a working ONNX Runtime the torch pair is not checked: the app needs no torch)
    monkeypatch.setattr(environment, "_installed", lambda name: name == "torch")
    assert check_installation(tmp_path) == [broken.message]


def test_installation_check_reports_a_damaged_manifest(tmp_path):
    from colorstudio.selftest import check_installation

    (tmp_path / "manifest.json").write_text("{not json")
    (failure,) = check_installation(tmp_path)
    assert "manifest.json" in failure and "damaged" in failure


def test_a_mistyped_command_is_named_with_the_nearest_one(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["colorze", "in.png", "out.png"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "'colorze' is not a command" in err and "did you mean 'colorize'" in err
    assert cli.main(["frobnicate"]) == 2
    assert "did you mean" not in capsys.readouterr().err
    (tmp_path / "notes").write_bytes(b"")  # a file of that name is the editor's business
    assert cli._unknown_command("notes") is None
    assert cli._unknown_command("photo.png") is None  # a missing image: the editor says so


def test_the_british_spelling_is_the_colorize_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["colourize", "--help"])
    assert exit_info.value.code == 0
    assert "colorstudio colorize" in capsys.readouterr().out
