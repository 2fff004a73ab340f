"""Stylization pipeline: AdaIN at a processing size, over overlapping feathered tiles.

Every tile is normalised with the *same* content statistics (from a downscaled pass over the whole
image) and the same style statistics, so neighbouring tiles agree and the raised-cosine blend
leaves no seams. On out-of-memory the tile size is halved (down to ``runtime.MIN_TILE``) before the
engine falls back to the CPU. A grey photo with a painting is first colourized in the painting's
palette — "colourize + stylize" in one call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from colorstudio.core.geometry import fit_long_side
from colorstudio.ml import fullres
from colorstudio.ml.colorize import colorize
from colorstudio.ml.jobs import EngineError, Job, content_digest, unchanged
from colorstudio.ml.masked import finish, region_of
from colorstudio.ml.requests import ColorizeRequest, ReferenceImage, Result, StylizeRequest
from colorstudio.ml.resample import pad_to, resize_rows
from colorstudio.ml.tiling import run_tiled

if TYPE_CHECKING:
    from colorstudio.ml.runtime import Net, Runtime

STATS_SIZE = 512  # long side of the downscaled pass that gives the shared content statistics
EDGE_MARGIN = 16  # px mirrored around the photo so its border is not stylized as an edge


def _planes(rgb: np.ndarray) -> np.ndarray:
    """H x W x 3+ uint8 → (1, 3, H, W) float32 in 0..1."""
    return (np.moveaxis(rgb[..., :3], -1, 0)[None] / np.float32(255)).astype(np.float32)


def mean_std(features: np.ndarray, eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std over space of (N, C, H, W) features: two (N, C, 1, 1) float32
    arrays (as the stylizer was trained with: ``networks.stylizer.mean_std``)."""
    flat = np.asarray(features, np.float32).reshape(*features.shape[:2], -1)
    mean = flat.mean(2, keepdims=True)  # numpy's pairwise sums: float32 is exact enough here
    var = np.square(flat - mean).mean(2)
    return mean[..., None], np.sqrt(var + np.float32(eps))[..., None, None]


def adain(features, style_stats, content_stats, alpha: float) -> np.ndarray:
    """The decoder's input: ``features`` re-normalised from the content's statistics to the
    style's (AdaIN, Huang & Belongie 2017), blended with the features by ``alpha``. Every tile
    uses the statistics of the whole photo, so tiles agree and no seams appear. Both steps are
    one affine map per channel, applied in one pass over the features."""
    (s_mean, s_std), (c_mean, c_std) = style_stats, content_stats
    ratio = s_std / c_std
    scale = np.float32(alpha) * ratio + np.float32(1.0 - alpha)
    shift = np.float32(alpha) * (s_mean - c_mean * ratio)
    out = np.multiply(features, scale, dtype=np.float32)
    out += shift
    return out


def _resized(rgb: np.ndarray, long_side: int) -> np.ndarray:
    """H x W x 3+ uint8 → RGB with the long side at most ``long_side`` (Lanczos)."""
    im = Image.fromarray(np.ascontiguousarray(rgb[..., :3]))
    if max(im.height, im.width) <= long_side:  # never enlarged, however small
        return np.array(im)
    h, w = fit_long_side(im.height, im.width, long_side, minimum=8)
    # reducing_gap: a box reduction by whole factors first, Lanczos over the last 3x or more
    # (PIL's own shortcut; 24 MP to 512 px in 55 instead of 190 ms, the same picture to the eye)
    return np.array(im.resize((w, h), Image.Resampling.LANCZOS, reducing_gap=3.0))


