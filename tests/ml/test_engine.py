"""The engine's contract: L kept, outside-mask pixels bit-exact, tiles seamless, determinism,
hints, and the classical engines (the stylize pipeline's own: test_engine_stylize.py)."""

import numpy as np
import pytest
import torch

from colorstudio.ml import colorize
from colorstudio.ml.classical import levin_colorize, reinhard_ab
from colorstudio.ml.color import rgb_to_lab
from colorstudio.ml.engine import Engine, EngineError, working_shape
from colorstudio.ml.jobs import Job
from colorstudio.ml.requests import (
    AdjustRequest,
    ColorizeRequest,
    RecolorRequest,
    ReferenceImage,
    StylizeRequest,
)
from tests.ml.conftest import grey_photo, hinted_amount


def hint_layer(h, w, spots):
    hints = np.zeros((h, w, 4), np.uint8)
    for y, x, rgb in spots:
        hints[y - 2 : y + 3, x - 2 : x + 3] = (*rgb, 255)
    return hints


def photo(image, hints, **options):
    """A colourize request with the "photo" hint reach (the likeness-and-fusion pipeline)."""
    return ColorizeRequest(image, hints=hints, hint_reach="photo", **options)


def test_fusion_tests_hints_on_the_hint_free_prediction_computed_once(engine, colorizer_runs, rng):
    """(The "photo" reach.) The held-out test must not use a prediction that saw the held-out
    hints; the hint-free prediction depends only on the photo, so painting more hints does not
    recompute it."""
    image = np.repeat(rng.integers(0, 256, (64, 96, 1), dtype=np.uint8), 3, axis=2)
    spots = [(10, 10, (200, 40, 40)), (50, 80, (40, 200, 40))]
    engine.run(photo(image, hint_layer(64, 96, spots), preview=True))
    calls = hinted_amount(colorizer_runs)
    # the hinted prediction, and the hint-free one at each of AUTOMATIC_SCALES
    assert sorted(c == 0 for c in calls) == [False, True, True]
    spots.append((30, 50, (40, 40, 200)))
    engine.run(photo(image, hint_layer(64, 96, spots), preview=True))
    calls = hinted_amount(colorizer_runs)
    assert len(calls) == 4 and calls[-1] > 0  # only the hinted prediction ran again
    engine.run(photo(image, hint_layer(64, 96, spots[:1]), preview=True))
    assert len(colorizer_runs) == 5  # one hint: nothing to hold out, no fusion


def test_the_hint_free_guess_averages_the_network_at_two_scales(engine, colorizer_runs, rng):
    """AUTOMATIC_SCALES: one run at the working size, one at 1.5 times it (multiples of 32);
    the result is their mean, at the working size."""
    image = grey_photo(rng)  # 120 x 160: working size 256 gives 192 x 256
    l_small = (rng.random((1, 1, 192, 256)) * 100).astype(np.float32)
    guess = colorize.hint_free(engine, ColorizeRequest(image), l_small, Job())
    shapes = [inputs["l"].shape[-2:] for inputs, _ in colorizer_runs]
    outputs = [torch.from_numpy(out["ab"]) for _, out in colorizer_runs]
    assert colorize.AUTOMATIC_SCALES == (1.0, 1.5)
    assert shapes == [(192, 256), (288, 384)]
    assert guess.shape == (1, 2, 192, 256)
    down = torch.nn.functional.interpolate(
        outputs[1], size=(192, 256), mode="bilinear", align_corners=False
    )
    expected = (outputs[0] + down) / 2 * colorize.AB_SCALE
    assert np.allclose(guess, expected.numpy(), atol=1e-3)


