"""The colour pipeline: colourize and recolour requests.

The network predicts a*b* at the working size, the fast guided filter lifts it to full
resolution following the full-resolution lightness, and the output keeps the input's L* exactly
(within 8-bit rounding). Hints correct the network's hint-free prediction: with the "object"
reach by paths along the photo (:mod:`colorstudio.ml.hints`), with the "photo" reach by
likeness and a fusion with Levin (:func:`honour_hints`). A recolour on "auto" without
references is Levin's propagation of the colours around the region, which measured more
accurate there. Outside the mask the output is the input bit for bit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
from PIL import Image

from colorstudio.core.masks import as_unit
from colorstudio.ml import fullres, fusion, hints
from colorstudio.ml.classical import levin_colorize, reinhard_ab
from colorstudio.ml.color import AB_SCALE, normalize_l
from colorstudio.ml.jobs import EngineError, Job, content_digest, unchanged
from colorstudio.ml.manifest import ModelError
from colorstudio.ml.masked import finish, region_of
from colorstudio.ml.palette import empty_code, palette_code
from colorstudio.ml.render import render, upsample
from colorstudio.ml.requests import ColorizeRequest, RecolorRequest, ReferenceImage, Result
from colorstudio.ml.resample import area_resize, bilinear
from colorstudio.ml.runtime import Runtime, working_shape

LEVIN_MAX_SIZE = 256  # the sparse solve grows quickly; Levin runs at most at this size
CORRECTION_SIZE = 128  # grid on which the user's corrections to the network are propagated
CORRECTION_SIZE_PREVIEW = 64  # previews: far fewer unknowns (the corrections are smooth)
PREVIEW_HELD_OUT = 6  # previews: hints held out to weigh the network against Levin
HINTED_MIN_WEIGHT = 0.1  # below this share the hinted prediction is left out of the base
#: recolour with the GAN: Levin's share of the result (the known colours around the region
#: propagate into it edge-aware, more accurately than the network: docs/hint-model.md)
RECOLOR_LEVIN_SHARE = 0.75
FUSION_MIN_HINTS = 2  # fewer hints: no blending with Levin (see honour_hints)
#: with FUSION_MIN_HINTS or more, the fused result moves this far towards the second opinion
#: (:func:`_second_opinion`), whose base is SECOND_OPINION_HINTED hinted prediction and the rest
#: hint-free (chosen on training photos: docs/hint-model.md)
SECOND_OPINION_SHARE = 0.2
SECOND_OPINION_HINTED = 0.5
#: the hint-free prediction is the mean of the network's at these multiples of the working size
#: (+0.18 dB hint-free on devval, 2.25 more network runs once per photo: docs/hint-model.md)
AUTOMATIC_SCALES = (1.0, 1.5)
#: channels of the colourizer's ``features`` output that are its stride-8 level; the rest are
#: its stride-16 level brought to stride 8 (``HintColorizer.hint_features``)
FEATURES_8 = 40


def _nchw(array: np.ndarray) -> np.ndarray:
    """H x W or H x W x C → (1, C, H, W) float32."""
    array = np.asarray(array, np.float32)
    return (array[None] if array.ndim == 2 else np.moveaxis(array, -1, 0))[None]


def _second_opinion(l_small, hinted, automatic, hint_ab, hint_mask, grid) -> np.ndarray:
    """The hints' corrections by likeness (:func:`fusion.regress_corrections`) applied to a
    base that is SECOND_OPINION_HINTED the network's hinted prediction, the rest its hint-free
    one. On its own it scores below the fused result (the hinted prediction paints a blob
    around each hint, which smooth corrections cannot undo); averaged in, it helps, because it
    errs elsewhere. (1, 2, h, w) float32 arrays at the working size."""
    base = SECOND_OPINION_HINTED * hinted + (1 - SECOND_OPINION_HINTED) * automatic
    return base + fusion.regress_corrections(l_small, base, hint_ab, hint_mask, grid)


def engine_for(rt: Runtime, request: ColorizeRequest, has_hints: bool, job: Job) -> str:
    wanted = request.engine
    if wanted == "auto" and isinstance(request, RecolorRequest) and not request.references:
        # Recolouring from the known colours around the region, Levin's propagation alone
        # beats every share of the network (RECOLOUR_LEVIN_SHARE); the network is worth its
        # run only for what Levin cannot use: a palette reference.
        return "levin"
    broken = None  # auto: why the installed colourizer cannot be used (told to the user)
    if wanted in ("gan", "auto"):
        try:
            if rt.colorizer_net() is not None:
                return "gan"
        except ModelError as err:
            if wanted == "gan":
                raise
            broken = err
        if wanted == "gan":
            raise EngineError("no colourization model is installed in the models folder")
    if wanted in ("levin", "auto") and (has_hints or isinstance(request, RecolorRequest)):
        engine = "levin"
    elif wanted in ("reinhard", "auto") and any(r.role == "palette" for r in request.references):
        engine = "reinhard"
    elif wanted == "levin":
        raise EngineError("the Levin engine needs colour hints: paint some hint strokes first")
    elif wanted == "reinhard":
        raise EngineError("Reinhard colour transfer needs a palette reference image")
    else:
        reason = f"{broken}, or" if broken else "no colourization model is installed:"
        raise EngineError(
            f"{reason} paint colour hints or add a palette reference to use the classical engines"
        )
    if broken is not None:
        job.notes.append(f"{broken.problem}; used {engine.capitalize()} instead")
    return engine


def colorize(
    rt: Runtime, request: ColorizeRequest, job: Job, network_alone: bool = False
) -> Result:
    """Colourize or recolour (see the module docstring). ``network_alone`` (evaluation,
    ``engine`` "gan"): the network's own prediction from the hints (or the known colours
    around the region), without the hints' propagation, the fusion with Levin or the blend
    of scales — what the network itself has learned."""
    image = request.image
    h, w = image.shape[:2]
    recolor = isinstance(request, RecolorRequest)
    with job.stage("prepare", 0.05):
        region = region_of(request)
        if region is None:
            return unchanged(request, job, rt.device, "none")
        box = region.box
        has_hints = request.hints is not None and bool(request.hints[..., 3].any())
        engine = engine_for(rt, request, has_hints, job)
        lightness = fullres.lightness(image[..., :3])
        y0, x0, y1, x1 = box
        crop = image[y0:y1, x0:x1, :3]
        # The original a*b* are needed only where they are blended with or kept.
        ab_orig = None
        if region.weights is not None or engine == "reinhard":
            ab_orig = fullres.rgb_to_lab(crop)[..., 1:]
    influence = confidence = None
    size = min(request.working_size, LEVIN_MAX_SIZE) if engine == "levin" else request.working_size
    shape = working_shape(h, w, size)
    with job.stage("hints", 0.15):
        l_small = area_resize(lightness[None, None], shape)
        hint_ab, hint_mask = hints_small(request.hints, shape)
        if engine == "gan":  # (Levin, the baseline, takes the strokes as they are)
            hint_ab, hint_mask = fusion.drop_stray_hint_pixels(l_small, hint_ab, hint_mask)
        if recolor:  # known colours outside the region guide the network
            inside = np.ones((h, w), np.float32)
            if region.weights is not None:
                inside[:] = 0
                inside[y0:y1, x0:x1] = region.weights
            outside = (area_resize(inside[None, None], shape) < 0.5).astype(np.float32)
            keep = outside * (1 - hint_mask)
            ab_small_orig = area_resize(_nchw(ab_small_source(image, shape)), shape)
            hint_ab = hint_ab * (1 - keep) + ab_small_orig * keep
            hint_mask = np.maximum(hint_mask, outside)
    if engine == "reinhard":
        with job.stage("reinhard", 0.5):
            ref = next(r for r in request.references if r.role == "palette")
            ref_mask = None if ref.mask is None else as_unit(ref.mask)
            lab_crop = np.concatenate([lightness[y0:y1, x0:x1, None], ab_orig], -1)
            ab_new = reinhard_ab(lab_crop, fullres.rgb_to_lab(ref.image), ref_mask)
            ab_new = ab_orig + (ab_new - ab_orig) * float(ref.strength)
    else:
        with job.stage(engine, 0.4):
            if engine == "gan" and network_alone:
                ab_small = run_colorizer(rt, request, l_small, hint_ab, hint_mask, job)
            elif engine == "gan" and not recolor and request.hint_reach == "object":
                ab_small = object_reach(rt, request, l_small, hint_ab, hint_mask, job)
            elif engine == "gan":
                hinted = functools.cache(  # run once, shared by base and second opinion
                    lambda: run_colorizer(rt, request, l_small, hint_ab, hint_mask, job)
                )
                ab_small = network_prior(
                    rt, request, l_small, hint_ab, hint_mask, recolor, job, hinted
                )
                if bool(hint_mask.any()):
                    ab_small = honour_hints(
                        l_small,
                        ab_small,
                        hint_ab,
                        hint_mask,
                        request.preview,
                        None if recolor else lambda: hint_free(rt, request, l_small, job),
                        None if recolor else hinted,
                    )
            else:
                ab = levin_colorize(
                    l_small[0, 0], np.moveaxis(hint_ab[0], 0, -1), hint_mask[0, 0] > 0
                )
                ab_small = _nchw(ab)
            if engine == "gan" and not network_alone and request.provenance:
                influence, confidence = provenance(
                    rt, request, l_small, hint_ab, hint_mask, ab_small, job
                )
    radius = max(1, round(max(shape) / 128))
    region_weights = region.weights
    if engine != "reinhard" and region_weights is None:  # the whole box, as most previews
        with job.stage("render", 0.9):
            rgb = render(rt, image, lightness, l_small, ab_small, radius, box, request.preview)
    else:
        with job.stage("compose", 0.9):
            if engine != "reinhard":
                ab_new = upsample(lightness, l_small, ab_small, radius, box)
            if region_weights is not None:
                ab_new = ab_orig + (ab_new - ab_orig) * region_weights[..., None]
            rgb = fullres.l_ab_to_rgb(np.ascontiguousarray(lightness[y0:y1, x0:x1]), ab_new)
            if region_weights is not None:
                rgb = np.where(region_weights[..., None] > 0, rgb, crop)
    return finish(
        request, job, region, rgb, engine, rt.device, blend=False,
        hint_influence=influence, confidence=confidence,
    )  # fmt: skip


def object_reach(
    rt: Runtime, request: ColorizeRequest, l_small, hint_ab, hint_mask, job: Job
) -> np.ndarray:
    """The "object" reach: the network's hint-free a*b* corrected by the strokes along paths
    across the photo (:func:`hints.honour`). Previews build the photo's paths even without
    hints — the editor's warm-up is a hint-free preview — so the first stroke finds them ready.
    Arrays (1, C, h, w) float32 at the working size, as :func:`network_prior`'s."""
    base = hint_free(rt, request, l_small, job)
    hinted = bool(hint_mask.any())
    if not (hinted or request.preview):
        return base.copy()
    photo = photo_paths(rt, l_small, job)
    if not hinted:
        return base.copy()
    return hints.honour(photo, base[0], hint_ab[0], hint_mask[0, 0])[None]


