"""Restoration pipeline contract: only masked pixels change, damage-free tiles are skipped,
full-resolution handling, OOM retries, cancellation, the classical fill and clear errors."""

import numpy as np
import pytest
import torch
from torch import nn

from colorstudio.ml.damage import synthesize_damage
from colorstudio.ml.engine import Engine, EngineError
from colorstudio.ml.jobs import Cancelled, CancelToken
from colorstudio.ml.networks import define_generator
from colorstudio.ml.requests import DetectDamageRequest, RestoreRequest
from colorstudio.ml.restore import COARSE_SIZE, WINDOW_MARGIN, hole_windows, pull_push_fill


def photo(rng, h=96, w=128):
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([60 + xx, 90 + yy / 2, 140 - xx / 3], -1)
    return np.clip(base + rng.normal(0, 2, (h, w, 3)), 0, 255).astype(np.uint8)


class CountingInpainter(nn.Module):
    """Wraps a random inpainter and records the tile shapes it sees."""

    def __init__(self, oom_above: int | None = None) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.inner = define_generator("inpainter_gated", width=8)
        self.shapes: list[tuple[int, int]] = []
        self.oom_above = oom_above

    def correct(self, prefill, mask):
        """What the runtime calls (``networks.graphs``): the network on the prefilled tile."""
        self.shapes.append(tuple(prefill.shape[-2:]))
        if self.oom_above and max(prefill.shape[-2:]) > self.oom_above:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return self.inner.correct(prefill, mask)


class ThresholdDetector(nn.Module):
    """'Damage' = very bright pixels, so the expected mask is known exactly."""

    def probabilities(self, rgb01):
        return (rgb01.mean(1, keepdim=True) > 0.9).float()


@pytest.fixture
def inpainter():
    return CountingInpainter()


def engine_with(tmp_path, **models):
    return Engine(models_dir=tmp_path / "no-models", device="cpu", **models)


def test_only_masked_pixels_change(tmp_path, rng, inpainter):
    image = photo(rng)
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[20:30, 10:90] = 255
    mask[60, 5:120] = 128  # a soft scratch: blended half-way
    result = engine_with(tmp_path, inpainter=inpainter).run(RestoreRequest(image, mask))
    changed = np.any(result.image != image, axis=2)
    assert not changed[mask == 0].any()
    assert changed[20:30, 10:90].mean() > 0.5
    assert result.bbox == (20, 5, 61, 120)
    assert result.engine == "inpainter"


def test_alpha_is_kept_and_input_untouched(tmp_path, rng, inpainter):
    rgba = np.dstack([photo(rng), np.full((96, 128), 200, np.uint8)])
    before = rgba.copy()
    mask = np.zeros((96, 128), np.uint8)
    mask[40:50, 40:50] = 255
    result = engine_with(tmp_path, inpainter=inpainter).run(RestoreRequest(rgba, mask))
    assert (result.image[..., 3] == 200).all()
    assert np.array_equal(rgba, before)


def test_tiles_without_damage_are_skipped(tmp_path, rng, inpainter):
    image = photo(rng, 256, 512)
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[10:14, 10:14] = 255  # one speck in the top-left tile
    engine = engine_with(tmp_path, inpainter=inpainter)
    engine.run(RestoreRequest(image, mask, tile_size=128, tile_overlap=32))
    assert len(inpainter.shapes) == 1  # of 3 x 5 tiles, only the one holding the speck ran


def test_specks_run_in_small_windows_with_context(tmp_path, rng, inpainter):
    image = photo(rng, 256, 512)
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[100:104, 100:104] = 255
    mask[200:203, 450:453] = 255
    engine_with(tmp_path, inpainter=inpainter).run(RestoreRequest(image, mask, tile_size=512))
    assert len(inpainter.shapes) == 2  # one window per speck, not the whole 256 x 512 tile
    assert all(
        min(s) >= WINDOW_MARGIN * 2 and max(s) <= 4 * WINDOW_MARGIN for s in inpainter.shapes
    )


