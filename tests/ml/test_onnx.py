"""The colourizer as an ONNX graph: export, verification, the runtime's choice, equality with
the torch path (shipped model and a freshly exported one), and the colourize pipeline on it."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from colorstudio.ml import onnx_graphs
from colorstudio.ml.engine import Engine
from colorstudio.ml.jobs import EngineError
from colorstudio.ml.manifest import ModelEntry, ModelError, find_model, load_manifest
from colorstudio.ml.networks.graphs import GRAPHS, colorizer_example
from colorstudio.ml.onnx_graphs import OnnxGraph
from colorstudio.ml.requests import ColorizeRequest
from colorstudio.ml.runtime import Runtime
from colorstudio.ml.torch_nets import TorchNet, torch_net
from colorstudio.ml.train.onnx_export import INT8_RECIPES, ONNX_TOLERANCE, add_onnx
from colorstudio.ml.weights import export_generator, load_model

SHIPPED = Path(__file__).resolve().parents[2] / "models"


def graph_and_torch(models_dir: Path, task: str = "colorize", part: str = "main"):
    entry = find_model(models_dir, task)
    assert entry is not None and entry.graph_file(part) is not None
    graph = onnx_graphs.load_graph(entry, models_dir, part=part, quantized=False)
    assert graph is not None
    model = load_model(entry, models_dir)
    return graph, torch_net(model, entry.architecture, part, "c", "cpu"), model, entry


def assert_graph_matches(graph, net: TorchNet, inputs: dict[str, np.ndarray]) -> None:
    """Every output within ONNX_TOLERANCE of torch's (relative to the output's scale where
    that is above 1: features), and a real output, not zeros on both sides."""
    outputs = zip(graph.run(2, None, **inputs), net.run(2, None, **inputs), strict=True)
    for got, expected in outputs:
        assert got.shape == expected.shape
        scale = max(1.0, float(np.abs(expected).max()))
        assert np.abs(got - expected).max() < ONNX_TOLERANCE * scale
        assert np.abs(expected).max() > 1e-3


SHIPPED_GRAPHS = [
    (entry.task, part) for entry in load_manifest(SHIPPED) for part in GRAPHS[entry.architecture]
]


@pytest.mark.parametrize(("task", "part"), SHIPPED_GRAPHS)
@pytest.mark.parametrize(("n", "h", "w"), [(1, 64, 96), (2, 256, 352), (1, 416, 160)])
def test_every_shipped_graph_equals_torch(task, part, n, h, w):
    graph, net, model, _ = graph_and_torch(SHIPPED, task, part)
    assert_graph_matches(graph, net, GRAPHS[model_architecture(task)][part].example(model, n, h, w))


def model_architecture(task: str) -> str:
    entry = find_model(SHIPPED, task)
    assert entry is not None
    return entry.architecture


def test_the_runtime_knows_each_architectures_graphs():
    from colorstudio.ml.manifest import ARCHITECTURES
    from colorstudio.ml.runtime import PARTS

    for task, architecture in ARCHITECTURES.items():
        assert PARTS[task] == tuple(GRAPHS[architecture]), task


def test_every_shipped_model_ships_its_graphs():
    for entry in load_manifest(SHIPPED):
        parts = set(GRAPHS[entry.architecture])
        int8 = {f"{part}.int8" for part in parts} if entry.architecture in INT8_RECIPES else set()
        assert set(entry.onnx or {}) - int8 == parts, entry.name
        for file in (entry.onnx or {}).values():
            assert (SHIPPED / file).is_file()


def test_export_writes_a_verified_graph_that_equals_torch(tmp_path, random_colorizer):
    models = tmp_path / "models"
    models.mkdir()
    export_generator(
        random_colorizer,
        name="tiny",
        task="colorize",
        architecture="colorizer_lite0",
        models_dir=models,
    )
    (graphs,) = add_onnx(models)
    entry = graphs.entry
    assert (
        graphs.int8_psnr is None
        and entry.onnx == {"main": "tiny.onnx"}
        and (models / "tiny.onnx").is_file()
    )
    saved = json.loads((models / "manifest.json").read_text())["models"][0]
    assert saved["onnx_sha256"] == entry.onnx_sha256
    assert len((entry.onnx_sha256 or {})["main"]) == 64
    # fp16 storage: the graph file is about half the fp32 size of the weights
    params = sum(p.numel() for p in random_colorizer.parameters())
    assert (models / "tiny.onnx").stat().st_size < params * 2.6
    graph, net, model, _ = graph_and_torch(models)
    assert_graph_matches(graph, net, colorizer_example(model, 1, 96, 64))


def shipped_copy(tmp_path, task: str = "colorize") -> Path:
    """A shipped model's files (weights, graphs) and manifest entry in a folder of their own."""
    folder = tmp_path / "models"
    folder.mkdir(exist_ok=True)
    entry = find_model(SHIPPED, task)
    assert entry is not None
    for name in (entry.file, *(entry.onnx or {}).values()):
        shutil.copy(SHIPPED / name, folder / name)
    raw = json.loads((SHIPPED / "manifest.json").read_text())
    kept = [m for m in raw["models"] if m["name"] == entry.name]
    (folder / "manifest.json").write_text(json.dumps({"models": kept}))
    return folder


