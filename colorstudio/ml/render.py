"""The last step of the colour pipeline: a*b* at the working size → sRGB at full resolution
(:func:`fullres.guided_upsample`, then :func:`fullres.l_ab_to_rgb`), and for previews only
what changed since the photo's last preview.

A hint stroke changes the working-size a*b* only on the object it reaches (with the default
reach a third of the photo, often less), yet the full-resolution steps are most of a preview's
time. So each preview's working-size a*b* and its render are kept, per photo and box; the next
preview of the same photo compares its a*b* with them and re-renders only the box around the
working pixels that differ, grown by the guided filter's reach (two box means of ``radius``
and the bilinear step). Every pixel outside that box would be computed from the same inputs,
so the result equals a full render (up to the float rounding of a running sum). Final renders
(Apply) are one-off and full size: they are computed whole and not kept.
"""

from __future__ import annotations

import math

import numpy as np

from colorstudio.core.geometry import BBox, intersect
from colorstudio.core.masks import bbox_of
from colorstudio.ml import fullres
from colorstudio.ml.jobs import content_digest
from colorstudio.ml.runtime import Runtime


def upsample(lightness, l_small, ab_small, radius: int, box: BBox) -> np.ndarray:
    """The box's a*b* (h x w x 2 float32) at full resolution: ``ab_small`` lifted along the
    guide ``l_small`` to the edges of ``lightness`` (the colour pipeline's one upsampling)."""
    return fullres.guided_upsample(
        l_small / 100.0, ab_small, lightness / 100.0, radius=radius, box=box
    )


def _render(lightness, l_small, ab_small, radius: int, box: BBox) -> np.ndarray:
    y0, x0, y1, x1 = box
    ab = upsample(lightness, l_small, ab_small, radius, box)
    return fullres.l_ab_to_rgb(np.ascontiguousarray(lightness[y0:y1, x0:x1]), ab)


def reach_box(changed: np.ndarray, full: tuple[int, int], radius: int) -> BBox:
    """The full-resolution box whose pixels depend on the working pixels ``changed`` (h x w
    bool, some True) through the guided upsampling with ``radius``."""
    h, w = changed.shape
    height, width = full
    # a and b are box means of box means of the input (2r + 1), and one more for the bilinear
    # step
    found = bbox_of(changed, (h, w), margin=2 * radius + 2)
    assert found is not None, "no working pixel changed"
    ly0, lx0, ly1, lx1 = found
    return (
        math.floor(ly0 * height / h),
        math.floor(lx0 * width / w),
        min(height, math.ceil(ly1 * height / h)),
        min(width, math.ceil(lx1 * width / w)),
    )


def render(
    rt: Runtime,
    image: np.ndarray,
    lightness: np.ndarray,
    l_small: np.ndarray,
    ab_small: np.ndarray,
    radius: int,
    box: BBox,
    preview: bool,
) -> np.ndarray:
    """uint8 RGB (the box's size) of ``lightness`` (H x W float32 L*) with the a*b* of
    ``ab_small`` ((1, 2, h, w) float32) lifted along the guide ``l_small`` ((1, 1, h, w) L*).
    ``image``: the request's photo, which names the cache entry of a preview."""
    if not preview:
        return _render(lightness, l_small, ab_small, radius, box)
    cache = rt.cache("render")
    key = (content_digest(image), tuple(ab_small.shape), radius, box)
    before = cache.get(key)
    if before is None:
        rgb = _render(lightness, l_small, ab_small, radius, box)
    else:
        old_ab, rgb = before
        changed = (old_ab != ab_small).any(axis=(0, 1))
        sub = intersect(box, reach_box(changed, lightness.shape, radius)) if changed.any() else None
        if sub is not None:
            y0, x0 = box[:2]
            rgb = rgb.copy()  # the kept render is never written to
            rgb[sub[0] - y0 : sub[2] - y0, sub[1] - x0 : sub[3] - x0] = _render(
                lightness, l_small, ab_small, radius, sub
            )
    cache.pop(key, None)  # re-inserted as the newest
    cache.put(key, (ab_small.copy(), rgb))
    return rgb