def network_prior(
    rt: Runtime, request, l_small, hint_ab, hint_mask, recolor: bool, job: Job, hinted: Callable
):
    """The network's a*b* that the hints then correct: the hinted prediction weighted
    1 / (1 + hints) plus the hint-free one (cached per photo), the hinted one left out below
    HINTED_MIN_WEIGHT (given hints, the network paints blobs around each that the corrections
    cannot undo; measurements in docs/hint-model.md). ``hinted``: the hinted prediction, on
    demand and computed once. A recolour keeps the hinted prediction: its "hints" are the known
    colours around the region.
    """
    if recolor:
        return hinted()
    automatic = hint_free(rt, request, l_small, job)
    count = fusion.hint_count(hint_mask)
    if count == 0:
        return automatic.copy()
    weight = 1.0 / (1 + count)
    if weight < HINTED_MIN_WEIGHT:
        return automatic.copy()
    return weight * hinted() + (1 - weight) * automatic


def honour_hints(
    l_small,
    ab_net,
    hint_ab,
    hint_mask,
    preview: bool,
    automatic: Callable | None,
    hinted: Callable | None = None,
):
    """Make the prediction honour the hints (the "photo" reach).

    Colourize (``automatic`` given: the network's hint-free prediction, on demand): the
    corrections the hints ask for (hint − prediction) reach every pixel by likeness
    (:func:`fusion.corrections_and_support`: L*, the network's a*b* and position, on the
    correction grid) and hinted pixels take the hint colour. With FUSION_MIN_HINTS or more the
    result is blended with Levin's colourization from the same hints by how well each predicts
    held-out hints (:mod:`fusion`; the test uses the hint-free prediction, which has not seen
    them), Levin's share scaled per pixel by the hints' support (where no hint is alike, the
    corrected prediction stands). With ``hinted`` given, final renders move SECOND_OPINION_SHARE
    of the way to :func:`_second_opinion`. Previews (named differences): the 64 grid, fewer
    held-out hints, Levin by spreading on the coarse grid, no second opinion.

    Recolour (no ``automatic``; the "hints" are the known colours around the region): the
    corrections spread edge-aware by Levin propagation on a coarse grid, inwards from the
    region's border, then blended with Levin's colourization (RECOLOUR_LEVIN_SHARE).

    Measurements behind each stage: docs/hint-model.md.
    """
    height, width = ab_net.shape[-2:]
    grid = working_shape(
        height, width, CORRECTION_SIZE_PREVIEW if preview else CORRECTION_SIZE, multiple=8
    )
    if automatic is None:
        residual = (hint_ab - ab_net) * hint_mask
        corrected = ab_net + fusion.spread(l_small, residual, hint_mask, grid)
        levin = fusion.levin_at(l_small, hint_ab, hint_mask, LEVIN_MAX_SIZE)
        blended = corrected + RECOLOR_LEVIN_SHARE * (levin - corrected)
        return np.where(hint_mask > 0, hint_ab, blended)
    corrections, support = fusion.corrections_and_support(l_small, ab_net, hint_ab, hint_mask, grid)
    corrected = ab_net + corrections
    weight = None
    if fusion.hint_count(hint_mask) >= FUSION_MIN_HINTS:
        weight = fusion.leave_one_out_weight(
            l_small,
            automatic(),
            hint_ab,
            hint_mask,
            grid=32 if preview else 64,
            max_held_out=PREVIEW_HELD_OUT if preview else fusion.MAX_HELD_OUT,
        )
    if weight is None:
        return np.where(hint_mask > 0, hint_ab, corrected)
    fused = corrected
    if weight <= 0.99:
        if preview:
            levin = fusion.spread(l_small, hint_ab * hint_mask, hint_mask, grid)
        else:
            levin = fusion.levin_at(l_small, hint_ab, hint_mask, LEVIN_MAX_SIZE)
        fused = corrected + (1 - weight) * support * (levin - corrected)
    if hinted is not None and not preview and SECOND_OPINION_SHARE > 0:
        second = _second_opinion(l_small, hinted(), automatic(), hint_ab, hint_mask, grid)
        fused = fused + SECOND_OPINION_SHARE * (second - fused)
    return np.where(hint_mask > 0, hint_ab, fused)


