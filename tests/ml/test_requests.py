"""Frozen request objects."""

import dataclasses

import numpy as np
import pytest

from colorstudio.ml.requests import ColorizeRequest, RecolorRequest, ReferenceImage, StylizeRequest


def test_requests_are_frozen_and_own_their_arrays():
    image = np.zeros((4, 5, 3), np.uint8)
    request = ColorizeRequest(image, working_size=320)
    image[0, 0] = 255  # the document changes after the request was made...
    assert request.image[0, 0, 0] == 0  # ...the job does not see it
    assert not request.image.flags.writeable
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.working_size = 512
    with pytest.raises(ValueError):
        request.image[0, 0] = 1


def test_sizes_must_match():
    with pytest.raises(ValueError, match="mask is"):
        ColorizeRequest(np.zeros((4, 5, 3), np.uint8), mask=np.zeros((5, 4), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        ColorizeRequest(np.zeros((4, 5, 3), np.float32))


def test_dict_round_trip_and_replace():
    request = ColorizeRequest(np.zeros((4, 5, 3), np.uint8), engine="levin", seed=7)
    data = request.to_dict()
    assert data["kind"] == "ColorizeRequest"
    again = ColorizeRequest.from_dict(data)
    assert (
        again.engine == "levin" and again.seed == 7 and np.array_equal(again.image, request.image)
    )
    assert request.replace(seed=8).seed == 8 and request.seed == 7


def test_request_specific_checks():
    image = np.zeros((4, 5, 3), np.uint8)
    with pytest.raises(ValueError, match="needs a mask"):
        RecolorRequest(image)
    with pytest.raises(ValueError, match="style reference"):
        StylizeRequest(image)
    with pytest.raises(ValueError, match="palette or style"):
        ReferenceImage(image, role="texture")
    with pytest.raises(ValueError, match="alpha"):
        StylizeRequest(image, style=ReferenceImage(image, "style"), alpha=2.0)


def test_a_result_carries_its_patch_and_what_changed_not_a_full_size_copy(rng):
    from colorstudio.ml.requests import Result

    source = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    output = source.copy()
    output[10:12, 20:23] = 0
    result = Result.compose(source, output, (5, 15, 20, 30), 7, "gan")
    assert result.patch.shape == (15, 15, 3)
    assert np.shares_memory(result.source, source)  # by reference, never copied
    assert not result.source.flags.writeable and not result.patch.flags.writeable
    assert result.changed.sum() == int((source[10:12, 20:23] != 0).any(axis=2).sum())
    assert result.changed[5:7, 5:8].all() and not result.changed[0].any()
    assert np.array_equal(result.image, output) and result.image is not result.image
    with pytest.raises(ValueError, match="patch"):
        Result(np.zeros((3, 3, 3), np.uint8), (0, 0, 4, 4), source=source)


def test_pipelines_return_only_their_box(engine, rng):
    from colorstudio.ml.requests import AdjustRequest, ColorizeRequest

    image = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    mask = np.zeros((48, 64), np.uint8)
    mask[10:20, 30:50] = 255
    for request in (
        ColorizeRequest(image, mask=mask),
        AdjustRequest(image, mask=mask, hue=90),
    ):
        result = engine.run(request)
        assert result.bbox == (10, 30, 20, 50) and result.patch.shape == (10, 20, 3)
        assert result.source is request.image
        assert np.array_equal(result.image[:10], image[:10])


def test_the_masked_edit_changes_only_weighted_pixels_and_keeps_alpha(rng):
    from colorstudio.ml.jobs import Job
    from colorstudio.ml.masked import finish, region_of
    from colorstudio.ml.requests import AdjustRequest

    image = rng.integers(0, 256, (30, 40, 4), dtype=np.uint8)
    mask = np.zeros((30, 40), np.uint8)
    mask[5:10, 8:20] = 128
    request = AdjustRequest(image, mask=mask, strength=0.5)
    region = region_of(request)
    assert region is not None and region.box == (5, 8, 10, 20)
    assert region.weights is not None and np.allclose(region.weights, 0.5 * 128 / 255)
    white = np.full((5, 12, 3), 255, np.uint8)
    result = finish(request, Job(), region, white, "adjust", "cpu")
    out = result.image
    assert np.array_equal(out[..., 3], image[..., 3])  # alpha kept
    outside = np.ones((30, 40), bool)
    outside[5:10, 8:20] = False
    assert np.array_equal(out[outside], image[outside])  # bit for bit
    assert (out[5:10, 8:20, :3].astype(int) >= image[5:10, 8:20, :3]).all()  # part way to white
    assert region_of(AdjustRequest(image, mask=np.zeros((30, 40), np.uint8))) is None