def test_the_hinted_network_runs_once_per_request(engine, colorizer_runs, rng):
    """(The "photo" reach.) The hinted prediction serves the base (few hints) and the second
    opinion (two or more hints, final renders): it runs once per request, the hint-free one once
    per photo, and the hints win."""
    image = grey_photo(rng)
    spots = [(10 + 10 * (i // 4), 12 + 36 * (i % 4), (200, 60, 40)) for i in range(12)]
    hints = hint_layer(120, 160, spots)
    out = engine.run(ColorizeRequest(image, hints=hints, hint_reach="photo")).image
    calls = hinted_amount(colorizer_runs)
    assert calls[:2] == [0.0, 0.0]  # the hint-free prediction at its two scales
    assert len(calls) == 3 and calls[2] > 0  # and the hinted one, once
    engine.run(photo(image, hint_layer(120, 160, spots[:3])))
    calls = hinted_amount(colorizer_runs)
    assert len(calls) == 4 and calls[-1] > 0  # the hint-free one came from the cache
    engine.run(ColorizeRequest(image, hints=hints, preview=True, hint_reach="photo"))
    assert len(colorizer_runs) == 4  # previews skip the second opinion, and its network run
    y, x = spots[5][:2]
    assert rgb_to_lab(out[y : y + 1, x : x + 1])[0, 0, 1] > 20  # red hint honoured (a* > 0)


def test_working_shape():
    assert working_shape(4000, 6000, 256) == (160, 256)
    assert working_shape(100, 50, 256) == (96, 64)  # never upsamples past the image (rounded)


def test_colorize_keeps_lightness_exactly(engine, rng):
    image = grey_photo(rng)
    hints = hint_layer(120, 160, [(30, 30, (220, 40, 30)), (90, 120, (30, 60, 200))])
    result = engine.run(ColorizeRequest(image, hints=hints))
    assert result.image.shape == image.shape and result.image.dtype == np.uint8
    assert result.engine == "gan"
    l_in = rgb_to_lab(image)[..., 0]
    l_out = rgb_to_lab(result.image)[..., 0]
    assert np.abs(l_in - l_out).max() < 0.6  # 8-bit rounding only
    chroma = np.hypot(*rgb_to_lab(result.image)[..., 1:].transpose(2, 0, 1))
    assert chroma.mean() > 1.0  # it did colourize


@pytest.mark.parametrize("kind", ["colourize", "recolour", "stylize", "adjust"])
def test_pixels_outside_the_mask_are_bit_identical(engine, rng, kind):
    image = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)
    mask = np.zeros((96, 128), np.uint8)
    mask[20:60, 30:90] = 255
    mask[60:70, 30:90] = 90  # a soft part
    hints = hint_layer(96, 128, [(40, 50, (0, 0, 255))])
    style = ReferenceImage(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8), "style")
    request = {
        "colourize": ColorizeRequest(image, hints=hints, mask=mask),
        "recolour": RecolorRequest(image, hints=hints, mask=mask, feather=3),
        # detail 0: the untrained decoder's drawing barely depends on the style, so the style's
        # change added to the photo would round away
        "stylize": StylizeRequest(image, style=style, mask=mask, detail=0.0, working_size=128),
        "adjust": AdjustRequest(image, hue=90, saturation=1.5, mask=mask, strength=0.8),
    }[kind]
    result = engine.run(request)
    outside = mask == 0
    assert np.array_equal(result.image[outside], image[outside])
    assert not np.array_equal(result.image[mask == 255], image[mask == 255])
    assert result.bbox == (20, 30, 70, 90)


def test_strength_scales_the_change(engine, rng):
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    full = engine.run(AdjustRequest(image, hue=120)).image.astype(int)
    half = engine.run(AdjustRequest(image, hue=120, strength=0.5)).image.astype(int)
    strength_map = np.full((64, 64), 0, np.uint8)
    strength_map[:, 32:] = 255
    mapped = engine.run(AdjustRequest(image, hue=120, strength_map=strength_map)).image
    assert np.abs(half - image).mean() < np.abs(full - image).mean() * 0.7
    assert np.array_equal(mapped[:, :32], image[:, :32]) and not np.array_equal(
        mapped[:, 32:], image[:, 32:]
    )


def test_empty_mask_changes_nothing(engine, rng):
    image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    result = engine.run(ColorizeRequest(image, mask=np.zeros((32, 32), np.uint8)))
    assert np.array_equal(result.image, image) and result.notes


def test_alpha_channel_is_kept(engine, rng):
    image = rng.integers(0, 256, (48, 48, 4), dtype=np.uint8)
    result = engine.run(ColorizeRequest(image, hints=hint_layer(48, 48, [(20, 20, (255, 0, 0))])))
    assert result.image.shape == (48, 48, 4) and np.array_equal(result.image[..., 3], image[..., 3])


def test_deterministic(engine, rng):
    image = grey_photo(rng)
    request = ColorizeRequest(image, hints=hint_layer(120, 160, [(30, 30, (0, 200, 0))]), seed=3)
    assert np.array_equal(engine.run(request).image, engine.run(request).image)


def test_palette_reference_changes_the_result(engine, rng):
    image = grey_photo(rng)
    warm = np.zeros((32, 32, 3), np.uint8)
    warm[...] = (230, 120, 40)
    cold = warm[..., ::-1].copy()
    a = engine.run(ColorizeRequest(image, references=(ReferenceImage(warm),))).image
    b = engine.run(ColorizeRequest(image, references=(ReferenceImage(cold),))).image
    half = engine.run(
        ColorizeRequest(image, references=(ReferenceImage(warm, strength=0.5),))
    ).image
    assert not np.array_equal(a, b)
    assert not np.array_equal(a, half)


def test_tiles_match_the_whole_image(engine, rng):
    """Shared AdaIN statistics and feathered blending: tiling barely changes the result."""
    image = grey_photo(rng, 200, 264)
    image[..., 0] = np.roll(image[..., 0], 15, axis=1)
    style = ReferenceImage(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), "style")
    whole = engine.run(StylizeRequest(image, style=style, working_size=264, tile_size=512)).image
    tiled = engine.run(
        StylizeRequest(image, style=style, working_size=264, tile_size=96, tile_overlap=32)
    ).image
    diff = np.abs(whole.astype(int) - tiled.astype(int))
    assert diff.mean() < 4.0
    assert np.percentile(diff, 99) < 40


