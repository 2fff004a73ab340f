"""Restoration pipeline: damage detection and inpainting at full resolution.

- Detection looks at the print at two scales: at ``working_size`` (long side; thin cracks and
  specks are a pixel or two wide) and whole at ``COARSE_SIZE`` (large losses — torn paper,
  peeled emulsion — are recognised only with the print around them, at the scale the detector
  was trained on). Each pass runs over feathered tiles; the larger probability wins, is
  upsampled to full resolution, thresholded (1 − sensitivity) and grown a little.
- Inpainting runs the gated-convolution inpainter only on windows around the damage, with
  context (a few dust specks on a 24 MP scan cost a few small windows, not hundreds of tiles).
  Images larger than ``working_size`` are inpainted downscaled and the fill is upscaled into
  the holes. Every pixel outside the mask is returned bit for bit; soft mask values blend.
- Without a trained inpainter (or with ``engine="classical"``) a pull–push fill (mask-weighted
  image pyramid, Gortler et al. 1996) gives a smooth fill: fine for specks and thin scratches.

OOM handling follows the stylizer: halve the tile size, then fall back to the CPU.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PIL import Image
from scipy import ndimage

from colorstudio.core.geometry import fit_long_side
from colorstudio.core.masks import bbox_of
from colorstudio.ml.jobs import EngineError, Job, unchanged
from colorstudio.ml.masked import finish, region_of
from colorstudio.ml.pullpush import pull_push
from colorstudio.ml.requests import DetectDamageRequest, RestoreRequest, Result
from colorstudio.ml.resample import bilinear, pad_to, resize_rows
from colorstudio.ml.tiling import feather_window, run_tiled, tile_spans

if TYPE_CHECKING:
    from colorstudio.ml.runtime import Net, Runtime


def _planes(rgb: np.ndarray) -> np.ndarray:
    """H x W x 3+ uint8 → (1, 3, H, W) float32 in 0..1."""
    return (np.moveaxis(rgb[..., :3], -1, 0)[None] / np.float32(255)).astype(np.float32)


def _resize_rgb(rgb: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if rgb.shape[:2] == shape:
        return np.ascontiguousarray(rgb[..., :3])
    im = Image.fromarray(np.ascontiguousarray(rgb[..., :3]))
    return np.array(im.resize((shape[1], shape[0]), Image.Resampling.LANCZOS))


# ---------------------------------------------------------------------- detection
def damage_probability(rt: Runtime, net: Net, job: Job, rgb01: np.ndarray, last_try: bool):
    """The detector's probability map for (N, 3, H, W) sRGB in 0..1, any size (padded to the
    multiple of 8 it needs, cropped back): (N, 1, H, W) float32."""
    h, w = rgb01.shape[-2:]
    (prob,) = rt.run_net(net, job, None, cpu_fallback=last_try, image=pad_to(rgb01, 8))
    return prob[..., :h, :w]


#: the long side of the coarse pass: about the size of the photos the detector trains on (crops
#: of photos decoded at a 320 px short side), where a torn corner or a peeled patch is as large,
#: relative to what the network sees, as in training
COARSE_SIZE = 480

#: shorter sides than this hold too little of a print to tell damage from the picture (the
#: detector judges a crack by the photo around it): detection finds nothing and says why
MIN_DETECT_SIDE = 32


def damage_map(
    engine: Runtime, net: Net, job: Job, image: np.ndarray, request: DetectDamageRequest
) -> np.ndarray:
    """The detector's probability for ``image`` (H x W x 3+ uint8) at the two scales, the larger
    kept: float32 at the working size (``fit_long_side(H, W, request.working_size)``), 0..1."""
    h, w = image.shape[:2]
    scales = [fit_long_side(h, w, request.working_size, minimum=8)]
    coarse_shape = fit_long_side(h, w, min(COARSE_SIZE, request.working_size), minimum=8)
    if coarse_shape != scales[0]:
        scales.append(coarse_shape)
    small_shape = scales[0]
    prob = np.zeros(small_shape, np.float32)
    tile_size = request.tile_size  # a pass that ran out of memory leaves the next its tile
    for index, shape in enumerate(scales):
        start, span = 0.05 + 0.8 * index / len(scales), 0.8 / len(scales)
        with job.stage("prepare", start):
            planes = _planes(_resize_rgb(image, shape))

        def attempt(tile: int, last_try: bool, planes=planes, start=start, span=span):
            nonlocal tile_size
            tile_size = tile

            def check(fraction: float) -> None:
                job.check(start + span * fraction, "finding damage")

            def tile_fn(piece: np.ndarray) -> np.ndarray:
                return damage_probability(engine, net, job, piece, last_try)

            return run_tiled(planes, tile_fn, tile, request.tile_overlap, check)

        with job.stage("detect", start):
            found_prob = engine.with_smaller_tiles(job, tile_size, attempt)[0, 0]
        prob = np.maximum(prob, bilinear(found_prob, small_shape))
    return prob


def detect_damage(engine: Runtime, request: DetectDamageRequest, job: Job) -> Result:
    image = request.image
    h, w = image.shape[:2]
    with job.stage("prepare", 0.02):
        net = engine.net("detect")
        if net is None:
            raise EngineError("no damage detection model is installed in the models folder")
    if min(h, w) < MIN_DETECT_SIDE:
        note = f"the image is too small to look for damage in (under {MIN_DETECT_SIDE} px)"
        return Result.compose(
            image, image, (0, 0, 0, 0), request.request_id, "detector", engine.device,
            dict(job.timings), (note,), mask=np.zeros((h, w), np.uint8),
        )  # fmt: skip
    prob = damage_map(engine, net, job, image, request)
    small_shape = prob.shape
    with job.stage("mask", 0.9):
        found = bilinear(prob, (h, w)) >= 1.0 - request.sensitivity
        if request.grow:
            grow = max(1, round(request.grow * max(h, w) / max(small_shape)))
            found = ndimage.binary_dilation(found, iterations=grow)
        mask = found.astype(np.uint8) * 255
    box = bbox_of(found, (h, w)) or (0, 0, 0, 0)
    notes = tuple(job.notes) + (
        () if found.any() else ("no damage found: raise the sensitivity or paint the mask",)
    )
    return Result.compose(
        image, image, box, request.request_id, "detector", engine.device,
        dict(job.timings), notes, mask=mask,
    )  # fmt: skip


# ---------------------------------------------------------------------- inpainting
def pull_push_fill(rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Fill ``hole`` (H x W bool) smoothly from the pixels around it (the classical engine; see
    :func:`colorstudio.ml.pullpush.pull_push`). float32 H x W x C in 0..255, same out;
    known pixels unchanged."""
    image = np.moveaxis(np.asarray(rgb, np.float32) / np.float32(255.0), -1, 0)[None]
    filled = pull_push(image, hole.astype(np.float32)[None, None])[0]
    return np.moveaxis(filled, 0, -1) * np.float32(255.0)


