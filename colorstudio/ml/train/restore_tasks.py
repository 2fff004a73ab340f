"""Training tasks for restoration: the damage detector and the gated-convolution inpainter.

Both train on clean photos damaged on the fly by :mod:`colorstudio.ml.damage`, whose masks are
exact, so no labelled old photos are needed.

- ``detect``: a random crop, sometimes made grey or sepia (old prints), damaged with a random
  mix of kinds, then film grain and JPEG recompression (not damage: the detector must learn to
  ignore them); a tenth of the crops stay undamaged so the net learns to stay quiet. Loss: BCE
  (damaged pixels up-weighted ×3, they are rare) + soft Dice, which targets the F1 the
  evaluation reports. No adversarial phase: detection is not a generation task.
- ``inpaint``: holes from three sources — synthetic damage masks grown by 1–2 px (what the
  detector hands over), free-form brush strokes (what users paint) and a mix of both. Losses:
  L1 on the raw prediction inside the holes only (a first run weighted holes ×6 as DeepFill v2
  does, but with a pull–push prefill the pixels outside are already right and only diluted the
  gradient), VGG perceptual on the composite, and in the GAN phase a hinge SN-PatchGAN that
  sees the image and the mask.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw
from scipy import ndimage

from colorstudio.ml.damage import synthesize_damage
from colorstudio.ml.networks.discriminator import PatchDiscriminator
from colorstudio.ml.networks.restore import DamageDetector, GatedInpainter
from colorstudio.ml.print_look import faded_print, scan, toned_print
from colorstudio.ml.train.data import CROP_SCALE, square
from colorstudio.ml.train.losses import PerceptualLoss, hinge_d_loss, hinge_g_loss
from colorstudio.ml.train.structure import maybe_structure
from colorstudio.ml.train.task_base import AdversarialTask, optimise, sample_grid_image

P_GREY = 0.4
P_SEPIA = 0.15
P_FADED = 0.15  # of the colour crops: a faded, yellowed colour print
P_CLEAN = 0.15
#: a greyscale scan (luma only), as archives scan most monochrome prints: without it the
#: detector learned that damage on a grey print is coloured (warm paper, brown dirt) and found
#: nothing on real greyscale scans
P_GREY_SCAN = 0.35
#: stains and torn corners on a crop drawn as large as on the photo it comes from: a 160 px
#: crop of a photo the detector later sees at 384 px (the first detector's stain recall: 0.19)
REGION_SCALE = (1.0, 2.4)


def _to_uint8(t: torch.Tensor) -> np.ndarray:
    return (t.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)


def _to_tensor(a: np.ndarray) -> torch.Tensor:
    t = torch.from_numpy(np.array(a))  # a copy: JPEG-decoded arrays are read-only
    return t.permute(2, 0, 1).float() / 255.0 if t.ndim == 3 else t[None].float()


def _square_uint8(image: np.ndarray, window: tuple[int, int, int], size: int) -> np.ndarray:
    """:func:`square` of a uint8 image, rounded back to uint8."""
    return np.clip(square(image, window, size) + 0.5, 0, 255).astype(np.uint8)


def old_print_look(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Make a crop grey, sepia-toned or faded now and then, as the prints people restore are."""
    r = rng.random()
    if r >= P_GREY + P_SEPIA:
        return faded_print(rgb, rng) if rng.random() < P_FADED else rgb
    return toned_print(rgb, sepia=r >= P_GREY)


def zoom_scale(zoom: float, size: int, short_side: int) -> tuple[float, float]:
    """The area fractions of a photo that detector crops take (ImageBank.crop's ``scale``) so
    that a crop is magnified up to ``zoom`` times when resized to ``size``. Real prints are
    scanned at 1-2 k px: an eye, a lace hole or a rail is 10-40 px there, larger than anything
    in photos decoded at a ``short_side`` of 320, so unmagnified crops never show the detector
    picture structure at the size it meets it. Zoom 1 gives the bank's default, CROP_SCALE."""
    if zoom < 1:
        raise ValueError(f"the detector's zoom must be at least 1, got {zoom}")
    smallest = size / (zoom * short_side)  # the crop's side, as a fraction of the short side
    return (min(CROP_SCALE[0], smallest**2), CROP_SCALE[1])


