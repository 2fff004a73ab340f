"""The stylize pipeline through the engine: "keep detail", the photo's reconstruction reused,
the mirrored margin, tiles under (simulated) out-of-memory errors, the CPU fallback, and
cancellation between tiles."""

import numpy as np
import pytest
import torch
from torch import nn

from colorstudio.ml.engine import Engine, EngineError
from colorstudio.ml.jobs import Cancelled, CancelToken, Job
from colorstudio.ml.requests import ReferenceImage, StylizeRequest
from tests.ml.conftest import grey_photo


class OomAboveStylizer(nn.Module):
    """Wraps a stylizer as the runtime calls it (``encode``, ``decoder_graph``): records what the
    encoder sees and each decoding's tile size and whether it also reconstructs (a batch of
    two); decoding a tile above ``limit`` px raises a (simulated) out-of-memory error."""

    def __init__(self, inner, limit):
        super().__init__()
        self.inner = inner
        self.level = inner.level
        self.channels = inner.channels
        self.limit = limit
        self.seen = []
        self.tile_sizes = []
        self.reconstructs = []
        self.watched = _WatchedDecoder(self)

    def decoder_graph(self):
        return self.watched

    def encode(self, x):
        self.seen.append(x.clone())
        return self.inner.encode(x)


class _WatchedDecoder(nn.Module):
    def __init__(self, owner):
        super().__init__()
        self.owner = [owner]  # (a list: not a submodule, no cycle)
        self.graph = owner.inner.decoder_graph()

    def forward(self, features):
        owner = self.owner[0]
        stride = 4 if owner.level == 3 else 8
        size = max(features.shape[-2:]) * stride
        owner.tile_sizes.append(size)
        owner.reconstructs.append(features.shape[0] == 2)
        if size > owner.limit:
            raise torch.OutOfMemoryError(
                "CUDA out of memory. Tried to allocate 2.00 GiB (simulated)"
            )
        return self.graph(features)


@pytest.fixture(scope="module")
def shipped_engine():
    """The shipped models: properties that an untrained decoder would pass trivially."""
    from colorstudio.paths import models_dir

    return Engine(models_dir=models_dir(), device="cpu")


def test_full_detail_at_zero_strength_gives_back_the_photo_at_full_size(shipped_engine, rng):
    """detail = 1 adds the style's change (stylised − reconstruction) to the full-size photo:
    with no style (alpha 0) the change is nil and the photo comes back, above the working size
    too; at detail 0 the decoder's drawing (plus only the detail finer than the working size)
    does not."""
    image = grey_photo(rng, 150, 200)
    image[..., 0] = np.roll(image[..., 0], 20, axis=1)
    style = ReferenceImage(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8), "style")
    run = shipped_engine.run
    kept = run(StylizeRequest(image, style=style, alpha=0.0, detail=1.0, working_size=96)).image
    assert np.abs(kept.astype(int) - image.astype(int)).max() <= 1
    drawn = run(StylizeRequest(image, style=style, alpha=0.0, detail=0.0, working_size=96)).image
    assert np.abs(drawn.astype(int) - image.astype(int)).mean() > 2


def test_structure_finer_than_the_working_size_is_kept_at_any_detail(shipped_engine, rng):
    """A 1-px checkerboard over a gradient, stylised at 0.4 of its size: the decoder never saw
    the checkerboard, so the result keeps its contrast whatever ``detail`` says (the
    upscaled drawing alone would have none), and both take the painting's colours."""
    h, w = 160, 240
    yy, xx = np.mgrid[0:h, 0:w]
    value = 40 + 40 * xx / w + 30 * ((yy + xx) % 2)  # dark enough not to clip once styled
    image = np.repeat(value[..., None], 3, axis=2).astype(np.uint8)
    painting = np.zeros((48, 48, 3), np.uint8)
    painting[..., 0] = rng.integers(150, 200, (48, 48))
    painting[..., 1:] = rng.integers(70, 110, (48, 48, 1))
    style = ReferenceImage(painting, "style")

    def checker_contrast(rgb):
        grey = rgb.astype(float).mean(2)
        sign = np.where((yy + xx) % 2 == 1, 1.0, -1.0)
        return float((grey * sign).mean() * 2)  # mean odd − even difference

    run = shipped_engine.run
    sharp = run(
        StylizeRequest(image, style=style, colorize_first=False, detail=1.0, working_size=96)
    ).image
    soft = run(
        StylizeRequest(image, style=style, colorize_first=False, detail=0.0, working_size=96)
    ).image
    assert checker_contrast(image) == pytest.approx(30, abs=1)
    assert checker_contrast(sharp) > 20
    assert checker_contrast(soft) > 20
    for out in (sharp, soft):  # red painting: red now leads green
        assert out[..., 0].mean() > out[..., 1].mean() + 20


