"""Training task for the AdaIN style decoder (Huang & Belongie 2017) with an adversarial term.

Content crops come from photos, style crops from paintings. The frozen VGG19 encodes both; AdaIN
gives the target features ``t``; the decoder learns to invert them: content loss ||VGG(out) - t||
on relu4_1, style loss on mean/std of relu1_1..relu4_1 against the painting; in the GAN phase a
PatchGAN (real = painting crops) pushes the output towards painted texture.

Identity term (as SANet's identity loss, Park & Lee 2019): a quarter of every batch is styled by
its own content crop, where the right output is the photo itself, so a pixel L1 gives the decoder
a direct, strong gradient. On two CPU cores the relative feature losses alone left the decoder
producing noise after 300 steps; with the identity term it reconstructs images within a few
hundred steps and the style losses then refine texture.

Student encoder (``style_student`` > 0; collaborative distillation, Wang et al. 2020): it starts
as VGG19 pruned to its strongest filters (relu1_1 exact, deeper taps far off: the pruned inputs
are missing), and in the ``distill`` phase this thin VGG learns to reproduce VGG19's
relu1_1..relu4_1 through 1x1 projections (relative feature MSE) while the decoder learns to invert
it (pixel L1), on photo and painting crops alike; both losses need VGG19 forward only. Afterwards
the student is frozen, AdaIN works in its feature space (content loss there), and VGG19 measures
the style.

Slim encoder (``style_slim`` = s > 0, for a decoder already trained on VGG19, ``--init-from``):
VGG19 with its hidden widths × s and its last layer whole (``SlimVGG``), started as VGG19 pruned.
In the ``distill`` phase it learns, with the decoder frozen, to give what VGG19 gives: its
features (relative MSE) and the decoder's pictures from them — each photo crop restyled with
its painting crop by AdaIN in both feature spaces, pixel L1 between the two pictures (the
quarter of a batch styled by itself is the decoder's reconstruction) — and, weighted by
``lambda_style``, the style loss of the student's picture against its painting (VGG19's
statistics, as the decoder was trained): imitation anchors the student, the style loss judges it
by what the evaluation measures. The decoder then reads the student unchanged, and the encoder,
the stylizer's largest cost, is several times cheaper.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from colorstudio.ml.networks.discriminator import PatchDiscriminator
from colorstudio.ml.networks.encoders import STYLE_TAPS, VGG19Features
from colorstudio.ml.networks.stylizer import (
    AdaINStylizer,
    SlimVGG,
    ThinVGG,
    adain,
    feature_channels,
    mean_std,
)
from colorstudio.ml.train.data import ImageBank, list_images
from colorstudio.ml.train.losses import AdaINLoss, hinge_d_loss, hinge_g_loss
from colorstudio.ml.train.task_base import AdversarialTask, optimise, sample_grid_image


class StyleTask(AdversarialTask[AdaINStylizer]):
    def setup(self, device: torch.device, distributed: bool) -> None:
        cfg = self.config
        self.device = device
        self.distributed = distributed
        self.content = self.photo_bank()
        self.styles = ImageBank(list_images(cfg.style_data), max(cfg.short_side, 256))
        self.g = (
            self.generator
            or AdaINStylizer(
                cfg.style_widths,
                pretrained=True,
                level=cfg.style_level,
                student=cfg.style_student,
            )
        ).to(device)
        self.d = PatchDiscriminator(3).to(device)
        if cfg.style_student:
            taps = STYLE_TAPS[: cfg.style_level]
            vgg = VGG19Features(taps[-1], taps=taps).to(device)
            self.loss = AdaINLoss(vgg, content_encoder=cast(ThinVGG, self.g.encoder))
            width = cfg.style_student
            #: 1x1 projections of the student's taps onto VGG19's (training only)
            self.embed = nn.ModuleDict(
                {
                    tap: nn.Conv2d(feature_channels(k, width), feature_channels(k), 1)
                    for k, tap in enumerate(taps, start=1)
                }
            ).to(device)
            student = [*self.g.encoder.parameters(), *self.embed.parameters()]
            self.opt_e = torch.optim.Adam(
                [*student, *self.g.decoder.parameters()], cfg.lr_g, betas=(0.9, 0.99)
            )
        elif cfg.style_slim:
            if self.generator is None:
                raise ValueError("a slim encoder is distilled for a trained decoder: --init-from")
            taps = STYLE_TAPS[: cfg.style_level]
            vgg = VGG19Features(taps[-1], taps=taps).to(device)
            self.loss = AdaINLoss(vgg, content_encoder=cast(SlimVGG, self.g.encoder))
            self.opt_e = torch.optim.Adam(self.g.encoder.parameters(), cfg.lr_g, betas=(0.9, 0.99))
        else:
            self.loss = AdaINLoss(cast(VGG19Features, self.g.encoder))
        self.opt_g = torch.optim.Adam(self.g.decoder.parameters(), cfg.lr_g, betas=(0.5, 0.99))
        self.opt_d = torch.optim.Adam(self.d.parameters(), cfg.lr_d, betas=(0.0, 0.99))
        rng = np.random.default_rng(7)
        self.fixed = self.make_batch(rng, 4)
        if cfg.style_student and self.generator is None:  # a new student (a resume overwrites)
            self.start_from_vgg()
        self.decoder_train = self.wrap(self.g.decoder, device, distributed)
        self.d_train = self.wrap(self.d, device, distributed)

    def make_batch(self, rng: np.random.Generator, n: int) -> dict[str, torch.Tensor]:
        size = self.config.size
        content = self.content.batch(rng.integers(len(self.content), size=n), size, rng)
        style = self.styles.batch(rng.integers(len(self.styles), size=n), size, rng)
        identity = n // 4
        style[:identity] = content[:identity]
        return {"content": content, "style": style, "identity": torch.tensor(identity)}

    @torch.no_grad()
    def start_from_vgg(self) -> None:
        """A new student starts as VGG19 pruned (``ThinVGG.prune_from``); each projection starts
        as the selection of the teacher channels its tap kept, scaled as the distillation's
        target is (to unit mean square, measured on the fixed sample batch)."""
        kept = cast(ThinVGG, self.g.encoder).prune_from(self.loss.encoder)
        teacher = self.loss.encoder(self.fixed["content"].to(self.device))
        for tap, projection in self.embed.items():
            assert isinstance(projection, nn.Conv2d) and projection.bias is not None
            projection.weight.zero_()
            projection.bias.zero_()
            selection = (kept[tap], torch.arange(len(kept[tap])), 0, 0)
            projection.weight[selection] = 1 / _rms(teacher[tap])

    def distill_step(self, batch: dict[str, torch.Tensor], amp) -> dict[str, float]:
        """The student encoder learns VGG19's features, the decoder to invert the student."""
        if self.distributed:  # the student and projections are not wrapped for DDP
            raise ValueError("distil the student in one process, then resume under torchrun")
        images = torch.cat([batch["content"], batch["style"]])
        with torch.no_grad(), amp:
            teacher = self.loss.encoder(images)
        with amp:
            student = self.g.encoder(images)
            feat = images.new_zeros(())
            for tap, projection in self.embed.items():
                want = teacher[tap].float()
                want = want / _rms(want)
                feat = feat + F.mse_loss(projection(student[tap]).float(), want)
            rec = F.l1_loss(self.g.decoder(student[self.g.content_layer]).float(), images)
        optimise(self.opt_e, feat + rec)
        return {"feat": feat.item(), "l1": rec.item()}

    def slim_distill_step(self, batch: dict[str, torch.Tensor], amp) -> dict[str, float]:
        """The slim encoder learns VGG19's features and the frozen decoder's pictures from them
        (module doc)."""
        if self.distributed:
            raise ValueError("distil the slim encoder in one process")
        n = batch["content"].shape[0]
        images = torch.cat([batch["content"], batch["style"]])
        layer = self.g.content_layer
        weight = self.config.lambda_style
        self.g.decoder.requires_grad_(False)  # frozen here; a later phase may train it
        try:
            with torch.no_grad(), amp:
                taps = self.loss.encoder(images)
                teacher = taps[layer].float()
                want = self.g.decoder(adain(teacher[:n], mean_std(teacher[n:]))).float()
                paintings = {tap: mean_std(f[n:].float()) for tap, f in taps.items()}
            with amp:
                student = self.g.encoder(images)[layer].float()
                feat = F.mse_loss(student, teacher) / teacher.pow(2).mean()
                got = self.g.decoder(adain(student[:n], mean_std(student[n:]))).float()
                pixels = F.l1_loss(got, want)
                loss = feat + pixels
                if weight:
                    style = self.loss.style(self.loss.encoder(got), paintings)
                    loss = loss + weight * style
            optimise(self.opt_e, loss)
        finally:
            self.g.decoder.requires_grad_(True)
        losses = {"feat": feat.item(), "l1": pixels.item()}
        return losses | ({"style": style.item()} if weight else {})

    def train_step(self, phase: str, batch: dict[str, torch.Tensor], amp) -> dict[str, float]:
        cfg = self.config
        if phase == "distill":
            if cfg.style_slim:
                return self.slim_distill_step(batch, amp)
            return self.distill_step(batch, amp)
        self.g.encoder.requires_grad_(False)  # a student is frozen after its distillation
        identity = int(batch["identity"])
        style_targets = self.loss.style_targets(batch["style"])
        with torch.no_grad():
            stats = (
                self.g.style_stats(batch["style"])  # in the student's own feature space
                if cfg.style_student or cfg.style_slim
                else style_targets[self.g.content_layer]
            )
            target = adain(self.g.encode(batch["content"]), stats)
        losses: dict[str, float] = {}
        if phase in ("critic", "gan"):
            with torch.no_grad(), amp:
                fake = self.g.decoder(target).clamp(0, 1)
            with amp:
                d_loss = hinge_d_loss(
                    self.d_train(batch["style"]).float(), self.d_train(fake).float()
                )
            optimise(self.opt_d, d_loss)
            losses["d"] = d_loss.item()
        if phase in ("pretrain", "gan"):
            with amp:
                out = self.decoder_train(target)
                content, style = self.loss(out, target, style_targets)
                loss = content + cfg.lambda_style * style
                if identity and cfg.lambda_identity:
                    same = F.l1_loss(out[:identity].float(), batch["content"][:identity])
                    loss = loss + cfg.lambda_identity * same
                    losses["identity"] = same.item()
                if phase == "gan":
                    adv = hinge_g_loss(self.d_train(out).float())
                    loss = loss + cfg.lambda_adv * adv
                    losses["adv"] = adv.item()
            optimise(self.opt_g, loss)
            losses["content"] = content.item()
            losses["style"] = style.item()
        return losses

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        if self.config.style_student:
            state.update(embed=self.embed.state_dict(), opt_e=self.opt_e.state_dict())
        elif self.config.style_slim:
            state.update(opt_e=self.opt_e.state_dict())
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        if self.config.style_student:
            self.embed.load_state_dict(state["embed"])
        if self.config.style_student or self.config.style_slim:
            self.opt_e.load_state_dict(state["opt_e"])

    @torch.no_grad()
    def sample_grid(self) -> np.ndarray:
        """Rows: content | style | output."""
        batch = {k: v.to(self.device) for k, v in self.fixed.items() if k != "identity"}
        out = self.g(batch["content"], batch["style"]).clamp(0, 1)
        columns = [batch["content"], batch["style"], out]
        return sample_grid_image(columns)


def _rms(features: torch.Tensor) -> torch.Tensor:
    """Root mean square of a batch of features: the distillation's targets are divided by it
    (VGG19's activations are ~1e2), so every tap counts alike."""
    return features.pow(2).mean().sqrt() + 1e-6
