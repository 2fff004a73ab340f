"""Leave-one-out fusion: the hints decide between the network and Levin."""

import numpy as np
import torch

from colorstudio.ml.fusion import leave_one_out_weight, levin_at


def hints_from(truth: torch.Tensor, points, half=1):
    ab = torch.zeros_like(truth)
    mask = torch.zeros(1, 1, *truth.shape[-2:])
    for y, x in points:
        ab[..., y - half : y + half + 1, x - half : x + half + 1] = truth[
            ..., y - half : y + half + 1, x - half : x + half + 1
        ]
        mask[..., y - half : y + half + 1, x - half : x + half + 1] = 1
    return ab, mask


POINTS = [(10, 10), (10, 50), (30, 30), (50, 10), (50, 50), (20, 40)]


def test_a_network_that_knows_the_colours_keeps_its_weight():
    xx = torch.linspace(-40, 40, 64)
    truth = torch.stack([xx.expand(64, 64), torch.zeros(64, 64)])[None]  # a smooth gradient
    lightness = torch.full((1, 1, 64, 64), 50.0)
    hint_ab, hint_mask = hints_from(truth, POINTS)
    weight = leave_one_out_weight(lightness, truth.clone(), hint_ab, hint_mask, grid=64)
    assert weight is not None and weight > 0.9


def test_a_network_the_hints_contradict_hands_over_to_levin():
    truth = torch.zeros(1, 2, 64, 64)
    truth[:, 0] = 25.0  # one flat colour
    lightness = torch.full((1, 1, 64, 64), 50.0)
    wrong = torch.randn(1, 2, 64, 64, generator=torch.Generator().manual_seed(0)) * 30
    hint_ab, hint_mask = hints_from(truth, POINTS)
    weight = leave_one_out_weight(lightness, wrong, hint_ab, hint_mask, grid=64)
    assert weight is not None and weight < 0.1


def test_fewer_than_two_hints_cannot_be_tested():
    truth = torch.zeros(1, 2, 32, 32)
    hint_ab, hint_mask = hints_from(truth, [(10, 10)])
    assert leave_one_out_weight(torch.zeros(1, 1, 32, 32), truth, hint_ab, hint_mask) is None


def test_levin_at_a_coarse_grid_returns_the_working_size():
    truth = torch.zeros(1, 2, 48, 80)
    truth[:, 1] = -30.0
    hint_ab, hint_mask = hints_from(truth, [(20, 20), (30, 60)])
    ab = levin_at(torch.full((1, 1, 48, 80), 60.0), hint_ab, hint_mask, long_side=32)
    assert ab.shape == (1, 2, 48, 80)
    assert np.allclose(ab[0, 1].numpy(), -30.0, atol=0.5)
