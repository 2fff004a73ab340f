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
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from colorstudio.ml.networks.discriminator import PatchDiscriminator
from colorstudio.ml.networks.stylizer import AdaINStylizer, adain
from colorstudio.ml.train.data import ImageBank, list_images
from colorstudio.ml.train.losses import AdaINLoss, hinge_d_loss, hinge_g_loss
from colorstudio.ml.train.task_base import AdversarialTask, optimise, sample_grid_image


class StyleTask(AdversarialTask[AdaINStylizer]):
    def setup(self, device: torch.device, distributed: bool) -> None:
        cfg = self.config
        self.device = device
        self.content = self.photo_bank()
        self.styles = ImageBank(list_images(cfg.style_data), max(cfg.short_side, 256))
        self.g = (self.generator or AdaINStylizer(pretrained=True, level=cfg.style_level)).to(
            device
        )
        self.d = PatchDiscriminator(3).to(device)
        self.loss = AdaINLoss(self.g.encoder)
        self.opt_g = torch.optim.Adam(self.g.decoder.parameters(), cfg.lr_g, betas=(0.5, 0.99))
        self.opt_d = torch.optim.Adam(self.d.parameters(), cfg.lr_d, betas=(0.0, 0.99))
        rng = np.random.default_rng(7)
        self.fixed = self.make_batch(rng, 4)
        self.decoder_train = self.wrap(self.g.decoder, device, distributed)
        self.d_train = self.wrap(self.d, device, distributed)

    def make_batch(self, rng: np.random.Generator, n: int) -> dict[str, torch.Tensor]:
        size = self.config.size
        content = self.content.batch(rng.integers(len(self.content), size=n), size, rng)
        style = self.styles.batch(rng.integers(len(self.styles), size=n), size, rng)
        identity = n // 4
        style[:identity] = content[:identity]
        return {"content": content, "style": style, "identity": torch.tensor(identity)}

    def train_step(self, phase: str, batch: dict[str, torch.Tensor], amp) -> dict[str, float]:
        cfg = self.config
        identity = int(batch["identity"])
        style_targets = self.loss.style_targets(batch["style"])
        with torch.no_grad():
            target = adain(self.g.encode(batch["content"]), style_targets[self.g.content_layer])
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

    @torch.no_grad()
    def sample_grid(self) -> np.ndarray:
        """Rows: content | style | output."""
        batch = {k: v.to(self.device) for k, v in self.fixed.items() if k != "identity"}
        out = self.g(batch["content"], batch["style"]).clamp(0, 1)
        columns = [batch["content"], batch["style"], out]
        return sample_grid_image(columns)
