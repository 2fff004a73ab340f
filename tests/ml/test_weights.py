"""Exported weights: manifest, SHA-256 check, weights_only strict loading, clear errors."""

import json
import pickle

import pytest
import torch

from colorstudio.ml.networks import define_generator
from colorstudio.ml.weights import (
    ModelError,
    export_generator,
    find_model,
    load_manifest,
    load_model,
    sha256_file,
)


@pytest.fixture
def exported(tmp_path, random_colorizer):
    entry = export_generator(
        random_colorizer,
        name="colorizer-test",
        task="colorize",
        architecture="colorizer_lite0",
        models_dir=tmp_path,
    )
    return tmp_path, entry


def test_export_writes_fp16_file_and_manifest(exported):
    folder, entry = exported
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["models"][0]["sha256"] == entry.sha256 and len(entry.sha256) == 64
    state = torch.load(folder / entry.file, weights_only=True)
    floats = [v for v in state.values() if v.is_floating_point()]
    assert floats and all(v.dtype == torch.float16 for v in floats)
    assert find_model(folder, "colorize").name == "colorizer-test"
    assert find_model(folder, "stylize") is None


def test_loaded_model_matches_the_original(exported, random_colorizer):
    folder, entry = exported
    model = load_model(entry, folder)
    args = (torch.rand(1, 1, 64, 64) * 2 - 1, torch.zeros(1, 3, 64, 64), torch.zeros(1, 71))
    with torch.no_grad():
        assert torch.allclose(model(*args), random_colorizer(*args), atol=2e-3)  # fp16 storage


def test_tampered_file_is_refused(exported):
    folder, entry = exported
    data = bytearray((folder / entry.file).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / entry.file).write_bytes(bytes(data))
    with pytest.raises(ModelError, match=rf"{entry.file} has been modified or damaged"):
        load_model(entry, folder)


def test_missing_file(exported):
    folder, entry = exported
    (folder / entry.file).unlink()
    with pytest.raises(ModelError, match=rf"model file {entry.file} is missing"):
        load_model(entry, folder)


def test_wrong_state_dict_is_refused(tmp_path):
    other = define_generator("colorizer_lite0", pretrained=False, widths=(64, 48, 32, 16, 8))
    entry = export_generator(
        other, name="narrow", task="colorize", architecture="colorizer_lite0", models_dir=tmp_path
    )
    wrong = entry.__class__(**{**entry.__dict__, "config": {}})  # manifest claims default widths
    with pytest.raises(ModelError, match="does not fit architecture 'colorizer_lite0'"):
        load_model(wrong, tmp_path)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_pickled_code_is_never_executed(tmp_path, exported, capsys):
    folder, entry = exported

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    evil = folder / "evil.pt"
    evil.write_bytes(pickle.dumps({"x": Evil()}))
    bad = entry.__class__(**{**entry.__dict__, "file": "evil.pt", "sha256": sha256_file(evil)})
    with pytest.raises(ModelError, match="not a valid weights file") as caught:
        load_model(bad, folder)
    assert "pwned" not in capsys.readouterr().out
    # one line, without torch's advice to turn weights_only off
    assert "\n" not in str(caught.value) and "weights_only" not in str(caught.value)


def test_damaged_manifest(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ModelError, match="manifest.json is damaged"):
        load_manifest(tmp_path)
    assert load_manifest(tmp_path / "empty") == []


def test_warm_start_adds_a_block_to_trained_weights(tmp_path):
    from colorstudio.ml.networks.restore import DamageDetector
    from colorstudio.ml.weights import warm_start

    torch.manual_seed(0)
    old = DamageDetector().eval()
    torch.save(old.state_dict(), tmp_path / "old.pt")
    grown = DamageDetector(context=(2, 4)).eval()
    added = warm_start(grown, tmp_path / "old.pt")
    assert added and all(name.startswith("context.") for name in added)
    x = torch.rand(1, 3, 32, 40)
    with torch.no_grad():
        assert torch.allclose(grown(x), old(x), atol=1e-6)  # the new block starts as identity
    smaller = DamageDetector(widths=(8, 16, 32, 48))
    with pytest.raises(ModelError, match="does not fit"):
        warm_start(smaller, tmp_path / "old.pt")


def test_a_re_export_keeps_the_models_order_in_the_manifest(tmp_path):
    torch.manual_seed(0)
    nets = {name: define_generator("detector_unet", widths=(4, 8, 8, 8)) for name in "abc"}
    for name, net in nets.items():
        export_generator(net, name=name, task="detect", architecture="detector_unet",
                         models_dir=tmp_path)  # fmt: skip
    with torch.no_grad():
        next(nets["a"].parameters()).add_(1.0)  # retrained
    entry = export_generator(nets["a"], name="a", task="detect", architecture="detector_unet",
                             models_dir=tmp_path)  # fmt: skip
    entries = load_manifest(tmp_path)
    assert [e.name for e in entries] == ["a", "b", "c"]
    assert entries[0].sha256 == entry.sha256