def inpaint(engine: Runtime, request: RestoreRequest, job: Job) -> Result:
    image = request.image
    h, w = image.shape[:2]
    assert request.mask is not None
    region = region_of(request)
    if region is None or region.weights is None:
        return unchanged(request, job, engine.device, "none")
    y0, x0, y1, x1 = region.box
    with job.stage("prepare", 0.02):
        net = None
        if request.engine in ("auto", "gan"):
            net = engine.net("inpaint")  # a damaged model is refused, a missing one is None
            if net is None and request.engine == "gan":
                raise EngineError("no inpainting model is installed in the models folder")
        small_shape = fit_long_side(h, w, request.working_size, minimum=8)
        scaled = small_shape != (h, w)
        small = _resize_rgb(image, small_shape)
        hole = np.zeros((h, w), bool)
        hole[y0:y1, x0:x1] = region.weights > 0
        if scaled:  # a hole pixel anywhere in a downscaled pixel makes it a hole
            hole_small = (
                np.array(
                    Image.fromarray(hole.astype(np.uint8) * 255).resize(
                        (small_shape[1], small_shape[0]), Image.Resampling.BOX
                    )
                )
                > 0
            )
            hole_small = ndimage.binary_dilation(hole_small)
        else:
            hole_small = hole
    if net is None:
        with job.stage("fill", 0.1):
            filled = np.moveaxis(pull_push_fill(small, hole_small) / np.float32(255), -1, 0)
        name = "pull-push"
    else:
        with job.stage("inpaint", 0.1):
            filled = _inpaint_tiles(engine, net, request, job, _planes(small), hole_small)[0]
        name = "inpainter"
    with job.stage("compose", 0.9):
        # upscale only the box that holds damage
        boxed = resize_rows(filled, h, w, y0, y1, x0, x1) if scaled else filled[:, y0:y1, x0:x1]
        patch_u8 = np.clip(np.moveaxis(boxed, 0, -1) * 255 + 0.5, 0, 255).astype(np.uint8)
    return finish(request, job, region, patch_u8, name, engine.device)


