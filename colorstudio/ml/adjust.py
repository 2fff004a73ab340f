"""The adjust pipeline: hue rotation and chroma scaling in the a*b* plane, an L* offset."""

from __future__ import annotations

import numpy as np

from colorstudio.ml import fullres
from colorstudio.ml.jobs import Job, unchanged
from colorstudio.ml.masked import finish, region_of
from colorstudio.ml.requests import AdjustRequest, Result


def adjust(request: AdjustRequest, job: Job) -> Result:
    """Hue rotation and chroma scaling in the a*b* plane, an L* offset; inside the mask."""
    with job.stage("adjust", 0.1):
        region = region_of(request)
        if region is None:
            return unchanged(request, job, "cpu", "adjust")
        lab = fullres.rgb_to_lab(region.crop(request.image)[..., :3])
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
    return finish(request, job, region, edited, "adjust", "cpu")
