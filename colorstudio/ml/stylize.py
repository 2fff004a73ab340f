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
import torch
import torch.nn.functional as F
from PIL import Image

from colorstudio.core.geometry import fit_long_side
from colorstudio.ml import fullres
from colorstudio.ml.colorize import colorize
from colorstudio.ml.jobs import Job, content_digest, unchanged
from colorstudio.ml.masked import finish, region_of
from colorstudio.ml.requests import ColorizeRequest, ReferenceImage, Result, StylizeRequest
from colorstudio.ml.resample import resize_rows
from colorstudio.ml.tiling import run_tiled

if TYPE_CHECKING:
    from colorstudio.ml.runtime import Runtime

STATS_SIZE = 512  # long side of the downscaled pass that gives the shared content statistics
EDGE_MARGIN = 16  # px mirrored around the photo so its border is not stylized as an edge


def _to_tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(rgb[..., :3])).permute(2, 0, 1)[None].float() / 255.0


def _resized(rgb: np.ndarray, long_side: int) -> np.ndarray:
    """H x W x 3+ uint8 → RGB with the long side at most ``long_side`` (Lanczos)."""
    im = Image.fromarray(np.ascontiguousarray(rgb[..., :3]))
    if max(im.height, im.width) <= long_side:  # never enlarged, however small
        return np.array(im)
    h, w = fit_long_side(im.height, im.width, long_side, minimum=8)
    return np.array(im.resize((w, h), Image.Resampling.LANCZOS))


def _to_full(
    styled: torch.Tensor, base: np.ndarray, recon: torch.Tensor | None, detail: float
) -> np.ndarray:
    """(1, 3, ph, pw) in 0..1 → H x W x 3 uint8 like ``base``, bilinearly upscaled in bands.

    With a reconstruction, ``detail`` × (base − reconstruction) is added back: the full-size
    photo's detail that the decoder did not redraw."""
    h, w = base.shape[:2]
    out = np.empty((h, w, 3), np.uint8)
    small = styled[0].float().numpy()
    recon_small = None if recon is None else recon[0].float().numpy()

    def band(y0: int, y1: int) -> None:
        rgb = resize_rows(small, h, w, y0, y1)
        if recon_small is not None:
            photo = np.moveaxis(base[y0:y1, :, :3], -1, 0) / np.float32(255.0)
            rgb += detail * (photo - resize_rows(recon_small, h, w, y0, y1))
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
        model = engine.stylizer()
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
        content = _to_tensor(content_u8)
        style = _to_tensor(_resized(request.style.image, request.style_size))
        small = _to_tensor(_resized(content_u8, STATS_SIZE))

        def statistics(device: torch.device) -> torch.Tensor:
            s_mean, s_std = model.style_stats(style.to(device))
            c_mean, c_std = model.style_stats(small.to(device))
            return torch.stack([s_mean, s_std, c_mean, c_std]).cpu()

        s_mean, s_std, c_mean, c_std = engine.forward(model, job, statistics).unbind(0)
        # VGG's zero padding makes the photo's border look like an edge: the decoder drew a
        # band along it. Mirror a margin around the photo and crop it off afterwards.
        m = min(EDGE_MARGIN, content.shape[-2] - 1, content.shape[-1] - 1)
        padded = F.pad(content, (m, m, m, m), mode="reflect") if m > 0 else content
        # The decoder's reconstruction of the unstyled photo depends on neither the painting
        # nor the strength: a live preview computes it once per photo and working size.
        key = recon = None
        if request.detail > 0:
            key = (content_digest(padded), request.tile_size, request.tile_overlap, id(model))
            recon = engine.cache("reconstruction").get(key)
        styled = _tiled(
            engine,
            model,
            request,
            job,
            padded,
            (s_mean, s_std),
            (c_mean, c_std),
            reconstruct=key is not None and recon is None,
        )
        if styled.shape[1] == 6:
            styled, recon = styled[:, :3], engine.cache("reconstruction").put(key, styled[:, 3:])
        if m > 0:
            styled = styled[..., m:-m, m:-m]
            recon = None if recon is None else recon[..., m:-m, m:-m]
    with job.stage("upsample", 0.9):
        styled_full = _to_full(styled, base, recon, request.detail)
        if request.keep_color:  # luminance-only transfer: keep the photo's a*b*
            lab = fullres.rgb_to_lab(image[..., :3])
            styled_lab = fullres.rgb_to_lab(styled_full)
            styled_full = fullres.lab_to_rgb(
                np.concatenate([styled_lab[..., :1], lab[..., 1:]], -1)
            )
    with job.stage("compose", 0.95):
        edited = region.crop(styled_full)
    return finish(request, job, region, edited, name, engine.device)


def _tiled(
    engine,
    model,
    request: StylizeRequest,
    job: Job,
    content,
    style_stats,
    content_stats,
    reconstruct: bool,
):
    """Run the stylizer over tiles (smaller ones on out-of-memory, then the CPU:
    :meth:`Runtime.with_smaller_tiles`). ``reconstruct``: also the decoder's reconstruction
    (channels 3..5)."""

    def attempt(tile: int, last_try: bool) -> torch.Tensor:
        def tile_fn(piece: torch.Tensor, cpu_fallback: bool = last_try) -> torch.Tensor:
            th, tw = piece.shape[-2:]
            pad_h, pad_w = (-th) % 8, (-tw) % 8
            if pad_h or pad_w:  # VGG pools up to three times: use multiples of 8
                piece = F.pad(piece, (0, pad_w, 0, pad_h), mode="reflect")

            def forward(device: torch.device) -> torch.Tensor:
                out = model(
                    piece.to(device),
                    tuple(s.to(device) for s in style_stats),
                    request.alpha,
                    tuple(c.to(device) for c in content_stats),
                    reconstruct=reconstruct,
                )
                return out[..., :th, :tw].cpu()

            return engine.forward(model, job, forward, cpu_fallback=cpu_fallback)

        def check(fraction: float) -> None:
            job.check(0.1 + 0.75 * fraction, "stylizing")

        return run_tiled(content, tile_fn, tile, request.tile_overlap, check)

    return engine.with_smaller_tiles(job, request.tile_size, attempt)