def test_hole_windows_cover_every_hole_with_context(rng):
    hole = rng.random((300, 400)) < 0.002  # scattered dust
    hole[150:160, 20:380] = True  # and a long scratch
    boxes = hole_windows(hole, tile=512)
    inside = np.zeros_like(hole)
    context = np.zeros_like(hole)
    for y0, x0, y1, x1 in boxes:
        inside[y0:y1, x0:x1] = True
        context[
            max(0, y0 + WINDOW_MARGIN) : y1 - WINDOW_MARGIN, x0 + WINDOW_MARGIN : x1 - WINDOW_MARGIN
        ] = True
    assert inside[hole].all()
    # away from the photo's edges, every hole pixel has at least WINDOW_MARGIN px of context
    centre = np.zeros_like(hole)
    centre[WINDOW_MARGIN:-WINDOW_MARGIN, WINDOW_MARGIN:-WINDOW_MARGIN] = True
    assert context[hole & centre].all()
    assert hole_windows(np.zeros((50, 60), bool), tile=512) == []


def test_large_images_are_inpainted_at_the_working_size(tmp_path, rng, inpainter):
    image = photo(rng, 300, 400)
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[100:104, :] = 255
    result = engine_with(tmp_path, inpainter=inpainter).run(
        RestoreRequest(image, mask, working_size=200, tile_size=512)
    )
    assert max(inpainter.shapes[0]) <= 200  # ran downscaled
    assert result.image.shape == image.shape
    changed = np.any(result.image != image, axis=2)
    assert not changed[mask == 0].any() and changed[100:104].mean() > 0.5


def test_out_of_memory_halves_the_tile(tmp_path, rng):
    model = CountingInpainter(oom_above=130)
    image = photo(rng, 256, 256)
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[::17, :] = 255
    result = engine_with(tmp_path, inpainter=model).run(
        RestoreRequest(image, mask, tile_size=512, tile_overlap=32)
    )
    assert "out of memory: retried with tiles of at most 256 px" in result.notes
    assert "out of memory: retried with tiles of at most 128 px" in result.notes
    assert max(model.shapes[-1]) <= 128


def test_cancel_stops_between_tiles(tmp_path, rng, inpainter):
    image = photo(rng, 256, 256)
    mask = np.full(image.shape[:2], 255, np.uint8)
    token = CancelToken()

    def progress(fraction, message):
        if message == "filling damage":
            token.cancel()

    with pytest.raises(Cancelled):
        engine_with(tmp_path, inpainter=inpainter).run(
            RestoreRequest(image, mask, tile_size=128, tile_overlap=16),
            cancel=token,
            progress=progress,
        )
    assert len(inpainter.shapes) == 1  # cancelled while tile 1 ran: tiles 2..9 never started


def test_classical_fill_without_a_model(tmp_path, rng):
    image = photo(rng)
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[40:44, :] = 255
    damaged = image.copy()
    damaged[mask > 0] = 255
    result = engine_with(tmp_path).run(RestoreRequest(damaged, mask))
    assert result.engine == "pull-push"
    error = np.abs(result.image.astype(int) - image)[mask > 0].mean()
    assert error < 12  # a smooth gradient is filled almost exactly (the scratch was +100..190)
    assert np.array_equal(result.image[mask == 0], damaged[mask == 0])
    with pytest.raises(EngineError, match="no inpainting model is installed"):
        engine_with(tmp_path).run(RestoreRequest(damaged, mask, engine="gan"))


def test_pull_push_fills_from_the_surroundings():
    image = np.zeros((32, 32, 3), np.float32)
    image[:, :16] = 50
    image[:, 16:] = 200
    hole = np.zeros((32, 32), bool)
    hole[10:20, 4:10] = True  # inside the dark half
    filled = pull_push_fill(image, hole)
    assert np.allclose(filled[~hole], image[~hole])
    assert np.abs(filled[hole] - 50).max() < 30
    everything = pull_push_fill(image, np.ones((32, 32), bool))
    assert np.allclose(everything, 127.5)


def test_pull_push_batches_images_with_different_holes():
    from colorstudio.ml.networks.restore import pull_push

    gen = torch.Generator().manual_seed(0)
    images = torch.rand(3, 3, 30, 41, generator=gen)
    masks = (
        torch.rand(3, 1, 30, 41, generator=gen) < torch.tensor([0.1, 0.5, 0.9])[:, None, None, None]
    ).float()
    batched = pull_push(images, masks)
    for i in range(3):
        assert torch.allclose(batched[i : i + 1], pull_push(images[i : i + 1], masks[i : i + 1]))
    assert torch.equal(batched * (1 - masks), images * (1 - masks))  # known pixels untouched


