"""Training task for the hint- and reference-conditioned colourizer."""

from __future__ import annotations

import numpy as np
import torch

from colorstudio.ml.color import AB_SCALE, lab_to_srgb_nchw, normalize_l, srgb_to_lab_nchw
from colorstudio.ml.networks.colorizer import HintColorizer
from colorstudio.ml.networks.discriminator import PatchDiscriminator
from colorstudio.ml.palette import CODE_DIM, palette_code
from colorstudio.ml.train.losses import (
    PerceptualLoss,
    hinge_d_loss,
    hinge_g_loss,
    likeness_corrected,
    rebalanced_l1,
    rebalancing_table,
)
from colorstudio.ml.train.simulate import (
    object_strokes,
    probe_points,
    reinhard_ab,
    simulate_hints,
)
from colorstudio.ml.train.task_base import AdversarialTask, optimise, sample_grid_image

P_NO_REFERENCE = 0.4
P_SAME_PHOTO = 0.4  # else: another photo, target moved to its palette


class ColorizeTask(AdversarialTask[HintColorizer]):
    # ------------------------------------------------------------------ setup
    def setup(self, device: torch.device, distributed: bool) -> None:
        cfg = self.config
        self.device = device
        self.bank = self.photo_bank()
        if self.generator is None:
            self.generator = HintColorizer(pretrained=True, hint_spread=cfg.hint_spread)
        if cfg.spread_only:
            self.generator.train_spread_inputs_only()
        self.g = self.generator.to(device)
        self.d = PatchDiscriminator(3).to(device)
        self.perceptual = PerceptualLoss().to(device)
        self.opt_g = torch.optim.Adam(
            [p for p in self.g.parameters() if p.requires_grad], cfg.lr_g, betas=(0.5, 0.99)
        )
        self.opt_d = torch.optim.Adam(self.d.parameters(), cfg.lr_d, betas=(0.0, 0.99))
        probe_rng = np.random.default_rng(12345)
        probe = self.bank.batch(
            probe_rng.integers(len(self.bank), size=min(64, len(self.bank))), 64, probe_rng
        )
        self.table = rebalancing_table(srgb_to_lab_nchw(probe)[:, 1:]).to(device)
        self.fixed = self.make_batch(np.random.default_rng(7), 6)
        self.g_train = self.wrap(self.g, device, distributed)
        self.d_train = self.wrap(self.d, device, distributed)

    # ------------------------------------------------------------------ data
    def make_batch(self, rng: np.random.Generator, n: int) -> dict[str, torch.Tensor]:
        size = self.config.size
        indices = rng.integers(len(self.bank), size=n)
        rgb = self.bank.batch(indices, size, rng)
        lab = srgb_to_lab_nchw(rgb)
        target_ab = lab[:, 1:].clone()
        codes = torch.zeros(n, CODE_DIM)
        stroked = rng.random(n) < self.config.stroke_share  # these get no reference
        if self.config.lambda_correction > 0:
            stroked[: n // 2] = False  # the hint-free half (below) keeps its true target
        for i, index in enumerate(indices):
            r = rng.random()
            if r < P_NO_REFERENCE or stroked[i]:
                continue
            if r < P_NO_REFERENCE + P_SAME_PHOTO:
                ref = srgb_to_lab_nchw(self.bank.crop(int(index), size // 2, rng)[None])
            else:
                other = int(rng.integers(len(self.bank)))
                ref = srgb_to_lab_nchw(self.bank.crop(other, size // 2, rng)[None])
                target_ab[i] = reinhard_ab(target_ab[i], ref[0, 1:])
            codes[i] = torch.from_numpy(palette_code(ref.numpy())[0])
        hints = simulate_hints(target_ab, rng)
        for k in np.flatnonzero(stroked):  # else the simulated points stand
            painted = object_strokes(rgb[k], target_ab[k], rng)
            if painted is not None:
                hints[k], target_ab[k] = painted
        batch = {
            "lightness": normalize_l(lab[:, :1]),
            "l_raw": lab[:, :1],
            "target": target_ab,
            "hints": hints,
            "code": codes,
        }
        if self.config.lambda_correction > 0:
            # The first half is predicted without hints, the base the engine corrects from the
            # hints; the probe hints score it after those corrections.
            half = n // 2
            hints[:half] = 0
            batch["probe_at"], batch["probe_ab"], batch["probe_valid"] = probe_points(
                target_ab[:half], rng
            )
        return batch

    # ------------------------------------------------------------------ steps
    def _generate(self, batch):
        return self.g_train(batch["lightness"], batch["hints"], batch["code"]) * AB_SCALE

    def _rgb(self, l_raw, ab):
        return lab_to_srgb_nchw(torch.cat([l_raw, ab], dim=1))

    def _d_input(self, lightness, ab):
        return torch.cat([lightness, ab / AB_SCALE], dim=1)

    def train_step(self, phase: str, batch: dict[str, torch.Tensor], amp) -> dict[str, float]:
        cfg = self.config
        losses: dict[str, float] = {}
        self.g.train()
        if phase in ("critic", "gan"):
            with torch.no_grad(), amp:
                fake = self._generate(batch)
            with amp:
                real_logits = self.d_train(self._d_input(batch["lightness"], batch["target"]))
                fake_logits = self.d_train(self._d_input(batch["lightness"], fake))
                d_loss = hinge_d_loss(real_logits.float(), fake_logits.float())
            optimise(self.opt_d, d_loss)
            losses["d"] = d_loss.item()
        if phase in ("pretrain", "gan"):
            with amp:
                fake = self._generate(batch)
                l1 = rebalanced_l1(fake.float(), batch["target"], self.table) / AB_SCALE
                perceptual = self.perceptual(
                    self._rgb(batch["l_raw"], fake.float()),
                    self._rgb(batch["l_raw"], batch["target"]),
                )
                # Honour what the user painted: L1 on the hinted pixels themselves.
                mask = batch["hints"][:, 2:3]
                hint_l1 = (
                    ((fake.float() - batch["target"]).abs() * mask).sum()
                    / (mask.sum() * 2 + 1.0)
                    / AB_SCALE
                )
                loss = l1 + cfg.lambda_perceptual * perceptual + cfg.lambda_hint * hint_l1
                if "probe_at" in batch:
                    half = batch["probe_at"].shape[0]
                    corrected = likeness_corrected(
                        batch["l_raw"][:half],
                        fake[:half].float(),
                        batch["probe_at"],
                        batch["probe_ab"],
                        batch["probe_valid"],
                    )
                    correction = (
                        rebalanced_l1(corrected, batch["target"][:half], self.table) / AB_SCALE
                    )
                    loss = loss + cfg.lambda_correction * correction
                    losses["corr"] = correction.item()
                if phase == "gan":
                    adv = hinge_g_loss(
                        self.d_train(self._d_input(batch["lightness"], fake)).float()
                    )
                    loss = loss + cfg.lambda_adv * adv
                    losses["adv"] = adv.item()
            optimise(self.opt_g, loss)
            losses["l1"] = l1.item()
            losses["perc"] = perceptual.item()
            losses["hint"] = hint_l1.item()
        return losses

    # ------------------------------------------------------------------ samples and state
    @torch.no_grad()
    def sample_grid(self) -> np.ndarray:
        """Rows: grey input | hints over grey | prediction | ground truth (uint8 H x W x 3)."""
        self.g.eval()
        batch = {k: v.to(self.device) for k, v in self.fixed.items()}
        pred = self.g(batch["lightness"], batch["hints"], batch["code"]) * AB_SCALE
        zeros = torch.zeros_like(pred)
        grey = self._rgb(batch["l_raw"], zeros)
        hint_ab = batch["hints"][:, :2] * AB_SCALE
        mask = batch["hints"][:, 2:3]
        hinted = grey * (1 - mask) + self._rgb(batch["l_raw"], hint_ab) * mask
        columns = [
            grey,
            hinted,
            self._rgb(batch["l_raw"], pred),
            self._rgb(batch["l_raw"], batch["target"]),
        ]
        self.g.train()
        return sample_grid_image(columns)