# ---------------------------------------------------------------- classical engines
def test_levin_reproduces_a_flat_region_from_one_scribble():
    lightness = np.full((40, 50), 42.0, np.float32)
    mask = np.zeros((40, 50), bool)
    ab = np.zeros((40, 50, 2), np.float32)
    mask[12, 20] = True
    ab[12, 20] = [35.0, -12.0]
    out = levin_colorize(lightness, ab, mask)
    assert np.abs(out - [35.0, -12.0]).max() < 1e-6


def test_levin_respects_edges():
    lightness = np.full((48, 64), 25.0, np.float32)
    lightness[:, 32:] = 85.0
    mask = np.zeros((48, 64), bool)
    ab = np.zeros((48, 64, 2), np.float32)
    mask[5:43, 10], ab[5:43, 10] = True, [40, -20]
    mask[5:43, 54], ab[5:43, 54] = True, [-30, 60]
    out = levin_colorize(lightness, ab, mask)
    assert np.abs(out[:, :30] - [40, -20]).max() < 2.0
    assert np.abs(out[:, 34:] - [-30, 60]).max() < 2.0


def test_levin_solves_any_number_of_channels_at_once(rng):
    lightness = rng.uniform(0, 100, (24, 32)).astype(np.float32)
    mask = rng.random((24, 32)) < 0.05
    values = rng.uniform(-40, 40, (24, 32, 4)).astype(np.float32)
    together = levin_colorize(lightness, values, mask)
    apart = np.concatenate(
        [
            levin_colorize(lightness, values[..., :2], mask),
            levin_colorize(lightness, values[..., 2:], mask),
        ],
        -1,
    )
    assert together.shape == (24, 32, 4)
    assert np.abs(together - apart).max() < 1e-4
    assert np.abs(together[mask] - values[mask]).max() < 1e-4  # scribbles are kept


def test_levin_through_the_engine_without_a_model(classical_engine, rng):
    image = np.full((60, 80, 3), 128, np.uint8)
    hints = hint_layer(60, 80, [(30, 40, (200, 60, 60))])
    result = classical_engine.run(ColorizeRequest(image, hints=hints))
    assert result.engine == "levin"
    hint_lab = rgb_to_lab(np.array([[[200, 60, 60]]], np.uint8))[0, 0]
    out_lab = rgb_to_lab(result.image)
    assert np.abs(out_lab[..., 1:] - hint_lab[1:]).max() < 3.0  # one flat region: one colour
    assert np.abs(out_lab[..., 0] - rgb_to_lab(image)[..., 0]).max() < 0.6


