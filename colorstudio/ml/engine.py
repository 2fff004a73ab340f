"""The inference engine: a request (numpy in) → a Result (numpy out).

:class:`Engine` is the :class:`~colorstudio.ml.runtime.Runtime` (device, hash-checked models,
the guarded forward pass, caches) plus a registry from request type to pipeline:

- colourize / recolour → :func:`colorstudio.ml.colorize.colorize`;
- stylize → :func:`colorstudio.ml.stylize.stylize` (AdaIN over overlapping feathered tiles);
- adjust → :func:`colorstudio.ml.adjust.adjust`; suggest → :func:`colorstudio.ml.suggest.suggest`;
- detect damage / repair → :mod:`colorstudio.ml.restore`.

Every pipeline leaves the input bit for bit outside the mask and blends inside it by mask ×
strength × strength map. Robustness: CUDA out-of-memory → smaller tiles → CPU (reported in
``Result.notes``); the cancel token is checked between stages and tiles; results are
deterministic for a given seed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from colorstudio.ml import fullres, restore
from colorstudio.ml.adjust import adjust
from colorstudio.ml.colorize import colorize
from colorstudio.ml.jobs import CancelToken, EngineError, Job, ProgressFn
from colorstudio.ml.requests import (
    AdjustRequest,
    ColorizeRequest,
    DetectDamageRequest,
    RestoreRequest,
    Result,
    StylizeRequest,
    SuggestRequest,
)
from colorstudio.ml.runtime import Runtime, working_shape
from colorstudio.ml.stylize import stylize
from colorstudio.ml.suggest import suggest

__all__ = ["CancelToken", "Engine", "EngineError", "working_shape"]


#: request type → pipeline(runtime, request, job); a subclass (RecolourRequest) finds its base's
PIPELINES: dict[type, Callable[[Runtime, Any, Job], Result]] = {
    ColorizeRequest: colorize,
    StylizeRequest: stylize,
    AdjustRequest: lambda rt, request, job: adjust(request, job),
    SuggestRequest: suggest,
    DetectDamageRequest: restore.detect_damage,
    RestoreRequest: restore.inpaint,
}


class Engine(Runtime):
    """The runtime and its pipelines; ``run(request)`` serves any request type."""

    def run(
        self, request, cancel: CancelToken | None = None, progress: ProgressFn | None = None
    ) -> Result:
        pipeline = next((p for kind, p in PIPELINES.items() if isinstance(request, kind)), None)
        if pipeline is None:
            raise EngineError(f"unknown request type {type(request).__name__}")
        job = Job(cancel, progress)
        wanted = self.preview_threads if getattr(request, "preview", False) else self.threads
        with self._lock, fullres.using_threads(wanted):
            self.active_threads = wanted
            self.models_used = {}
            result = pipeline(self, request, job)
            # which models made it (frozen: set as its __post_init__ sets its own fields)
            object.__setattr__(result, "models", tuple(self.models_used))
        job.check(1.0, "done")
        return result

    def run_network_alone(self, request: ColorizeRequest) -> Result:
        """The colourizer's own prediction for a colourize or recolour request (see
        :func:`colorize.colorize`); for evaluation. Needs the trained colourizer."""
        if request.engine not in ("gan", "auto"):
            raise EngineError("the network alone is the GAN engine's: ask for engine 'gan'")
        request = dataclasses.replace(request, engine="gan")  # no classical fallback
        with self._lock:
            return colorize(self, request, Job(), network_alone=True)
