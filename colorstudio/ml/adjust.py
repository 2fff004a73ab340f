"""The adjust pipeline: hue rotation and chroma scaling in the a*b* plane, an L* offset."""

from __future__ import annotations

import numpy as np

from colorstudio.core.masks import apply_weighted, bbox_of, blend_weights
from colorstudio.ml import fullres
from colorstudio.ml.jobs import Job, unchanged
from colorstudio.ml.requests import AdjustRequest, Result


def adjust(request: AdjustRequest, job: Job) -> Result:
    """Hue rotation and chroma scaling in the a*b* plane, an L* offset; inside the mask."""
    image = request.image
    h, w = image.shape[:2]
    with job.stage("adjust", 0.1):
        weights = blend_weights(
            (h, w), request.mask, request.strength, request.strength_map, request.feather
        )
        box = bbox_of(weights, (h, w))
        if box is None:
            return unchanged(request, job, "cpu", "adjust")
        y0, x0, y1, x1 = box
        crop = image[y0:y1, x0:x1]
        lab = fullres.rgb_to_lab(crop[..., :3])
        theta = np.deg2rad(request.hue)
        c, s = np.cos(theta), np.sin(theta)
        a, b = lab[..., 1], lab[..., 2]
        new = np.stack(
            [
                np.clip(lab[..., 0] + request.lightness, 0, 100),
                (c * a - s * b) * request.saturation,
                (s * a + c * b) * request.saturation,
            ],
            -1,
        )
        edited = fullres.lab_to_rgb(new.astype(np.float32))
        crop_weights = None if weights is None else weights[y0:y1, x0:x1]
        out = crop.copy()
        out[..., :3] = apply_weighted(crop[..., :3], edited, crop_weights)
    return Result(out, box, request.request_id, "adjust", "cpu", dict(job.timings), source=image)