def _to_full(
    styled: np.ndarray,
    base: np.ndarray,
    photo_small: np.ndarray,
    recon: np.ndarray | None,
    detail: float,
) -> np.ndarray:
    """The stylised picture at the size of ``base`` (H x W x 3 uint8, the full-size photo):
    H x W x 3 uint8, bilinearly upscaled in bands.

    ``styled``, ``photo_small`` (the photo at the working size) and ``recon`` (the decoder's
    reconstruction of it, needed when ``detail`` > 0) are (1, 3, h, w) float32 in 0..1.
    Two kinds of the photo's detail come back:

    - finer than the working size (base − upscaled ``photo_small``), always: the decoder
      never saw it, so nothing of the painting is lost by keeping it, and the result is as
      sharp as the photo at any size (as colourizing keeps the full-resolution L*);
    - at the working size, ``detail`` × (``photo_small`` − ``recon``): the photo's own
      structure that the decoder redraws as paint. 0 keeps the painting's drawing, 1 gives
      the photo with the style's change added (stylised − reconstruction: what the decoder
      gets wrong of any photo cancels out)."""
    h, w = base.shape[:2]
    out = np.empty((h, w, 3), np.uint8)
    # upscaled(styled) + (base − upscaled(photo)) + detail × upscaled(photo − recon), with the
    # three working-size terms summed first: one upscale per band
    photo = np.asarray(photo_small[0], np.float32)
    change = np.asarray(styled[0], np.float32) - photo
    if recon is not None and detail > 0:
        change += np.float32(detail) * (photo - np.asarray(recon[0], np.float32))

    def band(y0: int, y1: int) -> None:
        rgb = resize_rows(change, h, w, y0, y1)
        rgb += np.moveaxis(base[y0:y1, :, :3], -1, 0) / np.float32(255.0)
        out[y0:y1] = np.clip(np.moveaxis(rgb, 0, -1) * 255 + 0.5, 0, 255).astype(np.uint8)

    fullres.map_bands(band, h, w)
    return out


def stylize(engine: Runtime, request: StylizeRequest, job: Job) -> Result:
    image = request.image
    assert request.style is not None
    with job.stage("prepare", 0.02):
        region = region_of(request)
        if region is None:
            return unchanged(request, job, engine.device, "none")
        encoder, decoder = engine.net("stylize", "encoder"), engine.net("stylize", "decoder")
        if encoder is None or decoder is None:
            raise EngineError("no style model is installed in the models folder")
        content_u8 = _resized(image, request.working_size)
        spread = np.abs(content_u8.astype(np.int16) - content_u8[..., :1]).max()
        grey = int(spread) <= 2
    name = "adain"
    base = image[..., :3]  # the full-size photo that the style's change is added to
    if request.colorize_first if request.colorize_first is not None else grey:
        with job.stage("colourize first", 0.05):
            palette = ReferenceImage(request.style.image, "palette", 1.0, request.style.mask)
            sub = ColorizeRequest(
                np.ascontiguousarray(base),
                hints=request.hints,
                references=(palette,),
                seed=request.seed,
                hint_reach=request.hint_reach,
            )
            base = colorize(engine, sub, Job(job.cancel)).image[..., :3]
            content_u8 = _resized(base, request.working_size)
            name = "colourize+adain"
    with job.stage("style", 0.1):
        content = _planes(content_u8)
        style_stats = _style_statistics(engine, encoder, job, request)
        # VGG's zero padding makes the photo's border look like an edge: the decoder drew a
        # band along it. Mirror a margin around the photo and crop it off afterwards.
        padded = _mirrored(content)
        m = EDGE_MARGIN
        # the photo at this size, by its pixels: its encoding, statistics and reconstruction
        # are kept under it
        photo_key = (content_digest(content_u8), content_u8.shape)
        # the whole photo's statistics: from the photo itself (mirrored margin included) where
        # it is one tile, which then reuses the encoding, else from a downscaled copy
        fits = max(padded.shape[-2:]) <= request.tile_size
        if fits:
            content_stats = _statistics(engine, encoder, job, padded, photo_key)
        else:
            small = _resized(content_u8, STATS_SIZE)
            small_key = (content_digest(small), small.shape)
            content_stats = _statistics(engine, encoder, job, _mirrored(_planes(small)), small_key)
        # The decoder's reconstruction of the unstyled photo depends on neither the painting
        # nor the strength: a live preview computes it once per photo and working size.
        key = recon = None
        if request.detail > 0:
            key = (photo_key, request.tile_size, request.tile_overlap, id(decoder))
            recon = engine.cache("reconstruction").get(key)
        styled = _tiled(
            engine,
            (encoder, decoder),
            request,
            job,
            (padded, photo_key),
            (style_stats, content_stats),
            reconstruct=key is not None and recon is None,
        )
        if styled.shape[1] == 6:
            styled, recon = styled[:, :3], engine.cache("reconstruction").put(key, styled[:, 3:])
        styled = styled[..., m:-m, m:-m]
        recon = None if recon is None else recon[..., m:-m, m:-m]
    with job.stage("upsample", 0.9):
        styled_full = _to_full(styled, base, content, recon, request.detail)
        if request.keep_color:  # luminance-only transfer: keep the photo's a*b*
            lab = fullres.rgb_to_lab(image[..., :3])
            styled_lab = fullres.rgb_to_lab(styled_full)
            styled_full = fullres.lab_to_rgb(
                np.concatenate([styled_lab[..., :1], lab[..., 1:]], -1)
            )
    with job.stage("compose", 0.95):
        edited = region.crop(styled_full)
    return finish(request, job, region, edited, name, engine.device)


