"""Pull–push hole filling (Gortler et al. 1996), once for numpy and torch (the array API).

The classical inpainting engine, and the inpainter's prefill both at run time (numpy, before
the network's graph) and in training (torch tensors, batched): one implementation.
"""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace

Array = Any  #: a numpy array or a torch tensor


def _pad_even(x: Array) -> Array:
    """(N, C, H, W) with a zero row / column appended where H / W is odd."""
    xp = array_namespace(x)
    if x.shape[-2] % 2:
        x = xp.concat([x, xp.zeros_like(x[..., :1, :])], axis=-2)
    if x.shape[-1] % 2:
        x = xp.concat([x, xp.zeros_like(x[..., :, :1])], axis=-1)
    return x


def _sum_2x2(x: Array) -> Array:
    """Sums of 2 x 2 blocks (zero-padded to even sizes): (N, C, ceil(H/2), ceil(W/2))."""
    xp = array_namespace(x)
    x = _pad_even(x)
    n, c, h, w = x.shape
    return xp.sum(xp.reshape(x, (n, c, h // 2, 2, w // 2, 2)), axis=(3, 5))


def _mean_3x3(x: Array) -> Array:
    """3 x 3 means with the edge pixels repeated outside (N, C, H, W)."""
    xp = array_namespace(x)
    x = xp.concat([x[..., :1, :], x, x[..., -1:, :]], axis=-2)
    x = xp.concat([x[..., :, :1], x, x[..., :, -1:]], axis=-1)
    h, w = x.shape[-2] - 2, x.shape[-1] - 2
    total = sum(x[..., dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3))
    return total / 9.0


def pull_push(image: Array, mask: Array) -> Array:
    """Fill the holes smoothly from the pixels around them.

    image (N, C, H, W) float, mask (N, 1, H, W) with 1 = hole (thresholded at 0.5) →
    (N, C, H, W) with the known pixels unchanged. Pull: average the known pixels down a pyramid
    until every pixel is known; push: bring the coarse values back up (upsampled and
    3 x 3-smoothed) into the holes. An image with nothing known at all becomes mid grey."""
    xp = array_namespace(image, mask)
    known = xp.astype(mask < 0.5, image.dtype)
    values = image * known
    levels = []
    while True:
        levels.append((values, known))
        n = known.shape[0]
        if bool(xp.all(xp.min(xp.reshape(known, (n, -1)), axis=1) > 0)):
            break
        if min(known.shape[-2:]) <= 1:
            break
        k4, v4 = _sum_2x2(known), _sum_2x2(values)
        values = xp.where(k4 > 0, v4 / xp.clip(k4, min=1e-6), 0.0)
        known = xp.clip(k4, max=1.0)
    filled = levels[-1][0]
    if bool(xp.any(levels[-1][1] == 0)):  # nothing known at all: mid grey
        filled = xp.where(levels[-1][1] > 0, filled, 0.5)
    for values, known in reversed(levels[:-1]):
        h, w = known.shape[-2:]
        up = xp.repeat(xp.repeat(filled, 2, axis=-2), 2, axis=-1)[..., :h, :w]
        filled = values + _mean_3x3(up) * (1 - known)
    return filled
