"""Tiles: the fewest that fit, equal in size, overlapping as asked; blending them is seamless."""

import itertools

import numpy as np
import pytest

from colorstudio.ml.tiling import run_tiled, tile_spans


@pytest.mark.parametrize("length", [1, 100, 512, 513, 602, 1000, 1536, 2048, 4001])
@pytest.mark.parametrize(("tile", "overlap"), [(512, 64), (256, 32), (1088, 64)])
def test_tiles_cover_the_length_with_the_overlap_and_no_tile_more(length, tile, overlap):
    spans = tile_spans(length, tile, overlap)
    starts = [start for start, _ in spans]
    sizes = {size for _, size in spans}
    assert starts[0] == 0 and spans[-1][0] + spans[-1][1] == length
    assert len(sizes) == 1 and max(sizes) <= tile
    assert all(b - a > 0 for a, b in itertools.pairwise(starts))
    for (a, size), (b, _) in itertools.pairwise(spans):
        assert a + size - b >= overlap  # neighbours share at least the overlap
    # the fewest tiles: one fewer could not cover the length with that overlap
    fewer = len(spans) - 1
    assert fewer == 0 or fewer * tile - (fewer - 1) * overlap < length


def test_a_print_a_little_over_one_tile_costs_two_small_tiles_not_two_full_ones():
    spans = tile_spans(602, 512, 64)
    assert len(spans) == 2 and spans[0][1] < 400  # was two 512 px tiles overlapping by 422


def test_blending_equal_tiles_gives_back_a_pointwise_function_exactly():
    rng = np.random.default_rng(0)
    image = rng.random((1, 3, 700, 1100), dtype=np.float32)
    seen = []

    def double(piece: np.ndarray) -> np.ndarray:
        seen.append(piece.shape[-2:])
        return piece * 2

    out = run_tiled(image, double, tile=512, overlap=64)
    np.testing.assert_allclose(out, image * 2, rtol=1e-5, atol=1e-6)
    assert len(set(seen)) == 1 and len(seen) == 2 * 3
