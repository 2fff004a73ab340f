"""Models that cannot be used: damaged or tampered files, pickled code, bad manifests, files
outside the model folder. Every refusal is one line naming the file; "auto" falls back to a
classical engine and says why."""

import json
import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from colorstudio.ml.engine import Engine, EngineError
from colorstudio.ml.manifest import ModelEntry, ModelError, find_model, load_manifest
from colorstudio.ml.requests import ColorizeRequest, ReferenceImage
from colorstudio.ml.weights import build_and_load, load_model, sha256_file

SHIPPED_MANIFEST = Path(__file__).resolve().parents[2] / "models" / "manifest.json"


class Gadget:
    """An arbitrary Python object: torch.save pickles it, weights_only=True must refuse it."""

    def __init__(self) -> None:
        self.payload = [1, 2, 3]


def entries(models: Path) -> dict:
    return json.loads((models / "manifest.json").read_text())


def rewrite_entry(models: Path, **changes) -> None:
    """Change (or, with None, delete) fields of the first manifest entry."""
    data = entries(models)
    for key, value in changes.items():
        if value is None:
            data["models"][0].pop(key, None)
        else:
            data["models"][0][key] = value
    (models / "manifest.json").write_text(json.dumps(data))


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def replace_weights(models: Path, content: bytes) -> None:
    """Put ``content`` in c.pt with the manifest's hash updated: only the content is wrong."""
    (models / "c.pt").write_bytes(content)
    rewrite_entry(models, sha256=sha256_file(models / "c.pt"))


def pickled_object() -> bytes:
    import io

    buffer = io.BytesIO()
    torch.save({"weight": Gadget()}, buffer)
    return buffer.getvalue()


def assert_one_line(message: str, *parts: str) -> None:
    assert "\n" not in message and "\r" not in message, message
    assert "weights_only" not in message, message
    for part in parts:
        assert part in message, message


@pytest.fixture
def image():
    yy, xx = np.mgrid[0:48, 0:64]
    grey = (40 + 2 * xx + yy).clip(0, 255).astype(np.uint8)
    return np.dstack([grey] * 3)


@pytest.fixture
def hints():
    layer = np.zeros((48, 64, 4), np.uint8)
    layer[10:14, 10:14] = (220, 40, 40, 255)
    layer[30:34, 50:54] = (40, 60, 220, 255)
    return layer


def engine(models: Path) -> Engine:
    return Engine(models_dir=models, device="cpu", threads=1)


# ---------------------------------------------------------------- "auto" says why it fell back
def test_auto_with_a_tampered_colorizer_uses_levin_and_says_why(exported_colorizer, image, hints):
    flip_a_byte(exported_colorizer / "c.pt")
    result = engine(exported_colorizer).run(ColorizeRequest(image, hints=hints))
    assert result.engine == "levin"
    (note,) = [n for n in result.notes if "c.pt" in n]
    assert_one_line(note, "modified or damaged", "SHA-256", "used Levin instead")


def test_auto_with_a_file_that_is_not_torch_uses_reinhard_and_says_why(exported_colorizer, image):
    replace_weights(exported_colorizer, b"this is not a torch file at all\n" * 40)
    palette = ReferenceImage(np.full((8, 8, 3), (200, 120, 40), np.uint8), "palette")
    result = engine(exported_colorizer).run(ColorizeRequest(image, references=(palette,)))
    assert result.engine == "reinhard"
    (note,) = [n for n in result.notes if "c.pt" in n]
    assert_one_line(note, "not a valid weights file", "used Reinhard instead")


def test_auto_with_nothing_classical_to_run_names_the_damaged_model(exported_colorizer, image):
    flip_a_byte(exported_colorizer / "c.pt")
    with pytest.raises(EngineError) as caught:
        engine(exported_colorizer).run(ColorizeRequest(image))
    message = str(caught.value)
    assert_one_line(message, "c.pt", "modified or damaged", "paint colour hints")
    assert "no colourization model is installed" not in message


def test_the_cli_prints_why_auto_fell_back(exported_colorizer, tmp_path, image, hints, capsys):
    from PIL import Image

    from colorstudio import cli

    flip_a_byte(exported_colorizer / "c.pt")
    photo = tmp_path / "grey.png"
    Image.fromarray(image).save(photo)
    spots = [{"x": 12, "y": 12, "radius": 3, "rgb": [220, 40, 40]}]
    (tmp_path / "hints.json").write_text(json.dumps(spots))
    out = tmp_path / "out.png"
    args = [str(photo), str(out), "--models", str(exported_colorizer), "--device", "cpu"]
    assert cli.main(["colorize", *args, "--hints", str(tmp_path / "hints.json")]) == 0
    printed = capsys.readouterr().out
    assert "levin" in printed and "c.pt has been modified or damaged" in printed


