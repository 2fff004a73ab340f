"""Frozen request objects."""

import dataclasses

import numpy as np
import pytest

from colorstudio.ml.requests import ColorizeRequest, RecolourRequest, ReferenceImage, StylizeRequest


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
        RecolourRequest(image)
    with pytest.raises(ValueError, match="style reference"):
        StylizeRequest(image)
    with pytest.raises(ValueError, match="palette or style"):
        ReferenceImage(image, role="texture")
    with pytest.raises(ValueError, match="alpha"):
        StylizeRequest(image, style=ReferenceImage(image, "style"), alpha=2.0)