def _mirrored(planes: np.ndarray) -> np.ndarray:
    """(1, 3, H, W) with EDGE_MARGIN px mirrored around it (mirrored again and again where the
    photo is smaller: the decoder's graph differs from the trained decoder within 10 px of
    its input's edge, ``networks.decoder_graph``)."""
    m = EDGE_MARGIN
    return np.pad(planes, ((0, 0), (0, 0), (m, m), (m, m)), mode="reflect")


def _encode(
    engine: Runtime,
    encoder: Net,
    job: Job,
    image: np.ndarray,
    key: tuple | None,
    cpu_fallback: bool = True,
) -> np.ndarray:
    """The encoder's features of ``image`` ((1, 3, H, W) float32, 0..1; padded to multiples of
    8 here, as VGG pools three times). With a ``key`` (the image's pixels, see the callers) they
    are kept: the photo's statistics pass and its only tile share one encoding, and a preview
    that changes the strength, the detail or the painting does not encode the photo again. The
    tiles of a photo larger than one tile have no key (memory)."""

    def run() -> np.ndarray:
        return engine.run_net(encoder, job, cpu_fallback=cpu_fallback, image=pad_to(image, 8))[0]

    return run() if key is None else engine.cache("features").kept((key, id(encoder)), run)


def _statistics(
    engine: Runtime, encoder: Net, job: Job, image: np.ndarray, key: tuple
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of the encoder's features of ``image`` ((1, 3, H, W) float32, 0..1),
    kept under ``key`` (the image's pixels)."""
    return engine.cache("statistics").kept(
        (key, id(encoder)), lambda: mean_std(_encode(engine, encoder, job, image, key))
    )


def _style_statistics(
    engine: Runtime, encoder: Net, job: Job, request: StylizeRequest
) -> tuple[np.ndarray, np.ndarray]:
    """The painting's statistics at ``request.style_size``, kept under its pixels: a preview
    with the same painting neither resizes nor encodes it again."""
    assert request.style is not None
    painting = request.style.image
    key = ("painting", content_digest(painting), painting.shape, request.style_size)

    def measure() -> tuple[np.ndarray, np.ndarray]:
        style = _planes(_resized(painting, request.style_size))
        return mean_std(_encode(engine, encoder, job, style, None))  # features not kept

    return engine.cache("statistics").kept((key, id(encoder)), measure)


def _tiled(
    engine: Runtime,
    nets: tuple[Net, Net],
    request: StylizeRequest,
    job: Job,
    photo: tuple[np.ndarray, tuple],
    stats,
    reconstruct: bool,
) -> np.ndarray:
    """Run the stylizer (encoder, AdaIN with the whole photo's ``stats``, decoder) over tiles
    (smaller ones on out-of-memory, then the CPU: :meth:`Runtime.with_smaller_tiles`).
    ``photo``: the mirrored photo ((1, 3, H, W) float32, 0..1) and its key (its pixels).
    ``reconstruct``: also the decoder's reconstruction of the unstyled tile (channels 3..5)."""
    encoder, decoder = nets
    style_stats, content_stats = stats
    content, key = photo

    def attempt(tile: int, last_try: bool) -> np.ndarray:
        def tile_fn(piece: np.ndarray) -> np.ndarray:
            th, tw = piece.shape[-2:]  # the encoding is padded to multiples of 8: cropped back
            whole = piece.shape == content.shape
            features = _encode(engine, encoder, job, piece, key if whole else None, last_try)
            target = adain(features, style_stats, content_stats, request.alpha)
            batch = np.concatenate([target, features]) if reconstruct else target
            (rgb,) = engine.run_net(decoder, job, cpu_fallback=last_try, features=batch)
            rgb = np.concatenate(list(rgb), axis=0)[None] if reconstruct else rgb
            return rgb[..., :th, :tw]

        def check(fraction: float) -> None:
            job.check(0.1 + 0.75 * fraction, "stylizing")

        return run_tiled(content, tile_fn, tile, request.tile_overlap, check)

    return engine.with_smaller_tiles(job, request.tile_size, attempt)