# ---------------------------------------------------------------- "gan": one line, no torch advice
@pytest.mark.parametrize(
    "damage, reason",
    [
        ("pickled", "not a valid weights file (it holds pickled code or is damaged)"),
        ("garbage", "not a valid weights file"),
        ("tensor", "does not hold a dictionary of tensors"),
        ("tampered", "modified or damaged"),
    ],
)
def test_gan_refuses_a_bad_file_in_one_line(exported_colorizer, image, damage, reason):
    models = exported_colorizer
    if damage == "pickled":
        replace_weights(models, pickled_object())
    elif damage == "garbage":
        replace_weights(models, bytes(range(256)) * 8)
    elif damage == "tensor":
        torch.save(torch.zeros(3), models / "c.pt")
        rewrite_entry(models, sha256=sha256_file(models / "c.pt"))
    else:
        flip_a_byte(models / "c.pt")
    with pytest.raises(EngineError) as caught:
        engine(models).run(ColorizeRequest(image, engine="gan"))
    assert_one_line(str(caught.value), "c.pt", reason, "reinstall")
    (entry,) = load_manifest(models)
    with pytest.raises(ModelError) as direct:
        load_model(entry, models)
    assert_one_line(str(direct.value), "c.pt", reason)


def test_a_pickled_object_is_refused_without_being_built(exported_colorizer, monkeypatch):
    built = []
    monkeypatch.setattr(Gadget, "__setstate__", lambda self, state: built.append(state), False)
    replace_weights(exported_colorizer, pickled_object())
    (entry,) = load_manifest(exported_colorizer)
    with pytest.raises(ModelError, match="pickled code"):
        load_model(entry, exported_colorizer)
    assert built == []