def test_reinhard_matches_reference_statistics(rng):
    lab = rgb_to_lab(rng.integers(0, 256, (50, 50, 3), dtype=np.uint8))
    ref = rgb_to_lab(rng.integers(100, 200, (30, 30, 3), dtype=np.uint8))
    ab = reinhard_ab(lab, ref)
    assert np.allclose(ab.reshape(-1, 2).mean(0), ref[..., 1:].reshape(-1, 2).mean(0), atol=0.05)
    assert np.allclose(ab.reshape(-1, 2).std(0), ref[..., 1:].reshape(-1, 2).std(0), rtol=0.01)


def test_without_model_hints_or_reference_the_error_says_what_to_do(classical_engine, rng):
    with pytest.raises(EngineError, match="paint colour hints or add a palette reference"):
        classical_engine.run(ColorizeRequest(np.zeros((16, 16, 3), np.uint8)))
    with pytest.raises(EngineError, match="no colourization model"):
        classical_engine.run(ColorizeRequest(np.zeros((16, 16, 3), np.uint8), engine="gan"))
    with pytest.raises(EngineError, match="no style model"):
        classical_engine.run(
            StylizeRequest(
                np.zeros((16, 16, 3), np.uint8),
                style=ReferenceImage(np.zeros((8, 8, 3), np.uint8), "style"),
            )
        )


def test_progress_reaches_one(engine, rng):
    seen = []
    engine.run(
        AdjustRequest(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8), hue=10),
        progress=lambda f, m: seen.append(f),
    )
    assert seen[-1] == 1.0 and seen == sorted(seen)


def test_a_single_hinted_pixel_survives_downscaling(classical_engine):
    """24 MP-style downscale factors must not round a small hint (or its colour) away."""
    hints = np.zeros((1500, 2400, 4), np.uint8)
    hints[700, 1200] = (255, 0, 0, 255)
    hints[100:104, 100:140] = (0, 0, 255, 128)
    ab, mask = colorize.hints_small(hints, (96, 160))
    assert mask.sum() >= 2
    colors = ab[0][:, mask[0, 0] > 0].T
    red = rgb_to_lab(np.array([[[255, 0, 0]]], np.uint8))[0, 0, 1:]
    blue = rgb_to_lab(np.array([[[0, 0, 255]]], np.uint8))[0, 0, 1:]
    assert any(np.allclose(c, red, atol=0.5) for c in colors)
    assert any(np.allclose(c, blue, atol=0.5) for c in colors)


def test_suggested_colors_are_distinct_and_include_the_hinted_color(engine, rng):
    from colorstudio.ml.metrics import ciede2000
    from colorstudio.ml.requests import SuggestRequest

    image = grey_photo(rng)
    result = engine.run(SuggestRequest(image, x=80, y=60, count=5))
    assert 1 <= len(result.suggestions) <= 5
    labs = rgb_to_lab(np.array([result.suggestions], np.uint8))[0]
    for i in range(len(labs)):
        for j in range(i):
            assert ciede2000(labs[i], labs[j]) >= 7.5
    assert all(
        abs(lab[0] - rgb_to_lab(image)[60, 80, 0]) < 2 for lab in labs
    )  # same lightness as the pixel


