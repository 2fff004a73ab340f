"""The suggest pipeline: the colours the colourizer finds likely at one pixel."""

from __future__ import annotations

import numpy as np

from colorstudio.ml import fullres
from colorstudio.ml.color import AB_SCALE
from colorstudio.ml.colorize import hints_small, reference_code
from colorstudio.ml.insight import predict_variants, suggestions_at
from colorstudio.ml.jobs import EngineError, Job
from colorstudio.ml.requests import Result, SuggestRequest
from colorstudio.ml.resample import area_resize
from colorstudio.ml.runtime import Runtime, working_shape


def suggest(rt: Runtime, request: SuggestRequest, job: Job) -> Result:
    """Colours the model finds likely at (x, y); needs the trained colourizer."""
    image = request.image
    h, w = image.shape[:2]
    with job.stage("suggest", 0.1):
        net = rt.colorizer_net()
        if net is None:
            raise EngineError("suggested colours need the trained colourization model")
        shape = working_shape(h, w, request.working_size)
        lightness = fullres.lightness(image[..., :3])
        l_small = area_resize(lightness[None, None], shape)
        hint_ab, hint_mask = hints_small(request.hints, shape)
        hints = np.concatenate([hint_ab / AB_SCALE, hint_mask], axis=1)
        code, _strength = reference_code(request.references)
        variants = predict_variants(
            lambda **feed: rt.run_net(net, job, ["ab"], **feed)[0], l_small, hints, code
        )
        y, x = request.y * shape[0] // h, request.x * shape[1] // w
        colors = suggestions_at(
            variants, float(lightness[request.y, request.x]), y, x, request.count
        )
    return Result(
        image[0:0, 0:0],
        (0, 0, 0, 0),
        request.request_id,
        "gan",
        rt.device,
        dict(job.timings),
        suggestions=tuple(colors),
        source=image,
    )
