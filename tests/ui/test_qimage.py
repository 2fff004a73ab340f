"""numpy ↔ QImage: the canvas's display images hold the pixels exactly."""

import numpy as np
import pytest
from PySide6.QtGui import QImage

from colorstudio.ui.qimage import display_qimage, qimage_to_rgba, rgba_to_qimage


@pytest.mark.parametrize("channels", [3, 4])
def test_display_images_are_premultiplied_and_exact(qapp, rng, channels):
    pixels = rng.integers(0, 256, (37, 53, channels), dtype=np.uint8)
    if channels == 4:
        pixels[..., 3] = 255  # opaque: premultiplying loses nothing
    image = display_qimage(pixels)
    assert image.format() == QImage.Format.Format_ARGB32_Premultiplied
    back = qimage_to_rgba(image)
    assert np.array_equal(back[..., :3], pixels[..., :3]) and (back[..., 3] == 255).all()


def test_a_strided_view_and_a_later_change_do_not_leak_into_the_image(qapp, rng):
    pixels = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    view = pixels[::2, ::3]
    image = display_qimage(view)
    expected = view.copy()
    pixels[:] = 0  # the image owns its pixels
    assert np.array_equal(qimage_to_rgba(image)[..., :3], expected)


def test_straight_rgba_round_trips(qapp, rng):
    rgba = rng.integers(0, 256, (9, 11, 4), dtype=np.uint8)
    assert np.array_equal(qimage_to_rgba(rgba_to_qimage(rgba)), rgba)
