"""The inpainter's int8 graph: made from photos alone, checked inside the holes, preferred by
the runtime on the CPU, and filling like the float graph while every other pixel stays."""

import numpy as np
import pytest
from PIL import Image

from colorstudio.ml import onnx_graphs
from colorstudio.ml.engine import Engine
from colorstudio.ml.manifest import load_manifest
from colorstudio.ml.requests import RestoreRequest
from colorstudio.ml.train.onnx_export import add_onnx
from colorstudio.ml.train.quantize import MIN_PSNR, calibration_from

from .test_int8 import pictures
from .test_onnx import shipped_copy


@pytest.fixture(scope="module")
def int8_inpainter(tmp_path_factory):
    root = tmp_path_factory.mktemp("int8_inpaint")
    models = shipped_copy(root, "inpaint")
    pictures(root / "photos", 18, 11)
    (graphs,) = add_onnx(models, None, calibration_from([root / "photos"], []))
    return models, graphs, root


def test_photos_alone_make_the_inpainters_int8_graph(int8_inpainter):
    models, graphs, _ = int8_inpainter
    entry = graphs.entry
    assert set(entry.onnx or {}) == {"main", "main.int8"}
    assert (entry.onnx or {})["main.int8"] == "inpainter.int8.onnx"
    assert graphs.int8_psnr is not None and graphs.int8_psnr >= MIN_PSNR
    (saved,) = load_manifest(models)
    assert saved.onnx_sha256 == entry.onnx_sha256
    graph = onnx_graphs.load_graph(saved, models, "cpu")
    assert graph is not None and graph.int8


def test_the_int8_fill_is_close_to_the_float_one_and_nothing_else_changes(int8_inpainter):
    models, _, root = int8_inpainter
    photo = np.asarray(Image.open(root / "photos" / "03.png").convert("RGB"))
    mask = np.zeros(photo.shape[:2], np.uint8)
    mask[40:48, 20:-20] = 255  # a scratch across the photo
    mask[100:130, 60:90] = 255  # and a lost patch
    out = []
    for quantized in (True, False):
        engine = Engine(models_dir=models, device="cpu", runtime="onnx", quantized=quantized)
        result = engine.run(RestoreRequest(photo, mask))
        assert "int8" in engine.runtime_name() if quantized else "int8" not in engine.runtime_name()
        out.append(np.asarray(result.image[..., :3], np.float64))
    hole = mask > 0
    for image in out:
        assert np.array_equal(image[~hole], photo[~hole])
    error = np.mean(((out[0] - out[1])[hole] / 255) ** 2)
    assert 10 * np.log10(1 / max(error, 1e-12)) > MIN_PSNR - 2
    assert np.abs(out[1][hole] - photo[hole]).mean() > 1  # it filled