def hint_free(rt: Runtime, request: ColorizeRequest, l_small, job: Job) -> np.ndarray:
    """The network's a*b* without hints. It depends only on the photo, the references and
    the working size, so it is cached: while the user paints hints on one photo, only the
    first preview pays for it."""
    code, strength = reference_code(request.references)
    key = (content_digest(l_small, code), tuple(l_small.shape), strength, id(rt.colorizer_net()))
    scales = AUTOMATIC_SCALES
    return rt.cache("automatic").kept(
        key, lambda: sum(automatic_at(rt, request, l_small, s, job) for s in scales) / len(scales)
    )


def photo_paths(rt: Runtime, l_small: np.ndarray, job: Job) -> hints.Paths:
    """The photo's step graph for the hint model (:func:`hints.paths`) from the lightness and
    the colourizer's reading of the photo (:func:`hints.meaning_of` of its encoder's stride-8
    and stride-16 features), cached per photo and working size like the hint-free
    prediction: while the user paints, only the first preview builds it."""
    net = rt.colorizer_net()
    assert net is not None
    key = (content_digest(l_small), tuple(l_small.shape), id(net))

    def build() -> hints.Paths:
        h, w = l_small.shape[-2:]
        no_hints = np.zeros((1, 3, h, w), np.float32)
        feed = {"l": normalize_l(l_small), "hints": no_hints, "code": empty_code()}
        features = rt.run_net(net, job, ["features"], **feed)[0][0]
        levels = [features[:FEATURES_8], features[FEATURES_8:]]
        return hints.paths(l_small[0, 0], hints.meaning_of(levels, features.shape[1:]))

    return rt.cache("paths").kept(key, build)