def test_a_tampered_graph_is_refused_in_one_line(tmp_path):
    folder = shipped_copy(tmp_path)
    (entry,) = load_manifest(folder)
    graph_file = folder / (entry.onnx or {})["main"]
    data = bytearray(graph_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    graph_file.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"colorizer\.onnx has been modified .*SHA-256") as err:
        onnx_graphs.load_graph(entry, folder)
    assert "\n" not in str(err.value)
    engine = Engine(models_dir=folder, device="cpu", runtime="onnx")
    grey = np.full((64, 64, 3), 120, np.uint8)
    with pytest.raises(EngineError, match="modified or damaged"):
        engine.run(ColorizeRequest(image=grey, engine="gan"))


def test_a_graph_file_that_is_not_onnx_fails_clearly(tmp_path):
    folder = shipped_copy(tmp_path)
    (entry,) = load_manifest(folder)
    junk = b"not an onnx graph" * 10
    (folder / (entry.onnx or {})["main"]).write_bytes(junk)
    import hashlib

    raw = json.loads((folder / "manifest.json").read_text())
    raw["models"][0]["onnx_sha256"] = hashlib.sha256(junk).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(raw))
    (entry,) = load_manifest(folder)
    graph = onnx_graphs.load_graph(entry, folder)
    assert graph is not None
    with pytest.raises(ModelError, match="is not a usable ONNX graph") as err:
        graph.session(1)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"onnx": "../evil.onnx", "onnx_sha256": "0" * 64}, "not a path"),
        ({"onnx": "c.onnx"}, "onnx_sha256"),
        ({"onnx": "c.onnx", "onnx_sha256": "xyz"}, "onnx_sha256"),
        ({"onnx": {"a": "a.onnx"}, "onnx_sha256": {"b": "0" * 64}}, "onnx_sha256"),
        ({"onnx": {"a": "x/a.onnx"}, "onnx_sha256": {"a": "0" * 64}}, "not a path"),
        ({"onnx": 3, "onnx_sha256": "0" * 64}, "part names"),
    ],
)
def test_manifest_checks_the_onnx_fields(change, message):
    base = {"name": "c", "task": "colorize", "file": "c.pt", "architecture": "colorizer_lite0"}
    with pytest.raises(ModelError, match=message):
        ModelEntry.from_dict({**base, "sha256": "a" * 64, **change})
    entry = ModelEntry.from_dict({**base, "sha256": "a" * 64})
    assert entry.onnx is None and entry.onnx_sha256 is None
    # the first format, one file name, reads as the graph "main"
    single = ModelEntry.from_dict({**base, "sha256": "a" * 64, "onnx": "c.onnx",
                                   "onnx_sha256": "B" * 64})  # fmt: skip
    assert single.graph_file() == ("c.onnx", "b" * 64) and single.graph_file("encoder") is None