def test_an_untrained_inpainter_is_the_classical_fill(rng):
    """The inpainter refines pull–push: its correction starts at zero, so training begins from
    a fill that already beats OpenCV's Telea on thin damage."""
    model = define_generator("inpainter_gated", width=8).eval()
    image = photo(rng)
    _, hole = synthesize_damage(image, rng, kinds=("scratches", "dust"))
    t = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        raw = model(t, torch.from_numpy(hole.astype(np.float32))[None, None], composite=False)
    classical = pull_push_fill(image.astype(np.float32), hole) / 255
    assert np.allclose(raw[0].permute(1, 2, 0).numpy(), classical, atol=1e-5)


def test_empty_mask_changes_nothing(tmp_path, rng, inpainter):
    image = photo(rng)
    result = engine_with(tmp_path, inpainter=inpainter).run(
        RestoreRequest(image, np.zeros(image.shape[:2], np.uint8))
    )
    assert np.array_equal(result.image, image) and inpainter.shapes == []


def test_a_restore_request_needs_a_mask(rng):
    with pytest.raises(ValueError, match="needs the damage mask"):
        RestoreRequest(photo(rng))


def test_detection_thresholds_grows_and_upsamples(tmp_path, rng):
    image = photo(rng, 200, 300)
    image[100, 50:250] = 255  # a bright 1 px scratch
    engine = engine_with(tmp_path, detector=ThresholdDetector())
    exact = engine.run(DetectDamageRequest(image, grow=0, working_size=300))
    assert exact.mask.dtype == np.uint8 and exact.mask.shape == (200, 300)
    assert exact.mask[100, 60:240].all() and exact.mask.sum() // 255 <= 202
    grown = engine.run(DetectDamageRequest(image, grow=2, working_size=300))
    assert grown.mask[98:103, 60:240].all() and not grown.mask[95].any()
    assert np.array_equal(grown.image, image)
    image[99:103, 50:250] = 255  # wide enough to survive halving for the toy detector
    small = engine.run(DetectDamageRequest(image, grow=1, working_size=150))
    assert small.mask.shape == (200, 300) and small.mask[99:103, 60:240].all()
    assert not small.mask[:90].any()