def automatic_at(rt: Runtime, request: ColorizeRequest, l_small, scale: float, job: Job):
    """The network's hint-free a*b* with the lightness resized by ``scale`` (to multiples
    of 32), brought back to the working size."""
    h, w = l_small.shape[-2:]
    size = (max(32, round(h * scale / 32) * 32), max(32, round(w * scale / 32) * 32))
    l_small = bilinear(l_small, size)
    no_hints = np.zeros((1, 2, *size), np.float32)
    ab = run_colorizer(rt, request, l_small, no_hints, no_hints[:, :1], job)
    return bilinear(ab, (h, w))


def provenance(rt: Runtime, request, l_small, hint_ab, hint_mask, ab_small, job: Job):
    """Hint influence and confidence maps; the influence compares ``ab_small`` — the
    colours the hints produced, after their corrections and the fusion — with the network's
    hint-free guess."""
    from colorstudio.ml.insight import predict_variants, provenance_maps

    net = rt.colorizer_net()
    assert net is not None
    code, _strength = reference_code(request.references)
    hints = np.concatenate([hint_ab / AB_SCALE, hint_mask], axis=1)
    variants = predict_variants(
        lambda **feed: rt.run_net(net, job, ["ab"], **feed)[0], l_small, hints, code
    )
    return provenance_maps(variants, ab_small)


