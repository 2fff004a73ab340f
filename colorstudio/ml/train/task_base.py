"""What every adversarial training task shares: generator + discriminator state, DDP wrapping."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

if TYPE_CHECKING:
    from colorstudio.ml.train.data import ImageBank

#: the generator a task trains
G = TypeVar("G", bound=nn.Module)


class _Configured(Protocol):
    config: Any


def optimise(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """One optimiser step on ``loss``."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def sample_grid_image(columns: Sequence[torch.Tensor]) -> np.ndarray:
    """A sample grid: each column a batch (N, 3, h, w) in 0..1 stacked downwards, the columns
    side by side → H x W x 3 uint8."""
    grid = torch.cat([torch.cat(list(c.detach().cpu()), dim=1) for c in columns], dim=2)
    return (grid.permute(1, 2, 0).clamp(0, 1).numpy() * 255 + 0.5).astype(np.uint8)


class AdversarialTask(Generic[G]):
    """Base for tasks holding ``g``, ``d``, ``opt_g`` and ``opt_d`` (set in their ``setup``)."""

    def __init__(self, config, generator: G | None = None) -> None:
        self.config = config
        self.generator = generator
        self.device = torch.device("cpu")

    def photo_bank(self: _Configured) -> ImageBank:
        """The training photos (``config.data``, at most ``limit_images``) decoded into memory."""
        from colorstudio.ml.train.data import ImageBank, list_images

        files = list_images(self.config.data)
        if self.config.limit_images:
            files = files[: self.config.limit_images]
        return ImageBank(files, self.config.short_side)

    g: G
    d: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer

    @staticmethod
    def wrap(module: nn.Module, device: torch.device, distributed: bool) -> nn.Module:
        """The module to train through: DistributedDataParallel under torchrun, else itself."""
        if not distributed:
            return module
        return DistributedDataParallel(
            module, device_ids=[device.index] if device.type == "cuda" else None
        )

    def state_dict(self) -> dict[str, Any]:
        return {
            "generator": self.g.state_dict(),
            "discriminator": self.d.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.g.load_state_dict(state["generator"], strict=True)
        self.d.load_state_dict(state["discriminator"], strict=True)
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