def test_a_new_strength_or_painting_reuses_the_photos_reconstruction(tmp_path, rng, shipped_engine):
    """The decoder's reconstruction of the unstyled photo is cached per photo: the second
    request decodes once per tile, not twice, and gives what a fresh engine gives."""
    from colorstudio.paths import models_dir

    model = OomAboveStylizer(shipped_engine.stylizer(), limit=10_000)
    engine = Engine(models_dir=tmp_path, device="cpu", stylizer=model)
    image = grey_photo(rng, 120, 160)
    image[..., 2] = np.roll(image[..., 2], 9, axis=0)
    first = ReferenceImage(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8), "style")
    second = ReferenceImage(np.full((48, 48, 3), (200, 120, 40), np.uint8), "style")
    engine.run(StylizeRequest(image, style=first, detail=1.0, working_size=96))
    assert model.reconstructs == [True]
    again = engine.run(StylizeRequest(image, style=second, alpha=0.5, detail=1.0, working_size=96))
    again = again.image
    assert model.reconstructs == [True, False]
    fresh = Engine(models_dir=models_dir(), device="cpu", quantized=False)  # float, as torch
    expected = fresh.run(
        StylizeRequest(image, style=second, alpha=0.5, detail=1.0, working_size=96)
    ).image
    assert np.abs(again.astype(int) - expected.astype(int)).max() <= 1
    other = image.copy()
    other[:10] = 255  # another photo: a new reconstruction
    engine.run(StylizeRequest(other, style=second, detail=1.0, working_size=96))
    assert model.reconstructs == [True, False, True]
    third = image.copy()
    third[-10:] = 0  # a photo not seen before: at detail 0 still no reconstruction
    engine.run(StylizeRequest(third, style=first, detail=0.0, working_size=96))
    assert model.reconstructs == [True, False, True, False]


def test_the_stylizer_sees_a_mirrored_margin_around_the_photo(tmp_path, random_stylizer, rng):
    """VGG's zero padding made the decoder draw a band along the photo's border."""
    from colorstudio.ml.stylize import EDGE_MARGIN

    model = OomAboveStylizer(random_stylizer, limit=10_000)
    engine = Engine(models_dir=tmp_path, device="cpu", stylizer=model)
    image = rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)
    style = ReferenceImage(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), "style")
    result = engine.run(StylizeRequest(image, style=style, working_size=96))
    assert result.image.shape == image.shape
    m = EDGE_MARGIN
    # the encoder's inputs: the painting, then the photo (its statistics and its one tile)
    (tile,) = [x for x in model.seen if tuple(x.shape[-2:]) == (64 + 2 * m, 96 + 2 * m)]
    photo = torch.from_numpy(image).permute(2, 0, 1).float() / 255
    assert torch.allclose(tile[0, :, m : m + 64, m : m + 96], photo, atol=1e-6)
    assert torch.allclose(tile[0, :, m - 1], tile[0, :, m + 1])  # mirrored, not zeros


def test_out_of_memory_retries_with_smaller_tiles(tmp_path, random_stylizer, rng):
    model = OomAboveStylizer(random_stylizer, limit=130)
    engine = Engine(models_dir=tmp_path, device="cpu", stylizer=model)
    image = rng.integers(0, 256, (200, 256, 3), dtype=np.uint8)
    style = ReferenceImage(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), "style")
    result = engine.run(
        StylizeRequest(image, style=style, working_size=256, tile_size=512, tile_overlap=16)
    )
    assert "out of memory: retried with tiles of at most 256 px" in result.notes
    assert "out of memory: retried with tiles of at most 128 px" in result.notes
    assert result.image.shape == image.shape
    assert max(model.tile_sizes[-1:]) <= 128