def test_provenance_maps_mark_hinted_regions(engine, rng):
    image = grey_photo(rng)
    hints = hint_layer(120, 160, [(60, 80, (250, 20, 20))])
    result = engine.run(ColorizeRequest(image, hints=hints, provenance=True))
    assert result.hint_influence is not None and result.confidence is not None
    assert result.hint_influence.shape == result.confidence.shape
    assert result.hint_influence.min() >= 0 and result.hint_influence.max() <= 1
    h, w = result.hint_influence.shape
    near = result.hint_influence[h // 2 - 1 : h // 2 + 2, w // 2 - 1 : w // 2 + 2].mean()
    assert near > 0.5  # the hint's colour comes from the user
    plain = engine.run(ColorizeRequest(image, hints=hints))
    assert plain.hint_influence is None and np.array_equal(plain.image, result.image)


def test_hint_influence_measures_the_engine_result_not_the_networks_answer():
    """The influence map compares the colours the engine produced from the hints with the
    network's hint-free guess; the network's own answer to the hints (variants[0]), which the
    engine mostly replaces, does not enter."""
    from colorstudio.ml.insight import provenance_maps

    variants = np.zeros((11, 2, 8, 8), np.float32)
    variants[0, 0] = 50.0  # the network's answer to the hints: red everywhere
    hinted = np.zeros((1, 2, 8, 8), np.float32)
    hinted[0, 1, :, :4] = 30.0  # the engine's result: yellower on the left half only
    influence, _ = provenance_maps(variants, hinted)
    assert np.allclose(influence[:, :4], 1.0) and np.allclose(influence[:, 4:], 0.0)
    assert np.allclose(provenance_maps(variants)[0], 1.0)  # without: the network's answer


def test_suggestions_need_the_model(classical_engine):
    from colorstudio.ml.requests import SuggestRequest

    with pytest.raises(EngineError, match="trained colourization model"):
        classical_engine.run(SuggestRequest(np.zeros((8, 8, 3), np.uint8), x=1, y=1))


def test_gan_results_honour_the_hints(engine, rng):
    """Hinted pixels take the hint colour and the correction spreads edge-aware around it."""
    image = grey_photo(rng)
    hints = hint_layer(120, 160, [(60, 40, (40, 90, 220))])
    without = rgb_to_lab(engine.run(ColorizeRequest(image)).image)
    with_hint = rgb_to_lab(engine.run(ColorizeRequest(image, hints=hints)).image)
    target = rgb_to_lab(np.array([[[40, 90, 220]]], np.uint8))[0, 0, 1:]
    assert np.abs(with_hint[60, 40, 1:] - target).max() < 6.0
    near = np.abs(with_hint[60, 50, 1:] - target).sum()
    assert near < np.abs(without[60, 50, 1:] - target).sum()  # the neighbourhood moved towards it


def test_recolor_blends_the_network_with_levin(engine, rng, monkeypatch):
    """A recolour is RECOLOUR_LEVIN_SHARE Levin's propagation of the known colours and the rest
    the network's corrected prediction: at share 1 it is the Levin engine's result, at the
    shipped share it lies that far from the network's own."""

    share = colorize.RECOLOR_LEVIN_SHARE
    image = rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)
    mask = np.zeros((64, 96), np.uint8)
    mask[16:48, 24:72] = 255
    levin = engine.run(RecolorRequest(image, mask=mask, engine="levin")).image.astype(float)

    def recolor(share: float) -> np.ndarray:
        monkeypatch.setattr(colorize, "RECOLOR_LEVIN_SHARE", share)
        return engine.run(RecolorRequest(image, mask=mask, engine="gan")).image.astype(float)

    assert np.abs(recolor(1.0) - levin).max() <= 1
    network = recolor(0.0)
    shipped = recolor(share)
    gap = np.abs(network - levin).mean()
    assert gap > 1.0  # the network's recolour is not Levin's
    assert abs(np.abs(shipped - levin).mean() - (1 - share) * gap) < 0.15 * gap


def test_the_network_alone_skips_the_engines_propagation(engine, rng, monkeypatch):
    """``run_network_alone`` is the network's own answer to the hints: it never reaches the
    hints' propagation or the fusion, it still depends on the hints, and the full engine's
    answer at a hinted pixel is the hint while the (untrained) network's is not."""
    image = grey_photo(rng)
    hints = hint_layer(120, 160, [(60, 40, (40, 90, 220)), (30, 120, (220, 200, 40))])
    request = ColorizeRequest(image, hints=hints)
    full = rgb_to_lab(engine.run(request).image)

    def untouched(*args, **kwargs):
        raise AssertionError("the network alone must not use the engine's propagation")

    from colorstudio.ml import hints as hint_model

    for module, name in ((colorize, "honour_hints"), (colorize, "network_prior")):
        monkeypatch.setattr(module, name, untouched)
    monkeypatch.setattr(hint_model, "honour", untouched)
    alone = rgb_to_lab(engine.run_network_alone(request).image)
    blind = rgb_to_lab(engine.run_network_alone(ColorizeRequest(image)).image)
    target = rgb_to_lab(np.array([[[40, 90, 220]]], np.uint8))[0, 0, 1:]
    assert np.abs(full[60, 40, 1:] - target).max() < 6.0
    assert np.abs(alone[60, 40, 1:] - target).max() > 6.0
    assert np.abs(alone[..., 1:] - blind[..., 1:]).max() > 0.5  # the hints are its input
    assert np.abs(alone[..., 0] - full[..., 0]).max() < 1.0  # the photo's lightness is kept
    with pytest.raises(EngineError, match="GAN"):
        engine.run_network_alone(ColorizeRequest(image, hints=hints, engine="levin"))