def damaged_sample(
    rgb: np.ndarray,
    rng: np.random.Generator,
    window: tuple[int, int, int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(clean, damaged, mask) for one crop, with the old-print look and a random scan.

    ``rgb``: the crop, damaged as it is. With ``window`` (top, left, side, size), ``rgb`` is the
    whole photo: it is damaged as a print is, in its own proportions, and the sample is the
    square of ``side`` px at (top, left) resized to ``size`` before the scan. A square smaller
    than ``size`` is magnified, damage and picture alike, as a scan at a higher resolution
    shows them: a tear or a flake as large and as rare on the print as ever, a crack wider.
    Damage drawn on the magnified crop itself would be as small and as dense as on any crop,
    so that size alone would tell picture (magnified) from damage (not).

    A share of the photos first get picture structure that looks like damage and is not
    (:func:`structure.maybe_structure`: windows, tiles, lettering, isolated shapes)."""
    clean = old_print_look(maybe_structure(rgb, rng), rng)
    grain = float(rng.uniform(0, 8)) if rng.random() < 0.5 else 0.0
    quality = int(rng.integers(35, 96)) if rng.random() < 0.5 else None
    blur = float(rng.uniform(0, 1.2)) if rng.random() < 0.5 else 0.0
    resample = float(rng.uniform(0.5, 1.0)) if rng.random() < 0.4 else 1.0
    kinds: tuple[str, ...] | None = () if rng.random() < P_CLEAN else None
    severity = float(rng.uniform(0.15, 1.0))
    region_scale = float(rng.uniform(*REGION_SCALE))
    grey = bool(rng.random() < P_GREY_SCAN)
    if window is None:
        damaged, mask = synthesize_damage(
            clean, rng, kinds, severity, grain=grain, jpeg_quality=quality,
            region_scale=region_scale, blur=blur, resample=resample, grey_scan=grey,
        )  # fmt: skip
        return clean, damaged, mask
    # the print, before its scan
    damaged, mask = synthesize_damage(clean, rng, kinds, severity, region_scale=region_scale,
                                      grey_scan=grey)  # fmt: skip
    y, x, side, size = window
    clean, damaged = (_square_uint8(a, (y, x, side), size) for a in (clean, damaged))
    mask = square(mask[..., None], (y, x, side), size)[..., 0] > 0.5
    return clean, scan(damaged.astype(np.float32), rng, grain, quality, blur, resample, grey), mask


def brush_strokes(shape, rng: np.random.Generator, count: int) -> np.ndarray:
    """Free-form holes like a user's mask brush (DeepFill v2's training masks): a few random
    walks drawn with a round brush 4–14 % of the short side wide. Not damage; used to train the
    inpainter on the masks people paint by hand."""
    h, w = shape
    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    short = min(h, w)
    for _ in range(count):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        width = max(2, int(rng.uniform(0.04, 0.14) * short))
        points = [(x, y)]
        angle = rng.uniform(0, 2 * math.pi)
        for _ in range(int(rng.integers(2, 6))):
            angle += rng.normal(0, 1.0)
            length = rng.uniform(0.1, 0.35) * short
            x = float(np.clip(x + length * math.cos(angle), 0, w))
            y = float(np.clip(y + length * math.sin(angle), 0, h))
            points.append((x, y))
        draw.line(points, fill=255, width=width, joint="curve")
        for px, py in points:
            r = width / 2
            draw.ellipse((px - r, py - r, px + r, py + r), fill=255)
    return np.asarray(canvas) > 0


def _mid_grey(shape: tuple[int, int]) -> np.ndarray:
    """The photo damage is drawn on to shape a hole: mid-grey, where every kind of damage shows
    (on black a dark backing or dirt seen through a partial loss changed too little to count,
    leaving gaps in the hole). H x W x 3 uint8."""
    return np.full((*shape, 3), 128, np.uint8)


def hole_mask(shape: tuple[int, int], rng: np.random.Generator, kind: str = "mixed") -> np.ndarray:
    """An inpainting hole.

    ``mixed``: grown damage, brush strokes, or both. ``damage``: synthetic damage only (stains
    and torn corners at REGION_SCALE, as the detector trains), grown by 0–2 px as detected masks
    are — the holes the evaluation and the restore pipeline fill. ``strokes``: brush strokes.
    """
    mask = np.zeros(shape, bool)
    if kind == "damage":
        _, damage = synthesize_damage(
            _mid_grey(shape),
            rng,
            severity=float(rng.uniform(0.2, 1.0)),
            region_scale=float(rng.uniform(*REGION_SCALE)),
        )
        grow = int(rng.integers(0, 3))
        mask |= ndimage.binary_dilation(damage, iterations=grow) if grow else damage
    elif kind == "strokes":
        mask |= brush_strokes(shape, rng, int(rng.integers(1, 4)))
    else:
        r = rng.random()
        if r < 0.65:
            _, damage = synthesize_damage(
                _mid_grey(shape), rng, severity=float(rng.uniform(0.2, 1.0))
            )
            mask |= ndimage.binary_dilation(damage, iterations=int(rng.integers(1, 3)))
        if r >= 0.5:
            mask |= brush_strokes(shape, rng, int(rng.integers(1, 4)))
    if not mask.any():
        mask |= brush_strokes(shape, rng, 1)
    return mask


def hole_l1(raw: torch.Tensor, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over the hole pixels only: only they reach the composite, so the
    error outside (where the net need only output its prefill) carries no signal."""
    return ((raw - image).abs() * mask).sum() / (mask.sum() * image.shape[1]).clamp(min=1.0)


def focal_bce(logits: torch.Tensor, target: torch.Tensor, gamma: float) -> torch.Tensor:
    """Binary cross-entropy averaged over the pixels, damaged pixels weighted 3x, each pixel
    further weighted by (1 - p_truth)^gamma, p_truth its predicted probability of the truth
    (the modulating factor of Lin et al. 2017's focal loss, here a constant weight: no gradient
    flows through it), the weights rescaled so that their mean stays what it was.

    Most pixels of a crop are plain picture the detector already gets right; they dominate a
    plain mean, and the few it confuses — a picture edge or lace that looks like a crack, the
    inside of a large loss — barely count. The focal weights move the loss onto those. The
    rescaling keeps the mean weight, not the loss: where few pixels are wrong they carry all
    of it, so the term grows beside the dice term as training gets them right (measured on a
    batch with 1 % wrong pixels at logits ±4: about 70x the plain loss). ``gamma`` = 0 is the
    plain weighted mean. ``logits``, ``target``: (N, 1, H, W) float32, target in {0, 1}."""
    weight = 1.0 + 2.0 * target
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    if gamma > 0:
        with torch.no_grad():
            prob = torch.sigmoid(logits)
            p_truth = prob * target + (1 - prob) * (1 - target)
            weight = weight * (1 - p_truth).pow(gamma)
            weight = weight / weight.mean().clamp(min=1e-8) * (1.0 + 2.0 * target).mean()
    return (weight * bce).mean()


class DetectTask:
    """Trains :class:`DamageDetector` (one phase; ``steps_critic``/``steps_gan`` should be 0)."""

    def __init__(self, config, generator: DamageDetector | None = None) -> None:
        self.config = config
        self.generator = generator
        self.device = torch.device("cpu")

    def setup(self, device: torch.device, distributed: bool) -> None:
        self.device = device
        self.bank = AdversarialTask.photo_bank(self)
        context = self.config.detector_context
        self.g = (self.generator or DamageDetector(context=context)).to(device)
        self.opt_g = torch.optim.Adam(self.g.parameters(), self.config.lr_g)
        self.fixed = self.make_batch(np.random.default_rng(7), 6)
        self.g_train = AdversarialTask.wrap(self.g, device, distributed)

    def make_batch(self, rng: np.random.Generator, n: int) -> dict[str, torch.Tensor]:
        size = self.config.size
        scale = zoom_scale(self.config.detector_zoom, size, self.config.short_side)
        damaged, masks = [], []
        for index in rng.integers(len(self.bank), size=n):
            photo = self.bank.images[int(index)]
            y, x, side = self.bank.window(int(index), rng, scale)
            if side < size:  # magnified: the whole print is damaged, then seen close up
                _, bad, mask = damaged_sample(photo, rng, (y, x, side, size))
            else:
                _, bad, mask = damaged_sample(_square_uint8(photo, (y, x, side), size), rng)
            if rng.random() < 0.5:
                bad, mask = bad[:, ::-1], mask[:, ::-1]
            damaged.append(_to_tensor(bad))
            masks.append(_to_tensor(mask.astype(np.uint8)))
        return {"damaged": torch.stack(damaged), "mask": torch.stack(masks)}

    def train_step(self, phase: str, batch: dict[str, torch.Tensor], amp) -> dict[str, float]:
        target = batch["mask"]
        with amp:
            logits = self.g_train(batch["damaged"]).float()
        bce = focal_bce(logits, target, self.config.focal_gamma)
        prob = torch.sigmoid(logits)
        inter = (prob * target).sum((1, 2, 3))
        dice = 1 - (2 * inter + 1) / (prob.sum((1, 2, 3)) + target.sum((1, 2, 3)) + 1)
        loss = bce + dice.mean()
        optimise(self.opt_g, loss)
        return {"bce": bce.item(), "dice": dice.mean().item()}

    @torch.no_grad()
    def sample_grid(self) -> np.ndarray:
        """Rows: damaged | predicted mask | true mask."""
        self.g.eval()
        damaged = self.fixed["damaged"].to(self.device)
        prob = self.g.probabilities(damaged).cpu().expand(-1, 3, -1, -1)
        self.g.train()
        columns = [damaged.cpu(), prob, self.fixed["mask"].expand(-1, 3, -1, -1)]
        return sample_grid_image(columns)

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.g.state_dict(), "opt_g": self.opt_g.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.g.load_state_dict(state["generator"], strict=True)
        self.opt_g.load_state_dict(state["opt_g"])


class InpaintTask(AdversarialTask[GatedInpainter]):
    """Trains :class:`GatedInpainter` with the NoGAN schedule."""

    #: VGG losses start near 8 against a weighted L1 near 0.3: 0.01 keeps them a supporting term
    PERCEPTUAL_WEIGHT = 0.01

    def setup(self, device: torch.device, distributed: bool) -> None:
        cfg = self.config
        self.device = device
        self.bank = self.photo_bank()
        self.g = (self.generator or GatedInpainter(fine=cfg.inpaint_fine)).to(device)
        self.d = PatchDiscriminator(4).to(device)
        self.perceptual = PerceptualLoss().to(device)
        self.opt_g = torch.optim.Adam(self.g.parameters(), cfg.lr_g, betas=(0.5, 0.99))
        self.opt_d = torch.optim.Adam(self.d.parameters(), cfg.lr_d, betas=(0.0, 0.99))
        self.fixed = self.make_batch(np.random.default_rng(7), 6)
        self.g_train = self.wrap(self.g, device, distributed)
        self.d_train = self.wrap(self.d, device, distributed)

    def make_batch(self, rng: np.random.Generator, n: int) -> dict[str, torch.Tensor]:
        size = self.config.size
        crops = self.bank.batch(rng.integers(len(self.bank), size=n), size, rng)
        images, masks = [], []
        for crop in crops:
            clean = old_print_look(_to_uint8(crop), rng)
            if rng.random() < 0.3:  # film grain, the same inside and outside the hole
                noise = rng.normal(0, rng.uniform(2, 8), clean.shape[:2])[..., None]
                clean = np.clip(clean + noise + 0.5, 0, 255).astype(np.uint8)
            images.append(_to_tensor(clean))
            masks.append(
                _to_tensor(hole_mask((size, size), rng, self.config.inpaint_holes).astype(np.uint8))
            )
        return {"image": torch.stack(images), "mask": torch.stack(masks)}

    def _critic_input(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.cat([image * 2 - 1, mask], dim=1)

    def train_step(self, phase: str, batch: dict[str, torch.Tensor], amp) -> dict[str, float]:
        cfg = self.config
        image, mask = batch["image"], batch["mask"]
        losses: dict[str, float] = {}
        if phase in ("critic", "gan"):
            with torch.no_grad(), amp:
                fake = self.g(image, mask).float()
            with amp:
                d_loss = hinge_d_loss(
                    self.d_train(self._critic_input(image, mask)).float(),
                    self.d_train(self._critic_input(fake, mask)).float(),
                )
            optimise(self.opt_d, d_loss)
            losses["d"] = d_loss.item()
        if phase in ("pretrain", "gan"):
            with amp:
                raw = self.g_train(image, mask, composite=False).float()
                composite = image * (1 - mask) + raw * mask
                l1 = hole_l1(raw, image, mask)
                perc = self.perceptual(composite, image)
                loss = l1 + self.PERCEPTUAL_WEIGHT * perc
                if phase == "gan":
                    adv = hinge_g_loss(self.d_train(self._critic_input(composite, mask)).float())
                    loss = loss + cfg.lambda_adv * adv
                    losses["adv"] = adv.item()
            optimise(self.opt_g, loss)
            losses["l1"] = l1.item()
            losses["perc"] = perc.item()
        return losses

    @torch.no_grad()
    def sample_grid(self) -> np.ndarray:
        """Rows: input with holes | inpainted | original."""
        self.g.eval()
        image, mask = self.fixed["image"].to(self.device), self.fixed["mask"].to(self.device)
        out = self.g(image, mask).cpu()
        self.g.train()
        holes = (
            image.cpu() * (1 - mask.cpu()) + mask.cpu() * torch.tensor([1.0, 0, 1])[:, None, None]
        )
        columns = [holes, out, image.cpu()]
        return sample_grid_image(columns)
