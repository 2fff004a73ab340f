"""The stroke protocols of ``eval colorize``: regions, mouse-like strokes, scores."""

import numpy as np
import pytest
from PIL import Image

from colorstudio import cli
from colorstudio.ml import fullres
from colorstudio.ml.evaluate_strokes import evaluate_strokes, stroke_scores
from colorstudio.ml.strokes import BRUSH, color_regions, paint_strokes, stroke_case


def _objects(h: int = 96, w: int = 128) -> np.ndarray:
    """A photo of four flat, coloured objects on a blue-grey ground (uint8 H x W x 3)."""
    rgb = np.empty((h, w, 3), np.uint8)
    rgb[:] = (90, 110, 140)
    rgb[10:50, 10:60] = (200, 40, 40)
    rgb[55:90, 20:70] = (40, 160, 60)
    rgb[15:80, 80:120] = (220, 190, 40)
    rgb[60:90, 75:78] = (0, 0, 0)  # too thin for a brush
    return rgb


def test_regions_are_connected_parts_of_one_color():
    gt = _objects()
    labels, keep = color_regions(gt)
    assert keep, "the flat objects are regions"
    for label in keep:
        region = labels == label
        colors = gt[region].reshape(-1, 3).astype(int)
        spread = np.abs(colors - np.median(colors, 0)).max(1)
        assert (spread < 40).mean() > 0.9  # one colour (edges blur a little)
        share = region.mean()
        assert 0.02 <= share <= 0.4


def test_strokes_stay_inside_their_region_and_look_like_a_brush(rng):
    region = np.zeros((100, 100), bool)
    region[20:80, 30:90] = True
    painted = paint_strokes(region, 2, rng)
    assert painted.any()
    assert not (painted & ~region).any()
    # a brush of BRUSH long sides paints discs, not single pixels
    radius = max(2, round(BRUSH * 100))
    assert painted.sum() >= np.pi * radius**2 * 0.8
    thin = np.zeros_like(region)
    thin[50, 10:90] = True
    assert not paint_strokes(thin, 3, rng).any()


@pytest.mark.parametrize("protocol", ["true", "new"])
def test_a_case_paints_hint_colors_inside_the_stroked_regions(protocol):
    gt = _objects()
    case = stroke_case(gt, protocol, seed=3)
    assert case is not None
    painted = case.hints[..., 3] > 0
    assert painted.any() and not (painted & ~case.stroked).any()
    assert np.array_equal(case.regions > 0, case.stroked)  # numbered: one or two regions
    assert set(np.unique(case.regions[case.stroked])) <= {1, 2}
    lab_gt = fullres.rgb_to_lab(gt)
    lab_hint = fullres.rgb_to_lab(case.hints[..., :3])
    shift = np.hypot(*(lab_hint[painted][:, 1:] - lab_gt[painted][:, 1:]).T).mean()
    if protocol == "true":
        assert shift < 8  # the region's own colour
        assert not case.turn.any()
    else:
        assert shift > 20  # hue turned by 90-180 degrees of a colourful region
        turned = np.abs(np.degrees(case.turn[case.stroked]))
        assert turned.min() >= 90 and turned.max() <= 180 and not case.turn[~case.stroked].any()


def test_a_grey_photo_offers_no_region_for_new_colors():
    grey = np.repeat(_objects().mean(-1, keepdims=True), 3, -1).astype(np.uint8)
    assert stroke_case(grey, "new", seed=0) is None


def test_scores_tell_a_local_edit_from_a_leak():
    gt = _objects()
    case = stroke_case(gt, "new", seed=1)
    assert case is not None
    free = gt.copy()
    lab = fullres.rgb_to_lab(gt)
    local = lab.copy()
    local[case.stroked, 1:] = case.colors[case.stroked]
    everywhere = lab.copy()
    everywhere[..., 1:] = case.colors[case.stroked].mean(0)
    to_rgb = fullres.lab_to_rgb
    good = stroke_scores(case, gt, free, to_rgb(local.astype(np.float32)), "new")
    bad = stroke_scores(case, gt, free, to_rgb(everywhere.astype(np.float32)), "new")
    assert good["took"] > 0.9 and good["leak"] < 0.01
    assert bad["leak"] > 0.5
    truth = stroke_scores(case, gt, free, gt, "true")
    assert truth["inside"] < 1 and truth["outside_worse"] == 0


def test_evaluate_strokes_scores_every_method(tmp_path):
    for i in range(2):
        Image.fromarray(np.roll(_objects(), 20 * i, 1)).save(tmp_path / f"p{i}.png")
    files = sorted(tmp_path.glob("*.png"))

    def hint_free(grey, hints):
        return grey

    def hints_everywhere(grey, hints):  # paints the first hint colour over the whole photo
        if hints is None:
            return grey
        lab = fullres.rgb_to_lab(grey)
        first = fullres.rgb_to_lab(hints[hints[..., 3] > 0][:1, None, :3])[0, 0]
        lab[..., 1:] = first[1:]
        return fullres.lab_to_rgb(lab)

    report = evaluate_strokes({"none": hint_free, "flood": hints_everywhere}, files)
    assert report.photos["true"] == 2 and report.photos["new"] == 2
    assert report.rows[("new", "none")]["leak"] == 0
    assert report.rows[("new", "flood")]["leak"] > report.rows[("new", "none")]["leak"]
    text = report.markdown()
    assert "| flood |" in text and "leak" in text


def test_the_engine_methods_cover_both_hint_reaches(engine, classical_engine, rng):
    from colorstudio.ml.evaluate_strokes import engine_methods

    methods = engine_methods(engine, 64)
    assert set(methods) == {"gan", "gan-photo", "network", "levin"}
    assert set(engine_methods(classical_engine, 64)) == {"levin"}
    gt = _objects()
    grey = np.repeat(gt.mean(-1, keepdims=True), 3, -1).astype(np.uint8)
    case = stroke_case(gt, "new", seed=1)
    assert case is not None
    outputs = {name: method(grey, case.hints) for name, method in methods.items()}
    assert not np.array_equal(outputs["gan"], outputs["gan-photo"])
    assert not np.array_equal(outputs["network"], outputs["gan"])  # no hint model after it
    assert np.array_equal(methods["levin"](grey, None), grey)


def test_eval_colorize_reports_the_stroke_protocols(tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(_objects()).save(photos / "p.png")
    out = tmp_path / "eval"
    (tmp_path / "none").mkdir()  # a model folder without models: the classical engines
    args = ["eval", "colorize", str(photos), "--out", str(out), "--draws", "1", "--size", "64"]
    assert cli.main([*args, "--models", str(tmp_path / "none")]) == 0
    report = (out / "report.md").read_text()
    assert "new: leak" in report and "| levin |" in report
    assert cli.main([*args, "--models", str(tmp_path / "none"), "--no-strokes"]) == 0
    assert "new: leak" not in (out / "report.md").read_text()
