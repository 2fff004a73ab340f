"""Shapes, ranges, factory, initial identities and training steps of the networks."""

import numpy as np
import pytest
import torch

from colorstudio.ml.networks import define_discriminator, define_generator
from colorstudio.ml.networks.blocks import FiLM, SelfAttention
from colorstudio.ml.networks.encoders import EfficientNetLite0Encoder, VGG19Features
from colorstudio.ml.palette import CODE_DIM, empty_code, palette_code


def test_colorizer_shapes_and_range(random_colorizer):
    lightness = torch.rand(2, 1, 96, 64) * 2 - 1
    hints = torch.zeros(2, 3, 96, 64)
    out = random_colorizer(lightness, hints, torch.from_numpy(empty_code(2)))
    assert out.shape == (2, 2, 96, 64)
    assert out.abs().max() <= 1.0


def test_colorizer_odd_sizes_work(random_colorizer):
    out = random_colorizer(
        torch.zeros(1, 1, 75, 130), torch.zeros(1, 3, 75, 130), torch.from_numpy(empty_code())
    )
    assert out.shape == (1, 2, 75, 130)


def test_colorizer_is_deterministic(random_colorizer):
    args = (torch.rand(1, 1, 64, 64), torch.rand(1, 3, 64, 64), torch.rand(1, CODE_DIM))
    with torch.no_grad():
        assert torch.equal(random_colorizer(*args), random_colorizer(*args))


def test_encoder_feature_strides():
    feats = EfficientNetLite0Encoder()(torch.zeros(1, 3, 128, 96))
    assert [f.shape[1] for f in feats] == [16, 24, 40, 112, 320]
    assert [f.shape[-2] for f in feats] == [64, 32, 16, 8, 4]


def test_vgg_taps_and_frozen():
    vgg = VGG19Features(pretrained=False)
    out = vgg(torch.rand(1, 3, 64, 64))
    assert set(out) == {"block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1"}
    assert out["block4_conv1"].shape == (1, 512, 8, 8)
    assert not any(p.requires_grad for p in vgg.parameters())
    vgg.train()
    assert not vgg.training


def test_stylizer_output_and_alpha_zero_is_content_reconstruction(random_stylizer):
    content, style = torch.rand(1, 3, 64, 48), torch.rand(1, 3, 40, 40)
    out = random_stylizer(content, style, alpha=1.0)
    assert out.shape == content.shape
    features = random_stylizer.encode(content)
    assert torch.allclose(
        random_stylizer(content, style, alpha=0.0), random_stylizer.decoder(features)
    )


def test_level_3_stylizer_works_on_relu3_1():
    from colorstudio.ml.networks.stylizer import AdaINStylizer

    model = AdaINStylizer(widths=(32, 16, 8), pretrained=False, level=3).eval()
    content, style = torch.rand(1, 3, 64, 48), torch.rand(1, 3, 40, 40)
    assert model.encode(content).shape == (1, 256, 16, 12)  # stride 4: one pool less
    assert set(model.encoder(content)) == {"block1_conv1", "block2_conv1", "block3_conv1"}
    with torch.no_grad():
        assert model(content, style).shape == content.shape
    level_4 = AdaINStylizer(widths=(32, 16, 8), pretrained=False, level=4)
    with pytest.raises(RuntimeError):  # strict loading tells the two decoders apart
        level_4.load_exportable_state_dict(model.exportable_state_dict())
    with pytest.raises(ValueError, match="level"):
        AdaINStylizer(pretrained=False, level=2)


def test_blocks_start_as_identity():
    x = torch.rand(2, 16, 8, 8)
    assert torch.equal(SelfAttention(16)(x), x)
    assert torch.equal(FiLM(10, 16)(x, torch.rand(2, 10)), x)


def test_discriminators_give_patch_logits():
    for name in ("patch_colour", "patch_style"):
        logits = define_discriminator(name)(torch.rand(2, 3, 64, 64))
        assert logits.shape[0] == 2 and logits.shape[1] == 1 and logits.shape[-1] > 1


def test_factory_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown generator 'nope'"):
        define_generator("nope")
    with pytest.raises(ValueError, match="unknown discriminator"):
        define_discriminator("nope")


def test_palette_code_describes_color():
    red = torch.zeros(1, 3, 16, 16)
    red[:, 0], red[:, 1], red[:, 2] = 50, 60, 40
    blue = red.clone()
    blue[:, 1], blue[:, 2] = 10, -60
    a, b = palette_code(red.numpy()), palette_code(blue.numpy())
    assert a.shape == (1, CODE_DIM) and a[0, -1] == 1
    assert not np.allclose(a, b)
    half = torch.zeros(1, 1, 16, 16)
    half[..., :8] = 1
    mixed = torch.cat([red[..., :8], blue[..., 8:]], dim=-1)
    assert np.allclose(
        palette_code(mixed.numpy(), half.numpy()), a, atol=1e-5
    )  # the mask picks the red half


def test_a_few_training_steps_lower_the_loss(random_colorizer):
    torch.manual_seed(0)
    model = define_generator("colorizer_lite0", pretrained=False)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, 3e-3)
    lightness = torch.rand(4, 1, 32, 32) * 2 - 1
    target = torch.tanh(lightness.repeat(1, 2, 1, 1) * torch.tensor([0.5, -0.3]).view(1, 2, 1, 1))
    hints, code = torch.zeros(4, 3, 32, 32), torch.from_numpy(empty_code(4))
    losses = []
    for _ in range(15):
        loss = (model(lightness, hints, code) - target).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] * 0.7


