"""The training step's precision: bf16 autocast only where the hardware multiplies bf16."""

import pytest
import torch

from colorstudio.ml.train import trainer
from colorstudio.ml.train.trainer import TrainConfig, autocast_for, uses_bf16


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_uses_bf16_only_on_a_cpu_that_has_it(monkeypatch, native):
    monkeypatch.setattr(trainer, "cpu_has_bf16", lambda: native)
    amp = autocast_for(torch.device("cpu"), "auto")
    assert uses_bf16(torch.device("cpu"), "auto") is native
    assert not uses_bf16(torch.device("cpu"), "fp32")
    assert uses_bf16(torch.device("cuda"), "auto")  # every CUDA device this runs on has it
    conv = torch.nn.Conv2d(3, 4, 3)
    with amp:
        out = conv(torch.rand(1, 3, 8, 8))
    assert out.dtype == (torch.bfloat16 if native else torch.float32)


def test_precision_is_checked_and_recorded_in_the_run_config():
    with pytest.raises(ValueError, match="auto or fp32"):
        uses_bf16(torch.device("cpu"), "fp16")
    config = TrainConfig("style", ("photos",), "out", precision="fp32")
    assert TrainConfig.from_dict(config.to_dict()).precision == "fp32"
