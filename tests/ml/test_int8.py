"""Int8 graphs for the CPU: calibration, the export's own check against the float graphs,
the runtime's choice, the shipped stylizer's int8 pictures against its float ones, and the
``train onnx`` options that make them."""

import os

import numpy as np
import pytest
from PIL import Image

from colorstudio.ml import onnx_graphs
from colorstudio.ml.engine import Engine
from colorstudio.ml.manifest import ModelError, find_model, load_manifest
from colorstudio.ml.networks.graphs import GRAPHS
from colorstudio.ml.requests import ReferenceImage, StylizeRequest
from colorstudio.ml.runtime import Runtime
from colorstudio.ml.train import quantize
from colorstudio.ml.train.onnx_export import INT8_RECIPES, add_onnx
from colorstudio.ml.train.quantize import MIN_PSNR, Calibration, calibration_from

from .test_onnx import SHIPPED, shipped_copy


def pictures(folder, count: int, seed: int) -> list:
    """``count`` photo-like PNGs (smooth colour fields, an edge, grain) of assorted sizes."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(count):
        h, w = int(rng.integers(200, 300)), int(rng.integers(200, 340))
        yy, xx = np.mgrid[0:h, 0:w] / 40.0
        phase = rng.uniform(0, 6, 3)
        rgb = np.stack([np.sin(xx * (c + 1) / 2 + yy + phase[c]) for c in range(3)], -1)
        rgb = 128 + 90 * rgb + rng.normal(0, 8, rgb.shape)
        rgb[: h // 3] *= rng.uniform(0.5, 1.2)
        files.append(folder / f"{i:02d}.png")
        Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(files[-1])
    return files


@pytest.fixture(scope="module")
def int8_models(tmp_path_factory):
    """The shipped stylizer's graphs exported afresh, int8 ones calibrated on made-up photos
    and paintings (a random decoder is no test: its near-flat output quantizes badly)."""
    root = tmp_path_factory.mktemp("int8")
    models = shipped_copy(root, "stylize")
    pictures(root / "photos", 18, 1)
    pictures(root / "paintings", 3, 2)
    calibration = calibration_from([root / "photos"], [root / "paintings"])
    (graphs,) = add_onnx(models, None, calibration)
    return models, graphs, calibration


def test_calibration_takes_images_evenly_and_needs_real_folders(tmp_path):
    files = pictures(tmp_path / "p", 30, 3)
    pictures(tmp_path / "a", 2, 4)
    calibration = calibration_from([tmp_path / "p"], [tmp_path / "a"])
    assert len(calibration.photos) == 24 and len(calibration.paintings) == 2
    assert calibration.photos[0] == files[0] and calibration.photos[-1] != files[23]
    with pytest.raises(FileNotFoundError):
        calibration_from([tmp_path / "missing"], [tmp_path / "a"])


def test_export_writes_verified_int8_graphs_close_to_the_float_ones(int8_models):
    models, graphs, _ = int8_models
    entry = graphs.entry
    assert set(entry.onnx or {}) == {"encoder", "decoder", "encoder.int8", "decoder.int8"}
    assert graphs.int8_psnr is not None and graphs.int8_psnr >= MIN_PSNR
    (saved,) = load_manifest(models)
    assert saved.onnx_sha256 == entry.onnx_sha256
    for part in ("encoder", "decoder"):
        float_file, int8_file = (models / (entry.onnx or {})[p] for p in (part, f"{part}.int8"))
        # int8 weights: the graph is well under the fp16 one's size (weights dominate both)
        assert int8_file.stat().st_size < 0.8 * float_file.stat().st_size


def test_the_runtime_runs_int8_on_the_cpu_unless_told_not_to(int8_models):
    models, graphs, _ = int8_models
    entry = graphs.entry
    int8 = onnx_graphs.load_graph(entry, models, "cpu", "decoder")
    plain = onnx_graphs.load_graph(entry, models, "cpu", "decoder", quantized=False)
    assert int8 is not None and int8.int8 and int8.file.endswith(".int8.onnx")
    assert plain is not None and not plain.int8
    # on every core its threads do not spin after a run: the cores go to the work between
    # graphs; with cores to spare they may
    cores = os.cpu_count() or 1
    assert _spinning(int8.session(cores)) == "0"
    if cores > 1:
        assert _spinning(int8.session(cores - 1)) != "0"
    # a GPU runs the float graph (the int8 one's QDQ nodes would run there in float anyway)
    on_gpu = onnx_graphs.load_graph(entry, models, "cuda", "decoder")
    assert on_gpu is not None and not on_gpu.int8
    for quantized in (True, False):
        runtime = Runtime(models_dir=models, device="cpu", runtime="onnx", quantized=quantized)
        net = runtime.net("stylize", "decoder")
        assert isinstance(net, onnx_graphs.OnnxGraph) and net.int8 == quantized
        assert ("int8" in runtime.runtime_name()) == quantized


def test_an_int8_export_too_far_from_float_or_short_of_images_is_refused(
    tmp_path, int8_models, monkeypatch
):
    models, _, calibration = int8_models
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture")
    name = load_manifest(models)[0].name
    with pytest.raises(ModelError, match="at least 10 photos"):
        add_onnx(models, name, Calibration((broken,) * 12, calibration.paintings))
    monkeypatch.setattr(quantize, "MIN_PSNR", 80.0)  # a bar no int8 graph clears
    with pytest.raises(ModelError, match="differs from the float one"):
        add_onnx(models, name, calibration)
    # the refused exports left the model's graphs as they were
    assert onnx_graphs.load_graph(load_manifest(models)[0], models, part="encoder") is not None


def test_the_shipped_stylizer_ships_int8_graphs_an_older_runtime_can_open():
    import onnx

    for entry in load_manifest(SHIPPED):
        if entry.architecture in INT8_RECIPES:
            int8 = {f"{part}.int8" for part in GRAPHS[entry.architecture]}
            assert int8 <= set(entry.onnx or {}), entry.name
            for part in int8:
                model = onnx.load(SHIPPED / (entry.onnx or {})[part])
                # only the opsets its nodes use, at the float graphs' version: ONNX Runtime's
                # optimizer stamps every domain it knows, which older runtimes refuse
                assert [(o.domain, o.version) for o in model.opset_import] == [("", 17)]


def test_shipped_int8_stylizer_pictures_match_the_float_graphs(tmp_path):
    """The whole pipeline (encoder, AdaIN, both decoder passes, detail) on a photo-like image:
    the int8 picture is close to the float graphs' one. "Keep detail" adds the errors of two
    decoder passes (stylised − reconstruction), where the export's check (``MIN_PSNR``)
    measures one, so the bar here is 2 dB lower; on real photos the two paths are about 40 dB
    apart (docs/style.md)."""
    folder = shipped_copy(tmp_path, "stylize")
    (file,) = pictures(tmp_path / "photo", 1, 6)
    photo = np.asarray(Image.open(file).convert("RGB"))
    entry = find_model(folder, "stylize")
    assert entry is not None and "decoder.int8" in (entry.onnx or {})
    rng = np.random.default_rng(5)
    painting = np.clip(rng.normal(0, 1, (24, 24, 3)).cumsum(0) * 30 + 128, 0, 255)
    request = StylizeRequest(
        photo, style=ReferenceImage(painting.astype(np.uint8), "style"), strength=1.0, detail=1.0
    )
    out = []
    for quantized in (True, False):
        engine = Engine(models_dir=folder, device="cpu", runtime="onnx", quantized=quantized)
        out.append(np.asarray(engine.run(request).image, np.float64) / 255)
    error = float(np.mean((out[0] - out[1]) ** 2))
    assert 10 * np.log10(1 / max(error, 1e-12)) > MIN_PSNR - 2
    assert np.abs(out[1] - np.asarray(photo, np.float64) / 255).mean() > 0.02  # it styled


def test_train_onnx_makes_the_stylizers_int8_only_with_photos_and_paintings(tmp_path, capsys):
    from colorstudio.cli import main

    folder = shipped_copy(tmp_path, "stylize")
    with pytest.raises(SystemExit) as stopped:
        main(["train", "onnx", "--models", str(folder), "--paintings", str(tmp_path)])
    assert stopped.value.code == 2 and "needs --photos" in capsys.readouterr().err
    photos = str(tmp_path / "photos")
    pictures(tmp_path / "photos", 12, 7)
    with pytest.raises(SystemExit) as stopped:  # it would leave the stylizer float graphs only
        main(["train", "onnx", "--models", str(folder), "--photos", photos])
    assert stopped.value.code == 2 and "--name inpainter" in capsys.readouterr().err
    argv = ["train", "onnx", "--models", str(folder), "--photos", photos, "--name", "stylizer"]
    assert main(argv) == 2
    assert "int8 graphs need paintings" in capsys.readouterr().err
    assert main(["train", "onnx", "--models", str(folder)]) == 0
    assert "--photos and --paintings make its int8" in capsys.readouterr().out
    (entry,) = load_manifest(folder)
    assert set(entry.onnx or {}) == set(GRAPHS[entry.architecture])


def test_the_self_test_checks_the_float_graphs_beside_the_int8_ones(tmp_path):
    """A GPU runs the float graphs: a damaged one is reported even where int8 ones stand in
    for it on the CPU."""
    from colorstudio.selftest import check_installation

    folder = shipped_copy(tmp_path, "stylize")
    assert check_installation(folder) == []
    (entry,) = load_manifest(folder)
    decoder = folder / (entry.onnx or {})["decoder"]
    data = bytearray(decoder.read_bytes())
    data[len(data) // 2] ^= 0xFF
    decoder.write_bytes(bytes(data))
    (failure,) = check_installation(folder)
    assert decoder.name in failure


def _spinning(session) -> str | None:
    """A session's spinning option (None: not set, ONNX Runtime's default, which spins)."""
    try:
        return session.get_session_options().get_session_config_entry(onnx_graphs.SPINNING)
    except RuntimeError:
        return None