def test_auto_recolors_by_levin_unless_a_palette_asks_for_the_network(engine, rng):
    """Recolouring from the surroundings, Levin alone measured best, so "auto" uses it (and
    says so); a palette reference brings the network in, since only it can use one."""
    image = rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)
    mask = np.zeros((64, 96), np.uint8)
    mask[16:48, 24:72] = 255
    auto = engine.run(RecolorRequest(image, mask=mask))
    levin = engine.run(RecolorRequest(image, mask=mask, engine="levin"))
    assert auto.engine == "levin" and np.array_equal(auto.image, levin.image)
    palette = ReferenceImage(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), "palette")
    guided = engine.run(RecolorRequest(image, mask=mask, references=(palette,)))
    assert guided.engine == "gan" and not np.array_equal(guided.image, levin.image)
    assert engine.run(RecolorRequest(image, mask=mask, engine="gan")).engine == "gan"


def test_the_gan_does_not_force_a_strokes_color_on_pixels_it_only_crossed(engine):
    """A yellow stroke on a bright half that runs onto the darker half: the bright pixels take
    the yellow; the dark ones under the stroke keep the colour they have without the stroke
    (Levin, the baseline, still takes the stroke as it is)."""
    image = np.full((64, 96, 3), 200, np.uint8)
    image[:, 48:] = 95
    hints = np.zeros((64, 96, 4), np.uint8)
    hints[30:34, 10:56] = (250, 200, 20, 255)  # 38 px on the bright half, 8 on the dark
    yellow = rgb_to_lab(np.array([[[250, 200, 20]]], np.uint8))[0, 0, 1:]
    out = rgb_to_lab(engine.run(ColorizeRequest(image, hints=hints, engine="gan")).image)
    bright_only = hints.copy()
    bright_only[:, 48:] = 0
    reference = engine.run(ColorizeRequest(image, hints=bright_only, engine="gan")).image
    levin = rgb_to_lab(engine.run(ColorizeRequest(image, hints=hints, engine="levin")).image)
    assert np.abs(out[31, 20, 1:] - yellow).max() < 6.0
    assert np.abs(out[31, 50:55, 1:] - rgb_to_lab(reference)[31, 50:55, 1:]).max() < 1.0
    assert levin[31, 50:55, 2].min() > 20.0  # Levin paints the stroke's yellow there


def test_the_photo_is_encoded_once_and_kept_for_the_next_preview(
    tmp_path, random_stylizer, rng, monkeypatch
):
    """A photo that fits one tile is encoded once: its statistics come from that encoding. The
    features are kept per image, so a second preview at another strength encodes nothing and
    a new painting only the painting; a photo larger than a tile adds a statistics pass of
    the whole photo, and its tiles are encoded once per request, not kept."""
    engine = Engine(models_dir=tmp_path, device="cpu", stylizer=random_stylizer)
    passes: list[tuple[int, ...]] = []
    encode = random_stylizer.encode

    def counted(rgb01):
        passes.append(tuple(rgb01.shape[-2:]))
        return encode(rgb01)

    monkeypatch.setattr(random_stylizer, "encode", counted)
    image = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    painting = ReferenceImage(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8), "style")
    engine.run(StylizeRequest(image, style=painting, working_size=64))
    assert len(passes) == 2  # the painting, the photo
    engine.run(StylizeRequest(image, style=painting, alpha=0.5, working_size=64))
    assert len(passes) == 2
    other = ReferenceImage(np.full((40, 40, 3), 200, np.uint8), "style")
    engine.run(StylizeRequest(image, style=other, alpha=0.5, working_size=64))
    assert len(passes) == 3
    passes.clear()
    big = rng.integers(0, 256, (150, 200, 3), dtype=np.uint8)
    engine.run(StylizeRequest(big, style=other, working_size=200, tile_size=128, tile_overlap=16))
    tiles = [shape for shape in passes if max(shape) <= 128]
    assert len(passes) == len(tiles) + 1  # plus the statistics pass of the whole photo
    assert len(tiles) >= 4
    passes.clear()  # the tiles are not kept (memory), the statistics pass is
    engine.run(
        StylizeRequest(
            big, style=other, alpha=0.3, working_size=200, tile_size=128, tile_overlap=16
        )
    )
    assert passes == tiles