def _inpaint_tiles(
    engine: Runtime, net: Net, request: RestoreRequest, job: Job, image: np.ndarray, hole
) -> np.ndarray:
    """Run the inpainter on the tiles that contain holes; blend overlaps with feathered weights.
    ``image`` (1, 3, H, W) in 0..1; returns the same (pixels in no tile keep the input)."""
    mask = hole.astype(np.float32)[None, None]
    return engine.with_smaller_tiles(
        job,
        request.tile_size,
        lambda tile, last_try: _tiles_pass(engine, net, job, image, mask, tile, request, last_try),
    )


#: context kept around each group of holes, at least (px at the working size), and the cell
#: size on which nearby holes are grouped
WINDOW_MARGIN = 32
WINDOW_CELL = 16


def hole_windows(hole: np.ndarray, tile: int) -> list[tuple[int, int, int, int]]:
    """Boxes (y0, x0, y1, x1) that together hold every hole pixel with context around it.

    Holes closer than about ``WINDOW_MARGIN`` px are grouped (on a coarse grid, so thousands of
    dust specks cost no more than a few big groups); each group's box gets a margin of context
    as large as half the group (at least ``WINDOW_MARGIN``, at most a quarter tile). A dozen
    specks on a photo thus cost a dozen small windows instead of every tile they touch.
    """
    h, w = hole.shape
    cell = WINDOW_CELL
    gh, gw = -(-h // cell), -(-w // cell)
    padded = np.zeros((gh * cell, gw * cell), bool)
    padded[:h, :w] = hole
    # numpy's stubs type any(axis=...) as a scalar or an array: they do not know the shape
    coarse: np.ndarray = padded.reshape(gh, cell, gw, cell).any(axis=(1, 3))  # type: ignore[assignment]
    near = ndimage.binary_dilation(coarse, iterations=-(-WINDOW_MARGIN // cell))
    labels, _ = ndimage.label(near, structure=np.ones((3, 3), bool))
    boxes = []
    for rows, cols in ndimage.find_objects(labels):
        sub = coarse[rows, cols]
        if not sub.any():
            continue
        ys, xs = np.nonzero(sub)
        y0, y1 = (rows.start + ys.min()) * cell, (rows.start + ys.max() + 1) * cell
        x0, x1 = (cols.start + xs.min()) * cell, (cols.start + xs.max() + 1) * cell
        margin = int(
            np.clip(max(y1 - y0, x1 - x0) // 2, WINDOW_MARGIN, max(WINDOW_MARGIN, tile // 4))
        )
        boxes.append(
            (max(0, y0 - margin), max(0, x0 - margin), min(h, y1 + margin), min(w, x1 + margin))
        )
    return boxes


def _tiles_pass(engine, net, job, image, mask, tile, request, last_try) -> np.ndarray:
    """The inpainter over the windows around the holes (:func:`hole_windows`), each window
    tiled when larger than ``tile``; overlapping tiles blend with feathered weights. Each tile:
    the pull–push prefill (numpy), the network's correction of it, composited into the holes."""
    _, _, h, w = image.shape
    overlap = min(request.tile_overlap, tile // 4)
    todo = []
    for by0, bx0, by1, bx1 in hole_windows(mask[0, 0] > 0, tile):
        for y, th in tile_spans(by1 - by0, tile, overlap):
            for x, tw in tile_spans(bx1 - bx0, tile, overlap):
                if mask[..., by0 + y : by0 + y + th, bx0 + x : bx0 + x + tw].any():
                    inner = (y > 0, y + th < by1 - by0, x > 0, x + tw < bx1 - bx0)
                    todo.append((by0 + y, bx0 + x, th, tw, inner))
    total = np.zeros_like(image)
    weight = np.zeros((1, 1, h, w), np.float32)
    for done, (y, x, th, tw, inner) in enumerate(todo):
        job.check(0.1 + 0.75 * done / max(1, len(todo)), "filling damage")
        piece = pad_to(image[..., y : y + th, x : x + tw], 4)
        piece_mask = pad_to(mask[..., y : y + th, x : x + tw], 4)
        prefill = pull_push(piece, piece_mask)
        (raw,) = engine.run_net(
            net, job, None, cpu_fallback=last_try, prefill=prefill, mask=piece_mask
        )
        out = piece * (1 - piece_mask) + np.clip(raw, 0, 1) * piece_mask
        win = feather_window(th, tw, overlap, inner)
        total[..., y : y + th, x : x + tw] += out[..., :th, :tw] * win
        weight[..., y : y + th, x : x + tw] += win
    covered = weight > 0
    return np.where(covered, total / np.maximum(weight, 1e-8), image)
