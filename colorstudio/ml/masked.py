"""The masked edit every pipeline makes: weights → box → early exit → run → blend.

A request may carry a soft mask, a strength and a strength map (and a feather); together they
are the blend weights. :func:`region_of` finds the box that holds every weight above 0 (None:
nothing to do — the pipeline returns :func:`colorstudio.ml.jobs.unchanged`); the pipeline runs
on that box only; :func:`finish` blends its result into the photo by the weights — the photo
bit for bit where a weight is 0 — and makes the :class:`Result` (the patch and its box).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from colorstudio.core.geometry import BBox
from colorstudio.core.masks import apply_weighted, bbox_of, blend_weights
from colorstudio.ml.jobs import Job
from colorstudio.ml.requests import Result


@dataclass(frozen=True)
class Region:
    """Where a request may change its photo: ``box`` (y0, x0, y1, x1) and the blend ``weights``
    inside it (float32, box-sized, 0..1; None: fully, everywhere in the box)."""

    box: BBox
    weights: np.ndarray | None

    def crop(self, image: np.ndarray) -> np.ndarray:
        """``image``'s pixels in the box (a view)."""
        y0, x0, y1, x1 = self.box
        return image[y0:y1, x0:x1]


def region_of(request: Any) -> Region | None:
    """The region of a request with ``image`` and optionally ``mask``, ``strength``,
    ``strength_map`` and ``feather``; None when no weight is above 0."""
    h, w = request.image.shape[:2]
    weights = blend_weights(
        (h, w),
        request.mask,
        getattr(request, "strength", 1.0),
        getattr(request, "strength_map", None),
        getattr(request, "feather", 0.0),
    )
    box = bbox_of(weights, (h, w))
    if box is None:
        return None
    y0, x0, y1, x1 = box
    return Region(box, None if weights is None else weights[y0:y1, x0:x1])


def finish(
    request: Any,
    job: Job,
    region: Region,
    rgb: np.ndarray,
    engine: str,
    device: str,
    blend: bool = True,
    **payload: Any,
) -> Result:
    """The Result of an edit: ``rgb`` (uint8, the box's size, RGB) blended into the photo's box
    by the region's weights (``blend`` False: ``rgb`` is already the blended result), the
    photo's alpha kept; ``payload``: the Result's typed extras (provenance, a mask…)."""
    patch = region.crop(request.image).copy()
    patch[..., :3] = apply_weighted(patch[..., :3], rgb, region.weights) if blend else rgb
    return Result(
        patch,
        region.box,
        request.request_id,
        engine,
        device,
        dict(job.timings),
        tuple(job.notes),
        source=request.image,
        **payload,
    )