def test_a_network_out_of_gpu_memory_runs_again_on_the_cpu(tmp_path):
    """run_net, the guard of every network step: CUDA out of memory → the same step on the
    CPU (noted); any other failure → one line naming the network."""

    class Net:
        device = "cuda"
        name = "test"

        def run(self, threads, outputs=None, **inputs):
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")

        def run_on_cpu(self, threads, outputs=None, **inputs):
            return [inputs["x"] * 2]

    engine = Engine(models_dir=tmp_path, device="cpu")
    job = Job()
    (out,) = engine.run_net(Net(), job, x=np.ones(3, np.float32))
    assert out.tolist() == [2, 2, 2] and job.notes == [
        "GPU out of memory: this step ran on the CPU"
    ]
    broken = Net()
    broken.run = lambda *a, **k: (_ for _ in ()).throw(ValueError("shape\nmismatch"))
    with pytest.raises(EngineError, match="the test network failed") as err:
        engine.run_net(broken, Job(), x=np.ones(3, np.float32))
    assert "\n" not in str(err.value)


def test_cancel_stops_between_tiles(engine, rng):
    image = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
    style = ReferenceImage(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), "style")
    token = CancelToken()
    seen = []

    def progress(fraction, message):
        seen.append(message)
        if message == "stylizing" and seen.count("stylizing") == 2:
            token.cancel()  # the user presses Cancel while the second tile is due

    request = StylizeRequest(image, style=style, working_size=256, tile_size=96, tile_overlap=16)
    with pytest.raises(Cancelled):
        engine.run(request, cancel=token, progress=progress)
    assert seen.count("stylizing") == 2  # tiles 3..N never started


class _TrainedDecoder(OomAboveStylizer):
    """The stylizer with its trained decoder (mirrored padding, upsampling) where the runtime
    would run the rearranged graph."""

    def decoder_graph(self):
        return self.inner.decoder


@pytest.mark.parametrize(("h", "w"), [(72, 104), (9, 12), (150, 6)])
def test_the_decoders_graph_gives_the_trained_decoders_pictures(shipped_engine, rng, h, w):
    """Zero padding inside the rearranged decoder changes a 10 px band that the pipeline's
    mirrored margin crops off, small and thin photos included (mirrored again and again)."""
    stylizer = shipped_engine.stylizer()
    image = grey_photo(rng, h, w)
    image[..., 0] = np.roll(image[..., 0], 3, axis=1)
    style = ReferenceImage(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8), "style")
    out = {}
    for name, model in (("graph", stylizer), ("trained", _TrainedDecoder(stylizer, 10_000))):
        engine = Engine(models_dir=shipped_engine.models_dir, device="cpu", stylizer=model)
        request = StylizeRequest(image, style=style, colorize_first=False, working_size=96)
        out[name] = engine.run(request).image.astype(int)
    assert np.abs(out["graph"] - out["trained"]).max() <= 1
    assert np.abs(out["graph"] - image.astype(int)).mean() > 2  # it did stylize


def test_a_preview_with_the_same_painting_encodes_only_a_new_photo(tmp_path, random_stylizer, rng):
    """The painting's statistics are kept under its pixels, the photo's under its own."""
    model = OomAboveStylizer(random_stylizer, limit=10_000)
    engine = Engine(models_dir=tmp_path, device="cpu", stylizer=model)
    image = rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)
    style = ReferenceImage(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), "style")
    engine.run(StylizeRequest(image, style=style, working_size=96))
    assert len(model.seen) == 2  # the painting, the photo
    engine.run(StylizeRequest(image, style=style, alpha=0.5, working_size=96))
    assert len(model.seen) == 2  # nothing encoded again
    other = image.copy()
    other[:5] = 0
    engine.run(StylizeRequest(other, style=style, working_size=96))
    assert len(model.seen) == 3 and model.seen[-1].shape[-2:] == model.seen[1].shape[-2:]
    same_pixels = ReferenceImage(style.image.copy(), "style")  # another array, same painting
    engine.run(StylizeRequest(image, style=same_pixels, alpha=0.7, working_size=96))
    assert len(model.seen) == 3