def test_hint_spread_carries_a_hints_color_to_its_neighbourhood():
    from colorstudio.ml.networks.colorizer import hint_spread

    hints = torch.zeros(1, 3, 128, 160)
    assert torch.equal(hint_spread(hints, (128, 160)), torch.zeros(1, 3, 128, 160))
    hints[0, 0, 30:33, 40:43], hints[0, 1, 30:33, 40:43], hints[0, 2, 30:33, 40:43] = 0.5, -0.2, 1
    out = hint_spread(hints, (64, 80))[0]  # at another size: the decoder's scales
    assert out.shape == (3, 64, 80)
    near, farther, far = out[:, 20, 25], out[:, 20, 45], out[:, 60, 78]
    assert torch.allclose(near[:2], torch.tensor([0.5, -0.2]), atol=1e-4)  # the hint's colour
    assert near[2] > farther[2] > 0  # confidence falls with distance…
    assert torch.equal(far, torch.zeros(3))  # …and is nothing beyond the reach


def test_hint_spread_inputs_start_at_zero_on_a_warm_started_colorizer(tmp_path):
    """A trained colourizer warm-starts the hint-spread one: the widened convolutions keep the
    trained weights on their old input channels and start at zero on the new ones, so the two
    networks agree, hints or none."""
    from colorstudio.ml.networks.colorizer import HintColorizer
    from colorstudio.ml.weights import warm_start

    torch.manual_seed(0)
    old = HintColorizer(pretrained=False).eval()
    torch.save(old.state_dict(), tmp_path / "old.pt")
    new = HintColorizer(pretrained=False, hint_spread=True).eval()
    grown = warm_start(new, tmp_path / "old.pt")
    assert sorted(grown) == [f"{b}.body.0.0.weight" for b in ("up1", "up4", "up8")]
    assert torch.equal(new.up1.body[0][0].weight[:, -3:], torch.zeros(16, 3, 3, 3))
    lightness = torch.rand(1, 1, 64, 96) * 2 - 1
    hints = torch.zeros(1, 3, 64, 96)
    hints[0, :, 20:24, 30:34] = torch.tensor([0.4, 0.3, 1.0])[:, None, None]
    code = torch.rand(1, CODE_DIM)
    with torch.no_grad():
        assert torch.allclose(new(lightness, hints, code), old(lightness, hints, code), atol=1e-6)


def test_training_the_spread_inputs_only_keeps_the_hint_free_colorization():
    """``train_spread_inputs_only``: optimiser steps on a loss with hints change what the
    network does with hints and nothing it does without them (weights and BN statistics)."""
    from colorstudio.ml.networks.colorizer import HintColorizer

    torch.manual_seed(0)
    net = HintColorizer(pretrained=False, hint_spread=True)
    trainable = net.train_spread_inputs_only()
    assert trainable == [f"{b}.body.0.0.weight" for b in ("up8", "up4", "up1")]
    before = {k: v.clone() for k, v in net.state_dict().items()}
    lightness = torch.rand(2, 1, 64, 64) * 2 - 1
    hints = torch.zeros(2, 3, 64, 64)
    hints[:, :, 10:14, 20:24] = torch.tensor([0.5, -0.3, 1.0])[:, None, None]
    code, none = torch.rand(2, CODE_DIM), torch.zeros(2, 3, 64, 64)
    with torch.no_grad():
        free_before, hinted_before = net(lightness, none, code), net(lightness, hints, code)
    optimiser = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-2)
    net.train()
    for _ in range(3):
        loss = (net(lightness, hints, code) - 0.5).abs().mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    net.eval()
    with torch.no_grad():
        assert torch.equal(net(lightness, none, code), free_before)
        assert not torch.allclose(net(lightness, hints, code), hinted_before, atol=1e-4)
    changed = [k for k, v in net.state_dict().items() if not torch.equal(v, before[k])]
    assert sorted(changed) == sorted(trainable)
    conv = net.up1.body[0][0].weight
    assert torch.equal(conv[:, :-3], before["up1.body.0.0.weight"][:, :-3])


def test_a_student_pruned_from_vgg_reproduces_its_first_layer():
    """ThinVGG.prune_from keeps VGG19's strongest filters and rewrites the first layer for the
    student's input scaling: relu1_1's kept channels match the teacher away from the border."""
    from colorstudio.ml.networks.encoders import VGG19Features
    from colorstudio.ml.networks.stylizer import ThinVGG

    torch.manual_seed(0)
    teacher = VGG19Features(pretrained=False)
    for conv in teacher.convs.values():
        torch.nn.init.normal_(conv.weight, std=0.05)
        torch.nn.init.normal_(conv.bias, std=0.5)
    student = ThinVGG(16)
    kept = student.prune_from(teacher)
    assert [len(k) for k in kept.values()][:2] == [16, 16]
    assert all(k.unique().numel() == k.numel() for k in kept.values())
    x = torch.rand(1, 3, 40, 48)
    with torch.no_grad():
        want = teacher(x)["block1_conv1"][:, kept["block1_conv1"], 2:-2, 2:-2]
        got = student(x)["block1_conv1"][..., 2:-2, 2:-2]
    assert torch.allclose(got, want, rtol=1e-4, atol=1e-3)
    norms = teacher.convs["block1_conv1"].weight.abs().sum((1, 2, 3))
    assert norms[kept["block1_conv1"]].min() >= norms.topk(16).values.min()
