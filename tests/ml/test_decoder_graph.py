"""The decoder's inference graph (``networks.decoder_graph``): the trained function, rearranged."""

from pathlib import Path

import pytest
import torch

from colorstudio.ml.manifest import load_manifest
from colorstudio.ml.networks.decoder_graph import (
    PIPELINE_MARGIN,
    DecoderGraph,
    border_band,
    inference_decoder,
)
from colorstudio.ml.networks.stylizer import AdaINDecoder
from colorstudio.ml.stylize import EDGE_MARGIN

SHIPPED = Path(__file__).resolve().parents[2] / "models"


def _decoder(level: int) -> AdaINDecoder:
    torch.manual_seed(level)
    decoder = AdaINDecoder((24, 16, 8), level, channels=20).eval()
    with torch.no_grad():  # biases away from zero, so ReLUs and paddings matter
        for p in decoder.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return decoder


@pytest.mark.parametrize(("level", "h", "w"), [(3, 17, 23), (4, 9, 12), (3, 30, 8)])
def test_equals_the_decoder_away_from_the_border(level, h, w):
    decoder = _decoder(level)
    band = border_band(decoder)
    features = torch.rand(2, 20, h, w) * 2
    with torch.no_grad():
        trained, graph = decoder(features), DecoderGraph(decoder)(features)
    assert graph.shape == trained.shape
    inside = (slice(None), slice(None), slice(band, -band), slice(band, -band))
    assert (graph - trained)[inside].abs().max() < 1e-5 * trained.abs().max()
    # the band is not overstated: its innermost ring differs (zero against mirrored padding)
    ring = (slice(None), slice(None), slice(band - 1, -band + 1), slice(band - 1, -band + 1))
    assert (graph - trained)[ring].abs().max() > 1e-4 * trained.abs().max()


def test_band_per_level():
    assert (border_band(_decoder(3)), border_band(_decoder(4))) == (10, 22)


def test_the_pipelines_margin_covers_the_shipped_decoders_band():
    """The shipped decoder runs rearranged (its band fits in the pipeline's margin)."""
    (entry,) = [e for e in load_manifest(SHIPPED) if e.task == "stylize"]
    level = (entry.config or {}).get("level", 4)
    assert isinstance(inference_decoder(_decoder(level)), DecoderGraph)


def test_only_a_decoder_whose_band_fits_the_margin_is_rearranged():
    assert PIPELINE_MARGIN == EDGE_MARGIN
    assert isinstance(inference_decoder(_decoder(3)), DecoderGraph)
    level4 = _decoder(4)  # its 22 px band would show along the photo's edge
    assert inference_decoder(level4) is level4