# ---------------------------------------------------------------- the manifest's schema
def shipped_copy(folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    shutil.copy(SHIPPED_MANIFEST, folder / "manifest.json")
    return folder


def test_the_shipped_manifest_passes_the_schema(tmp_path):
    names = [e.name for e in load_manifest(shipped_copy(tmp_path / "m"))]
    assert names == ["colorizer", "detector", "stylizer", "inpainter"]


@pytest.mark.parametrize(
    "key, value",
    [
        ("config", [1, 2]),
        ("config", "hint_spread"),
        ("sha256", "abc123"),
        ("sha256", "g" * 64),
        ("sha256", 12),
        ("working_size", 0),
        ("working_size", -256),
        ("working_size", "256"),
        ("working_size", 25.6),
        ("working_size", True),
        ("name", 7),
        ("name", ""),
        ("task", "sharpen"),
        ("task", ["colorize"]),
        ("file", ["colorizer.pt"]),
        ("file", "../outside/colorizer.pt"),
        ("architecture", 3),
        ("architecture", "stylizer_adain"),  # another task's network under a colorize entry
        ("card", 5),
        ("card", "../../etc/passwd"),
        ("dtype", 16),
    ],
)
def test_a_bad_field_is_one_line_naming_the_manifest_and_entry(tmp_path, key, value):
    folder = shipped_copy(tmp_path / "m")
    rewrite_entry(folder, **{key: value})
    with pytest.raises(ModelError) as caught:
        load_manifest(folder)
    assert_one_line(str(caught.value), "manifest.json", "entry 1", f"'{key}'")


@pytest.mark.parametrize("key", ["name", "task", "file", "architecture", "sha256"])
def test_a_missing_required_field_is_named(tmp_path, key):
    folder = shipped_copy(tmp_path / "m")
    rewrite_entry(folder, **{key: None})
    with pytest.raises(ModelError) as caught:
        find_model(folder, "colorize")
    assert_one_line(
        str(caught.value), "manifest.json", "entry 1", f"lacks the required field '{key}'"
    )


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\xff\xfe\x00garbage",
        b"[]",
        b"null",
        b'{"models": {}}',
        b'{"models": [3]}',
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
def test_a_manifest_that_is_not_a_list_of_models_is_one_line(tmp_path, content):
    (tmp_path / "manifest.json").write_bytes(content)
    with pytest.raises(ModelError) as caught:
        load_manifest(tmp_path)
    assert_one_line(str(caught.value), "manifest.json", "is damaged")


def test_uppercase_hex_is_accepted_as_the_same_hash(exported_colorizer):
    rewrite_entry(
        exported_colorizer, sha256=entries(exported_colorizer)["models"][0]["sha256"].upper()
    )
    (entry,) = load_manifest(exported_colorizer)
    assert load_model(entry, exported_colorizer) is not None


@pytest.mark.parametrize(
    "change, words",
    [
        ({"config": {"bogus_option": 1}}, ["c.pt", "'colorizer_lite0'", "bogus_option"]),
        ({"architecture": "colorizer_v9"}, ["c.pt", "'colorizer_v9'"]),  # a newer version's?
        ({"config": {"widths": "wide"}}, ["c.pt", "'colorizer_lite0'"]),
    ],
)
def test_a_config_or_architecture_that_builds_no_network_is_one_line(
    exported_colorizer, image, change, words
):
    rewrite_entry(exported_colorizer, **change)
    (entry,) = load_manifest(exported_colorizer)
    with pytest.raises(ModelError) as caught:
        load_model(entry, exported_colorizer)
    assert_one_line(str(caught.value), *words)
    with pytest.raises(EngineError) as through_engine:
        engine(exported_colorizer).run(ColorizeRequest(image, engine="gan"))
    assert_one_line(str(through_engine.value), *words)


def test_build_and_load_refuses_a_config_that_is_not_a_dict():
    with pytest.raises(ModelError, match="config"):
        build_and_load("colorizer_lite0", ["hint_spread"], {}, "c.pt")


def test_a_state_that_does_not_fit_is_one_line(exported_colorizer):
    state = {"head.weight": torch.zeros(1)}
    with pytest.raises(ModelError) as caught:
        build_and_load("colorizer_lite0", {}, state, "c.pt")
    assert_one_line(str(caught.value), "c.pt does not fit architecture 'colorizer_lite0'")
    assert "Error(s) in loading" not in str(caught.value)


def test_find_model_by_name_keeps_to_the_task(tmp_path):
    folder = shipped_copy(tmp_path / "m")
    assert find_model(folder, "colorize", "stylizer") is None
    assert find_model(folder, "stylize", "stylizer").task == "stylize"


# ---------------------------------------------------------------- confined to the model folder
@pytest.fixture
def outside(tmp_path, exported_colorizer):
    """A valid copy of the colourizer outside the model folder."""
    folder = tmp_path / "outside"
    folder.mkdir()
    shutil.copy(exported_colorizer / "c.pt", folder / "colorizer.pt")
    return folder / "colorizer.pt"


@pytest.mark.parametrize(
    "name", ["../outside/colorizer.pt", "OUTSIDE", "..", "sub/c.pt", "..\\outside\\c.pt", "C:c.pt"]
)
def test_a_file_name_that_is_a_path_is_refused(exported_colorizer, outside, name):
    name = str(outside) if name == "OUTSIDE" else name
    rewrite_entry(exported_colorizer, file=name)
    with pytest.raises(ModelError) as caught:
        load_manifest(exported_colorizer)
    assert_one_line(str(caught.value), "manifest.json", "'file'", "file name")
    entry = ModelEntry("c", "colorize", name, "colorizer_lite0", sha256_file(outside))
    with pytest.raises(ModelError) as direct:  # an entry made in code is held to the same rule
        load_model(entry, exported_colorizer)
    assert_one_line(str(direct.value), "file name")


def symlink_or_skip(link: Path, target: Path) -> None:
    try:
        os.symlink(target, link)
    except (OSError, NotImplementedError):
        pytest.skip("this system cannot make symbolic links")


def test_a_symlinked_model_file_is_refused(exported_colorizer, outside, image):
    (exported_colorizer / "c.pt").unlink()
    symlink_or_skip(exported_colorizer / "c.pt", outside)  # same bytes: the hash matches
    (entry,) = load_manifest(exported_colorizer)
    with pytest.raises(ModelError) as caught:
        load_model(entry, exported_colorizer)
    assert_one_line(str(caught.value), "c.pt", "symbolic link")
    with pytest.raises(EngineError, match="symbolic link"):
        engine(exported_colorizer).run(ColorizeRequest(image, engine="gan"))


def test_a_symlink_within_the_folder_is_refused_too(exported_colorizer):
    (exported_colorizer / "c.pt").rename(exported_colorizer / "real.pt")
    symlink_or_skip(exported_colorizer / "c.pt", Path("real.pt"))
    (entry,) = load_manifest(exported_colorizer)
    with pytest.raises(ModelError, match="symbolic link"):
        load_model(entry, exported_colorizer)


def test_a_model_folder_reached_through_a_symlink_still_loads(exported_colorizer, tmp_path):
    link = tmp_path / "models-link"
    symlink_or_skip(link, exported_colorizer)
    (entry,) = load_manifest(link)
    assert load_model(entry, link) is not None


# ---------------------------------------------------------------- the UI / CLI listings
@pytest.fixture
def bad_manifest(tmp_path, monkeypatch):
    """The shipped manifest with a config that is not an object (load_model used to crash)."""
    folder = shipped_copy(tmp_path / "bad-models")
    rewrite_entry(folder, config=["hint_spread"])
    monkeypatch.setenv("COLORSTUDIO_MODELS_DIR", str(folder))
    return folder


def test_the_self_test_reports_a_bad_manifest_in_one_line(bad_manifest):
    from colorstudio.selftest import check_installation

    (failure,) = check_installation(bad_manifest)
    assert_one_line(failure, "manifest.json", "'colorizer'", "'config'")


def test_cli_info_lists_a_bad_manifest_in_one_line(bad_manifest, capsys):
    from colorstudio import cli

    cli.main(["info"])
    (row,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("models ")]
    assert "manifest.json" in row and "'config'" in row


def test_the_editor_copes_with_a_bad_manifest(bad_manifest):
    pytest.importorskip("PySide6")
    from colorstudio.ui.main_window import MainWindow
    from colorstudio.ui.settings_dialog import colorizer_names

    assert colorizer_names() == []
    window = SimpleNamespace(editor_settings=SimpleNamespace(colorizer=""))
    assert MainWindow._model_label(window) == "model: damaged manifest"