def test_the_runtime_setting_picks_what_runs_the_colorizer(tmp_path, monkeypatch, random_colorizer):
    folder = shipped_copy(tmp_path)
    assert isinstance(Runtime(models_dir=folder, device="cpu").colorizer_net(), OnnxGraph)
    on_torch = Runtime(models_dir=folder, device="cpu", runtime="torch").colorizer_net()
    assert isinstance(on_torch, TorchNet)
    monkeypatch.setenv("COLORSTUDIO_RUNTIME", "torch")
    assert "PyTorch" in Runtime(models_dir=folder, device="cpu").runtime_name()
    monkeypatch.setenv("COLORSTUDIO_RUNTIME", "onnx")
    assert Runtime(models_dir=folder, device="cpu").runtime_name().startswith("ONNX Runtime")
    # a colourizer handed over as a torch module is the model: it runs in torch
    given = Runtime(models_dir=folder, device="cpu", colorizer=random_colorizer)
    assert isinstance(given.colorizer_net(), TorchNet)
    with pytest.raises(EngineError, match="unknown runtime 'tf'"):
        Runtime(models_dir=folder, runtime="tf")
    raw = json.loads((folder / "manifest.json").read_text())
    raw["models"][0]["onnx"] = None
    (folder / "manifest.json").write_text(json.dumps(raw))
    with pytest.raises(EngineError, match="ships no ONNX graph"):
        Runtime(models_dir=folder, device="cpu", runtime="onnx").colorizer_net()
    monkeypatch.delenv("COLORSTUDIO_RUNTIME")
    assert isinstance(Runtime(models_dir=folder, device="cpu").colorizer_net(), TorchNet)


def test_colorize_on_onnx_runtime_matches_the_torch_path(tmp_path):
    """The whole pipeline (hint-free prediction, the hint model's features, the hinted pass,
    the fusion) on a photo-like image gives the same picture on either runtime."""
    folder = shipped_copy(tmp_path)
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:192, 0:256]
    grey = 110 + 60 * np.sin(xx / 19.0) * np.cos(yy / 23.0) + rng.normal(0, 6, xx.shape)
    grey = np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[..., None], 3, 2)
    hints = np.zeros((192, 256, 4), np.uint8)
    hints[40:48, 30:120] = (210, 60, 40, 255)
    hints[140:148, 120:220] = (40, 90, 210, 255)
    results = {}
    for runtime in ("torch", "onnx"):
        engine = Engine(models_dir=folder, device="cpu", runtime=runtime)
        results[runtime] = engine.run(ColorizeRequest(image=grey, hints=hints, engine="gan"))
    a, b = (np.asarray(r.image, np.int16) for r in results.values())
    assert a.shape == b.shape == (192, 256, 3)
    assert np.abs(a - b).mean() < 0.5 and np.abs(a - b).max() <= 12
    assert np.ptp(a[..., 0].astype(int) - a[..., 2]) > 20  # coloured, not grey on both


def test_train_onnx_command(tmp_path, capsys):
    from colorstudio.cli import main

    folder = shipped_copy(tmp_path)
    (folder / "colorizer.onnx").unlink()
    assert main(["train", "onnx", "--models", str(folder)]) == 0
    assert "wrote colorizer.onnx" in capsys.readouterr().out
    (entry,) = load_manifest(folder)
    graph = onnx_graphs.load_graph(entry, folder)
    assert graph is not None and graph.run(1, ["ab"], **colorizer_example())[0].shape[1] == 2
    empty = tmp_path / "empty"
    assert main(["train", "onnx", "--models", str(empty)]) == 2
    assert "no model" in capsys.readouterr().err and not empty.exists()


