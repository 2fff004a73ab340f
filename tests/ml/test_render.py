"""Previews re-render only what a stroke changed, and the result equals a full render."""

import numpy as np
import pytest

from colorstudio.ml.jobs import ResultCache
from colorstudio.ml.render import reach_box, render
from colorstudio.ml.resample import area_resize


class Caches:
    """The part of the runtime that render() uses: named caches."""

    def __init__(self):
        self.caches = {}

    def cache(self, name):
        return self.caches.setdefault(name, ResultCache(4))


def scene(rng, height=150, width=110, small=(48, 36)):
    lightness = rng.uniform(5, 95, (height, width)).astype(np.float32)
    l_small = area_resize(lightness[None, None], small)
    ab_small = rng.normal(0, 25, (1, 2, *small)).astype(np.float32)
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    return image, lightness, l_small, ab_small


def full(lightness, l_small, ab_small, radius, box):
    return render(None, None, lightness, l_small, ab_small, radius, box, preview=False)


@pytest.mark.parametrize("radius", [1, 3])
def test_a_change_reaches_no_pixel_outside_its_box(rng, radius):
    _image, lightness, l_small, ab_small = scene(rng)
    whole = (0, 0, *lightness.shape)
    before = full(lightness, l_small, ab_small, radius, whole)
    for y, x in [(20, 15), (0, 0), (47, 35), (10, 33)]:
        changed_ab = ab_small.copy()
        changed_ab[0, :, y, x] += 40.0
        after = full(lightness, l_small, changed_ab, radius, whole)
        ys, xs = np.nonzero((after != before).any(-1))
        assert len(ys)  # the change shows
        changed = np.zeros(ab_small.shape[-2:], bool)
        changed[y, x] = True
        y0, x0, y1, x1 = reach_box(changed, lightness.shape, radius)
        assert y0 <= ys.min() and ys.max() < y1 and x0 <= xs.min() and xs.max() < x1
        assert (y1 - y0) * (x1 - x0) < lightness.size / 2  # and the box stays small


def test_successive_previews_equal_full_renders_and_keep_the_cache_intact(rng):
    image, lightness, l_small, ab_small = scene(rng)
    box = (3, 2, 140, 100)
    caches = Caches()
    first = render(caches, image, lightness, l_small, ab_small, 2, box, preview=True)
    kept = first.copy()
    for step in range(3):  # strokes: each changes a patch of the working a*b*
        ab_small = ab_small.copy()
        y, x = 8 + 12 * step, 5 + 9 * step
        ab_small[0, :, y : y + 5, x : x + 4] = rng.normal(0, 30, (2, 5, 4))
        got = render(caches, image, lightness, l_small, ab_small, 2, box, preview=True)
        assert np.array_equal(got, full(lightness, l_small, ab_small, 2, box))
    assert np.array_equal(first, kept)  # a returned render is never written to later
    again = render(caches, image, lightness, l_small, ab_small, 2, box, preview=True)
    assert np.array_equal(again, got)  # nothing changed: the kept render


def test_another_photo_is_never_served_from_the_cache(rng):
    image, lightness, l_small, ab_small = scene(rng)
    caches = Caches()
    box = (0, 0, *lightness.shape)
    render(caches, image, lightness, l_small, ab_small, 2, box, preview=True)
    other = np.ascontiguousarray(image[::-1])  # same size, same a*b*: another photo
    dark = lightness * 0.5
    got = render(caches, other, dark, l_small, ab_small, 2, box, preview=True)
    assert np.array_equal(got, full(dark, l_small, ab_small, 2, box))


def test_a_result_cache_drops_the_least_recently_used_entry():
    """A photo previewed again stays cached while other paintings come and go."""
    cache = ResultCache(2)
    cache.put("photo", 1)
    cache.put("painting a", 2)
    assert cache.get("photo") == 1  # used again: now the most recent
    cache.put("painting b", 3)
    assert set(cache) == {"photo", "painting b"} and cache.get("painting a") is None
    assert cache.get("missing", "default") == "default"