def ab_small_source(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """a*b* of the image at about twice the working size (enough to average from)."""
    target = (min(image.shape[1], shape[1] * 2), min(image.shape[0], shape[0] * 2))
    small = np.asarray(
        Image.fromarray(np.ascontiguousarray(image[..., :3])).resize(target, Image.Resampling.BOX)
    )
    return fullres.rgb_to_lab(small)[..., 1:]


def hints_small(hints_rgba: np.ndarray | None, shape) -> tuple[np.ndarray, np.ndarray]:
    """Hint layer → ((1, 2, h, w) a*b*, (1, 1, h, w) mask in {0, 1}), float32 at the working
    size.

    The layer is box-averaged with premultiplied alpha (so a thin stroke keeps its colour)
    before any colour conversion; a working pixel counts as hinted when any of its
    full-resolution pixels is.
    """
    if hints_rgba is None or not hints_rgba[..., 3].any():
        return np.zeros((1, 2, *shape), np.float32), np.zeros((1, 1, *shape), np.float32)
    # Only hinted pixels matter: accumulate them into their working-size cells
    # (alpha-weighted colour sums), cost proportional to the painted area, not the image.
    height, width = hints_rgba.shape[:2]
    ys, xs = np.nonzero(hints_rgba[..., 3])
    cells = (ys * shape[0] // height) * shape[1] + xs * shape[1] // width
    alpha = hints_rgba[ys, xs, 3].astype(np.float64)
    n = shape[0] * shape[1]
    alpha_sum = np.bincount(cells, alpha, minlength=n)
    rgb = np.stack(
        [np.bincount(cells, hints_rgba[ys, xs, c] * alpha, minlength=n) for c in range(3)], -1
    )
    covered = (alpha_sum > 0).reshape(shape)
    rgb = np.clip(rgb / np.maximum(alpha_sum, 1e-9)[:, None] + 0.5, 0, 255).astype(np.uint8)
    ab = fullres.rgb_to_lab(rgb.reshape(*shape, 3))[..., 1:] * covered[..., None]
    return _nchw(ab), covered.astype(np.float32)[None, None]


def reference_code(references: tuple[ReferenceImage, ...]) -> tuple[np.ndarray, float]:
    """Strength-weighted mean palette code (1, CODE_DIM) of the references, and their strength
    (0 = none)."""
    codes, strengths = [], []
    for ref in references:
        if ref.strength <= 0:
            continue
        im = Image.fromarray(ref.image)
        im = im.reduce(max(1, max(im.size) // 256))
        lab = _nchw(fullres.rgb_to_lab(np.asarray(im)))
        mask = None
        if ref.mask is not None:
            m = Image.fromarray(ref.mask).resize(im.size, Image.Resampling.BILINEAR)
            mask = (np.asarray(m, np.float32) / 255.0)[None, None]
        codes.append(palette_code(lab, mask))
        strengths.append(float(ref.strength))
    if not codes:
        return empty_code(), 0.0
    weights = np.array(strengths, np.float32) / sum(strengths)
    code = (np.concatenate(codes) * weights[:, None]).sum(0, keepdims=True)
    return code.astype(np.float32), min(1.0, max(strengths))


def run_colorizer(rt: Runtime, request, l_small, hint_ab, hint_mask, job: Job) -> np.ndarray:
    """The network's a*b* (1, 2, h, w) float32 for the lightness and hints (arrays at the
    working size) and the request's references."""
    net = rt.colorizer_net()
    assert net is not None
    code, strength = reference_code(request.references)
    codes = np.concatenate([code, empty_code()]) if 0 < strength < 1 else code
    n = len(codes)
    hints = np.concatenate([hint_ab / AB_SCALE, hint_mask], axis=1)
    lightness = np.broadcast_to(normalize_l(l_small), (n, *l_small.shape[1:]))
    hints = np.broadcast_to(hints, (n, *hints.shape[1:]))
    ab = rt.run_net(net, job, ["ab"], l=lightness, hints=hints, code=codes)[0] * AB_SCALE
    if n == 2:  # blend "with reference" and "without" by the reference strength
        ab = ab[1:] + (ab[:1] - ab[1:]) * strength
    return ab