class CoarseOnlyDetector(nn.Module):
    """Finds bright pixels only in a picture no larger than the coarse pass (as the real one
    recognises a torn corner only with the print around it); records the sizes it sees."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[tuple[int, int]] = []

    def probabilities(self, rgb01):
        self.sizes.append(tuple(rgb01.shape[-2:]))
        bright = (rgb01.mean(1, keepdim=True) > 0.9).float()
        return bright if max(rgb01.shape[-2:]) <= COARSE_SIZE + 8 else bright * 0


def test_detection_also_looks_at_the_whole_print_at_the_coarse_size(tmp_path, rng):
    image = photo(rng, 600, 900)
    image[:150, :200] = 255  # a torn corner, found only by the coarse pass
    detector = CoarseOnlyDetector()
    engine = engine_with(tmp_path, detector=detector)
    result = engine.run(DetectDamageRequest(image, grow=0, working_size=900, tile_size=1024))
    assert sorted(max(s) for s in detector.sizes) == [COARSE_SIZE, 904]  # padded to 8
    assert result.mask[5:145, 5:195].all() and not result.mask[170:].any()
    detector.sizes.clear()  # a print no larger than the coarse size is looked at once
    engine.run(DetectDamageRequest(photo(rng, 300, 400), grow=0))
    assert len(detector.sizes) == 1


def test_two_pass_detection_progress_only_rises_and_a_smaller_tile_carries_over(tmp_path, rng):
    class OomAbove256(CoarseOnlyDetector):
        def probabilities(self, rgb01):
            if max(rgb01.shape[-2:]) > 256:
                raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
            return super().probabilities(rgb01)

    detector = OomAbove256()
    seen: list[float] = []
    result = engine_with(tmp_path, detector=detector).run(
        DetectDamageRequest(photo(rng, 600, 900), working_size=900, tile_size=512),
        progress=lambda fraction, message: seen.append(fraction),
    )
    assert seen == sorted(seen) and seen[-1] >= 0.9
    # the full-size pass halved the tile once; the coarse pass started from 256, not 512 again
    assert sum("out of memory" in note for note in result.notes) == 1
    assert max(max(s) for s in detector.sizes) <= 256


def test_detection_reports_when_nothing_is_found(tmp_path, rng):
    result = engine_with(tmp_path, detector=ThresholdDetector()).run(
        DetectDamageRequest(photo(rng))
    )
    assert not result.mask.any()
    assert any("no damage found" in note for note in result.notes)


def test_detection_without_a_model_says_so(tmp_path, rng):
    with pytest.raises(EngineError, match="no damage detection model is installed"):
        engine_with(tmp_path).run(DetectDamageRequest(photo(rng)))


def test_random_detector_runs_on_odd_sizes(tmp_path, rng):
    torch.manual_seed(0)
    model = define_generator("detector_unet", widths=(4, 8, 8, 8)).eval()
    image, _ = synthesize_damage(photo(rng, 77, 131), rng)
    result = engine_with(tmp_path, detector=model).run(
        DetectDamageRequest(image, tile_size=64, tile_overlap=16)
    )
    assert result.mask.shape == (77, 131)
    assert set(np.unique(result.mask)) <= {0, 255}


def test_detection_counts():
    from colorstudio.ml.evaluate_restore import Counts

    truth = np.zeros((4, 4), bool)
    truth[0, :] = True  # 4 damaged pixels
    found = np.zeros((4, 4), bool)
    found[0, :2] = found[3, 3] = True  # 2 hits, 1 false alarm, 2 misses
    counts = Counts()
    counts.add(found, truth)
    assert (counts.tp, counts.fp, counts.fn) == (2, 1, 2)
    assert counts.precision == 2 / 3 and counts.recall == 0.5
    assert abs(counts.f1 - 2 * (2 / 3) * 0.5 / (2 / 3 + 0.5)) < 1e-12
    assert abs(counts.f(2.0) - 5 * (2 / 3) * 0.5 / (4 * (2 / 3) + 0.5)) < 1e-12
    more_recall = Counts(tp=3, fp=3, fn=1)  # finds more, with more false alarms
    assert more_recall.precision < counts.precision and more_recall.f(2.0) > counts.f(2.0)


def test_detail_kept_tells_a_smooth_fill_from_a_grainy_one(rng):
    from scipy import ndimage

    from colorstudio.ml.evaluate_restore import detail_kept

    truth = np.clip(128 + rng.normal(0, 12, (64, 64, 3)), 0, 255).astype(np.uint8)
    mask = np.zeros((64, 64), bool)
    mask[20:40, 10:50] = True
    smooth = truth.copy()
    smooth[mask] = 128
    blurred = ndimage.uniform_filter(truth.astype(float), (3, 3, 1)).astype(np.uint8)
    assert detail_kept(truth, truth, mask) == 1.0
    assert detail_kept(smooth, truth, mask) < 0.1  # only the rim sees the grain around it
    assert detail_kept(smooth, truth, mask) < detail_kept(blurred, truth, mask) < 0.6
    other_grain = np.clip(128 + rng.normal(0, 12, truth.shape), 0, 255).astype(np.uint8)
    assert abs(detail_kept(other_grain, truth, mask) - 1.0) < 0.1  # same amount, other noise


def test_detection_on_a_tiny_image_finds_nothing_and_says_why(tmp_path, rng):
    class Everything(nn.Module):
        def probabilities(self, rgb01):
            return torch.ones_like(rgb01[:, :1])

    engine = engine_with(tmp_path, detector=Everything())
    tiny = engine.run(DetectDamageRequest(photo(rng, 1, 1)))
    assert tiny.mask.shape == (1, 1) and not tiny.mask.any()
    assert any("too small" in note for note in tiny.notes)
    assert engine.run(DetectDamageRequest(photo(rng, 40, 60))).mask.all()


def test_a_result_names_the_models_that_made_it(tmp_path, rng):
    engine = engine_with(tmp_path, detector=ThresholdDetector(), inpainter=CountingInpainter())
    image = photo(rng)
    image[40:44, 20:100] = 255
    found = engine.run(DetectDamageRequest(image, grow=1))
    assert found.models == ("detect",)  # a module given to the engine goes by its task
    repaired = engine.run(RestoreRequest(image, found.mask, engine="gan"))
    assert repaired.models == ("inpaint",)
    classical = engine.run(RestoreRequest(image, found.mask, engine="classical"))
    assert classical.models == ()  # the request's own list, not the previous one's


def test_installed_models_go_by_their_manifest_names(rng):
    engine = Engine(device="cpu")  # the shipped models
    assert engine.run(DetectDamageRequest(photo(rng))).models == ("detector",)
