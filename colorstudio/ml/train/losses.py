"""Losses: rebalanced L1 on ab, VGG perceptual loss, hinge GAN loss, AdaIN content/style loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from colorstudio.ml import fusion
from colorstudio.ml.networks.encoders import STYLE_TAPS, VGG19Features
from colorstudio.ml.networks.stylizer import SlimVGG, ThinVGG, mean_std

AB_BINS = 16


def ab_bin_index(ab: torch.Tensor) -> torch.Tensor:
    """(N, 2, H, W) ab → (N, H, W) index into an AB_BINS x AB_BINS grid over ±110."""
    q = ((ab / 110.0).clamp(-1, 0.9999) + 1) / 2 * AB_BINS
    q = q.long()
    return q[:, 0] * AB_BINS + q[:, 1]


def rebalancing_table(
    ab_samples: torch.Tensor, mix: float = 0.5, power: float = 0.5
) -> torch.Tensor:
    """Per-bin weights that favour rare (saturated) colours, as Zhang et al.'s class rebalancing.

    ``w ∝ ((1 - mix) · p + mix / Q) ** -power``, normalised so the expected weight is 1.
    """
    counts = torch.bincount(ab_bin_index(ab_samples).flatten(), minlength=AB_BINS**2).float()
    p = counts / counts.sum()
    p = F.avg_pool2d(p.view(1, 1, AB_BINS, AB_BINS), 3, 1, 1, count_include_pad=False).flatten()
    p = p / p.sum()
    w = ((1 - mix) * p + mix / AB_BINS**2) ** -power
    return w / (p * w).sum()


def rebalanced_l1(
    pred_ab: torch.Tensor, target_ab: torch.Tensor, table: torch.Tensor | None
) -> torch.Tensor:
    """Mean L1 between ab maps in Lab units (N, 2, H, W), weighted by the target's rarity."""
    error = (pred_ab - target_ab).abs().sum(1)
    if table is None:
        return error.mean()
    weights = table.to(pred_ab.device)[ab_bin_index(target_ab)]
    return (error * weights).mean()


class PerceptualLoss(nn.Module):
    """L1 between VGG19 relu1_1, relu2_1, relu3_1 features of two sRGB images (0..1).

    ``size``: images are first resized to at most this side (VGG's first block at full training
    resolution costs three times the generator's step on a CPU).
    """

    def __init__(self, pretrained: bool = True, size: int | None = 64) -> None:
        super().__init__()
        self.size = size
        taps = STYLE_TAPS[:3]
        self.vgg = VGG19Features(last=taps[-1], taps=taps, pretrained=pretrained)
        self.weights = {taps[0]: 1 / 32, taps[1]: 1 / 16, taps[2]: 1 / 8}

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.size is not None and max(pred.shape[-2:]) > self.size:
            scale = self.size / max(pred.shape[-2:])
            pred = F.interpolate(pred, scale_factor=scale, mode="bilinear", antialias=True)
            target = F.interpolate(target, scale_factor=scale, mode="bilinear", antialias=True)
        fp = self.vgg(pred)
        with torch.no_grad():
            ft = self.vgg(target)
        loss = sum(w * F.l1_loss(fp[k], ft[k]) for k, w in self.weights.items())
        assert isinstance(loss, torch.Tensor)  # (the int 0 only without weights)
        return loss


def hinge_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def hinge_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    return -fake_logits.mean()


