"""``colorstudio restore``'s work on one image (shared with ``batch restore``): detect the
damage (or read ``--mask``), inpaint it, optionally colourize."""

from __future__ import annotations

import numpy as np

from colorstudio.cli_args import mask_image
from colorstudio.cli_progress import Progress, stage
from colorstudio.core.io.images import load_image, save_image


class RestoreOutcome:
    """The repaired image (H x W x 4 uint8) and a one-line summary of what was done."""

    def __init__(self, image: np.ndarray, summary: str) -> None:
        self.image = image
        self.summary = summary


def restore_image(
    engine, rgba: np.ndarray, args, progress: Progress | None = None
) -> RestoreOutcome:
    """detect (or --mask) → inpaint → optionally colourize; shared with ``batch restore``."""
    from colorstudio.ml.requests import (
        ColorizeRequest,
        DetectDamageRequest,
        ReferenceImage,
        RestoreRequest,
    )

    h, w = rgba.shape[:2]
    steps = []
    detect = not getattr(args, "mask", None)
    stages = [*(["detect"] if detect else []), "repair", *(["colourize"] if args.colorize else [])]
    if detect:
        found = engine.run(
            DetectDamageRequest(rgba[..., :3], sensitivity=args.sensitivity, grow=args.grow),
            progress=stage(progress, 0, len(stages), "detect"),
        )
        mask = found.mask
        steps.append(f"detector found {np.count_nonzero(mask) / mask.size:.2%} damaged")
        if getattr(args, "save_mask", None):
            save_image(args.save_mask, mask)
    else:
        mask = mask_image(args.mask, (h, w))
    repaired = engine.run(
        RestoreRequest(rgba, mask, engine=args.engine, working_size=args.size),
        progress=stage(progress, stages.index("repair"), len(stages), "repair"),
    ).image
    steps.append("nothing to repair" if not np.any(mask) else "repaired")
    if args.colorize:
        refs = tuple(ReferenceImage(load_image(p).rgba[..., :3]) for p in args.reference)
        color = engine.run(
            ColorizeRequest(repaired[..., :3], references=refs, working_size=384),
            progress=stage(progress, len(stages) - 1, len(stages), "colourize"),
        )
        repaired = np.dstack([color.image[..., :3], repaired[..., 3]])
        steps.append(f"colourized ({color.engine})")
    return RestoreOutcome(repaired, ", ".join(steps))