@pytest.mark.parametrize("task", ["stylize", "detect", "inpaint"])
def test_stylize_and_restore_on_onnx_runtime_match_the_torch_path(tmp_path, task):
    """The other pipelines (tiling, AdaIN between the stylizer's two graphs, the pull–push
    prefill, the hole windows) give the same picture or mask on either runtime."""
    from colorstudio.ml.requests import (
        DetectDamageRequest,
        ReferenceImage,
        RestoreRequest,
        StylizeRequest,
    )

    folder = shipped_copy(tmp_path, task)
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[0:160, 0:224]
    rgb = np.stack([120 + 60 * np.sin(xx / 13.0), 100 + 50 * np.cos(yy / 9.0), 90 + 0 * xx], -1)
    photo = np.clip(rgb + rng.normal(0, 5, rgb.shape), 0, 255).astype(np.uint8)
    damaged = photo.copy()
    damaged[60:62, 20:200] = 250  # a scratch
    mask = np.zeros((160, 224), np.uint8)
    mask[58:64, 18:202] = 255
    stripes = ((np.mgrid[0:96, 0:96].sum(0) // 6) % 2).astype(bool)[..., None]
    style = ReferenceImage(
        np.where(stripes, [30, 40, 200], [240, 220, 30]).astype(np.uint8), "style"
    )
    requests = {
        "stylize": StylizeRequest(photo, style=style, tile_size=128, tile_overlap=16),
        "detect": DetectDamageRequest(damaged, tile_size=128),
        "inpaint": RestoreRequest(damaged, mask=mask, engine="gan", tile_size=128),
    }
    out = {}
    for runtime in ("torch", "onnx"):  # the float graphs (int8 ones: test_int8.py)
        engine = Engine(models_dir=folder, device="cpu", runtime=runtime, quantized=False)
        result = engine.run(requests[task])
        out[runtime] = result.mask if task == "detect" else result.image
    a, b = (np.asarray(v, np.int16) for v in out.values())
    if task == "detect":
        assert (a != b).mean() < 0.001 and (a > 0).any()
    else:
        assert np.abs(a - b).max() <= 2
        assert (np.abs(a - np.asarray(requests[task].image, np.int16)) > 8).any()  # it did work


def test_the_pipelines_split_the_features_where_the_network_does():
    """colorize.FEATURES_8 (torch-free) is the colourizer's stride-8 width."""
    from colorstudio.ml import colorize
    from colorstudio.ml.networks import colorizer

    assert colorize.FEATURES_8 == colorizer.FEATURES_8


def test_without_a_graph_or_torch_auto_falls_back_to_the_classical_engine(tmp_path, monkeypatch):
    """A colourizer this installation cannot run (no graph, no PyTorch) is a ModelError: on
    auto the request is served by Levin from the hints, with a note saying why."""
    from colorstudio.ml import runtime

    folder = shipped_copy(tmp_path)
    raw = json.loads((folder / "manifest.json").read_text())
    raw["models"][0]["onnx"] = raw["models"][0]["onnx_sha256"] = None
    (folder / "manifest.json").write_text(json.dumps(raw))
    monkeypatch.setattr(runtime, "torch_installed", lambda: False)
    grey = np.full((48, 64, 3), 120, np.uint8)
    hints = np.zeros((48, 64, 4), np.uint8)
    hints[10:14, 10:20] = (200, 40, 40, 255)
    result = Engine(models_dir=folder, device="cpu").run(ColorizeRequest(grey, hints=hints))
    assert result.engine == "levin"
    assert any("ships no ONNX graph and PyTorch is not installed" in n for n in result.notes)


def test_a_model_name_cannot_place_a_graph_outside_the_folder():
    from colorstudio.ml.train.onnx_export import graph_file_name

    entry = ModelEntry("../evil", "colorize", "c.pt", "colorizer_lite0", "a" * 64)
    with pytest.raises(ModelError, match="not a path"):
        graph_file_name(entry, "main")
    assert graph_file_name(ModelEntry("s", "stylize", "s.pt", "a", "a" * 64), "encoder") == (
        "s.encoder.onnx"
    )


def test_an_onnx_graph_out_of_gpu_memory_runs_on_the_cpu(monkeypatch):
    """ONNX Runtime's allocation failure on the GPU: a tiled caller is told to retry smaller
    (a RuntimeError that reads as out of memory), the last try reruns the step on the CPU
    execution provider, with a note."""
    from colorstudio.ml.jobs import Job, is_oom

    entry = find_model(SHIPPED, "detect")
    assert entry is not None
    graph = onnx_graphs.load_graph(entry, SHIPPED, device="cuda")
    assert graph is not None
    real = graph.run

    def failing(*args, **kwargs):
        raise RuntimeError("Failed to allocate memory for requested buffer of size 1073741824")

    monkeypatch.setattr(graph, "run", failing)
    runtime = Runtime(models_dir=SHIPPED, device="cpu")
    inputs = colorizer_example()  # (not read: the graph fails first)
    with pytest.raises(RuntimeError) as err:
        runtime.run_net(graph, Job(), cpu_fallback=False, **inputs)
    assert is_oom(err.value)
    job = Job()
    image = GRAPHS["detector_unet"]["main"].example(None, 1, 64, 96)
    (prob,) = runtime.run_net(graph, job, **image)
    assert job.notes == ["GPU out of memory: this step ran on the CPU"]
    assert np.array_equal(prob, real(1, None, **image)[0])