class AdaINLoss(nn.Module):
    """Huang & Belongie: content loss on the encoder's last tap (relu4_1, or relu3_1 for a
    level-3 stylizer) against the AdaIN target, style loss on the mean/std of relu1_1 up to it
    against the painting — both *relative* (divided by the target's
    mean square), so they are dimensionless and the weights mean the same at any feature scale
    (the Caffe VGG's raw activations are in the hundreds). ``encoder``: the frozen VGG19 the
    style is measured with; ``content_encoder``: the stylizer's own encoder when that is not
    VGG19 (a distilled student: the AdaIN target lives in its feature space)."""

    def __init__(
        self, encoder: VGG19Features, content_encoder: ThinVGG | SlimVGG | None = None
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.content_encoder = content_encoder

    def style_targets(self, style: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Per-layer (mean, std) of the painting, computed once per batch without gradients."""
        with torch.no_grad():
            features = self.encoder(style)
            return {key: mean_std(features[key]) for key in self.encoder.taps}

    def forward(self, output: torch.Tensor, target_features: torch.Tensor, style_targets) -> tuple:
        out = self.encoder(output)
        eps = 1e-6
        if self.content_encoder is None:
            features = out[self.encoder.taps[-1]]
        else:
            features = self.content_encoder(output)[self.content_encoder.taps[-1]]
        content = F.mse_loss(features, target_features) / (target_features.pow(2).mean() + eps)
        return content, self.style(out, style_targets)

    def style(self, out: dict[str, torch.Tensor], style_targets) -> torch.Tensor:
        """The relative style loss of an output's features ``out`` (``encoder``'s taps)."""
        eps = 1e-6
        style_loss = next(iter(out.values())).new_zeros(())
        for key in self.encoder.taps:
            om, os_ = mean_std(out[key])
            sm, ss = style_targets[key]
            scale = sm.pow(2).mean() + ss.pow(2).mean() + eps
            style_loss = style_loss + (F.mse_loss(om, sm) + F.mse_loss(os_, ss)) / scale
        return style_loss


def likeness_corrected(
    lightness: torch.Tensor,
    pred_ab: torch.Tensor,
    positions: torch.Tensor,
    colors: torch.Tensor,
    valid: torch.Tensor,
    model: fusion.LikenessModel = fusion.LIKENESS,
) -> torch.Tensor:
    """``pred_ab`` (N, 2, H, W) after the engine's likeness corrections from probe hints
    (:func:`colorstudio.ml.fusion.regress_corrections`, differentiable, at full training size):
    each pixel adds the kernel-weighted mean of the corrections (hint − prediction) the hints ask
    for, by likeness in L* (``lightness`` (N, 1, H, W), 0..100), predicted a*b* and position,
    with the phantom "no correction" sample. The likeness itself is not differentiated (the
    engine treats it as given); the corrections are, so the loss teaches the network to make
    errors the hints can correct: the same error over things alike. ``positions`` (N, K, 2),
    ``colours`` (N, K, 2), ``valid`` (N, K) as from :func:`simulate.probe_points`; ``model``:
    the engine's likeness kernel (the same frozen config). Computed in float32 whatever the
    autocast: its squared distances (features up to ~20, so |q|² ~ 1000) lose the corrections
    in bf16 (a mean error of 0.5 and up to 53 Lab units, measured)."""
    with torch.autocast(pred_ab.device.type, enabled=False):
        return _likeness_corrected(
            lightness.float(), pred_ab.float(), positions, colors.float(), valid, model
        )


def _likeness_corrected(lightness, pred_ab, positions, colors, valid, model) -> torch.Tensor:
    n, _, h, w = pred_ab.shape
    yy, xx = torch.meshgrid(
        torch.arange(h, device=pred_ab.device),
        torch.arange(w, device=pred_ab.device),
        indexing="ij",
    )
    places = torch.stack([yy, xx]).float() / max(h, w)
    out = []
    for i in range(n):
        keep = valid[i]
        if not keep.any():
            out.append(pred_ab[i])
            continue
        ys, xs = positions[i, keep, 0], positions[i, keep, 1]
        scales = torch.tensor(model.scales(int(keep.sum())), device=pred_ab.device)
        pixels = torch.cat([lightness[i], pred_ab[i].detach(), places]) / scales[:, None, None]
        queries = pixels.flatten(1).T  # (HW, 5)
        samples = pixels[:, ys, xs].T  # (K, 5)
        asked = colors[i, keep] - pred_ab[i, :, ys, xs].T  # (K, 2): gradients flow here
        corrections = fusion.kernel_mean(queries, samples, asked, model.prior).T.reshape(2, h, w)
        out.append(pred_ab[i] + corrections)
    return torch.stack(out)
