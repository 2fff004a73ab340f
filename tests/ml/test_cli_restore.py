"""``colorstudio restore``, ``batch restore`` and ``eval restore|style`` on real files."""

import numpy as np
import pytest
from PIL import Image

from colorstudio import cli
from colorstudio.ml.damage import DAMAGE_KINDS, synthesize_damage


@pytest.fixture
def damaged(tmp_path):
    yy, xx = np.mgrid[0:96, 0:128]
    clean = np.stack([60 + xx, 90 + yy // 2, 150 - xx // 3], -1).astype(np.uint8)
    bad, mask = synthesize_damage(clean, np.random.default_rng(2), kinds=("scratches", "dust"))
    path = tmp_path / "old.png"
    Image.fromarray(bad).save(path)
    mask_path = tmp_path / "mask.png"
    Image.fromarray(mask.astype(np.uint8) * 255).save(mask_path)
    return path, mask_path, bad, mask


def test_restore_with_a_mask_changes_only_the_mask(tmp_path, damaged, exported_restorers, capsys):
    path, mask_path, bad, mask = damaged
    out = tmp_path / "fixed.png"
    code = cli.main(
        ["restore", str(path), str(out), "--mask", str(mask_path), "--models",
         str(exported_restorers), "--device", "cpu"]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    fixed = np.asarray(Image.open(out).convert("RGB"))
    assert np.array_equal(fixed[~mask], bad[~mask])
    assert (fixed[mask] != bad[mask]).any()
    assert "repaired" in capsys.readouterr().out


def test_restore_detects_saves_the_mask_and_colorizes(
    tmp_path, damaged, exported_restorers, capsys
):
    path, _, bad, _ = damaged
    out, mask_out = tmp_path / "fixed.jpg", tmp_path / "found.png"
    palette = tmp_path / "palette.png"  # no colourizer in this model folder: Reinhard transfer
    Image.new("RGB", (16, 16), (200, 120, 60)).save(palette)
    code = cli.main(
        ["restore", str(path), str(out), "--save-mask", str(mask_out), "--sensitivity", "0.6",
         "--colorize", "--reference", str(palette), "--models", str(exported_restorers),
         "--device", "cpu"]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    saved = Image.open(mask_out)
    assert saved.mode == "L"  # a mask is written grey, as masks are read
    found = np.asarray(saved)
    assert found.shape == bad.shape[:2] and set(np.unique(found)) <= {0, 255}
    text = capsys.readouterr().out
    assert "detector found" in text and "colourized (reinhard)" in text
    assert Image.open(out).size == (128, 96)


def test_restore_errors_are_one_line(tmp_path, damaged, capsys):
    path, *_ = damaged
    code = cli.main(["restore", str(path), str(tmp_path / "o.png"), "--models", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err == "colorstudio: no damage detection model is installed in the models folder"
    small = tmp_path / "small.png"
    Image.new("L", (10, 10)).save(small)
    code = cli.main(["restore", str(path), str(tmp_path / "o.png"), "--mask", str(small)])
    assert code == 2 and "the mask is 10 x 10" in capsys.readouterr().err


def test_batch_restore(tmp_path, damaged, exported_restorers, capsys):
    path, *_ = damaged
    src = tmp_path / "archive"
    (src / "1950s").mkdir(parents=True)
    Image.open(path).save(src / "1950s" / "a.png")
    (src / "broken.jpg").write_bytes(b"not a jpeg")
    dst = tmp_path / "restored"
    code = cli.main(
        ["batch", "restore", str(src), str(dst), "--models", str(exported_restorers),
         "--device", "cpu"]
    )  # fmt: skip
    assert code == 1  # one input was broken: reported, the rest done
    assert (dst / "1950s" / "a.png").is_file()
    report = (dst / "report.csv").read_text()
    assert "done" in report and "failed" in report


def test_eval_restore_reports_detection_and_inpainting(tmp_path, damaged, exported_restorers):
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 256, (64, 80, 3), dtype=np.uint8)).save(photos / f"{i}.png")
    out = tmp_path / "eval"
    code = cli.main(
        ["eval", "restore", str(photos), "--out", str(out), "--models", str(exported_restorers),
         "--device", "cpu", "--size", "64"]
    )  # fmt: skip
    assert code == 0
    report = (out / "report.md").read_text()
    for row in ("damage detector", "OpenCV Telea", "OpenCV Navier–Stokes", "gated inpainter"):
        assert row in report
    assert "one kind at a time (2 photos)" in report
    for kind in DAMAGE_KINDS:
        assert f"| {kind} | " in report
    assert (out / "contact_sheet.png").is_file()


def test_eval_style_needs_paintings(tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("RGB", (32, 32)).save(photos / "a.png")
    assert cli.main(["eval", "style", str(photos), "--models", str(tmp_path)]) == 2
    assert "needs --styles" in capsys.readouterr().err


def test_eval_refuses_fewer_than_one_draw_of_hints(tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("RGB", (32, 32)).save(photos / "a.png")
    with pytest.raises(SystemExit) as stopped:
        cli.main(["eval", "colorize", str(photos), "--draws", "0"])
    assert stopped.value.code == 2
    assert "--draws: must be 1 or more, not 0" in capsys.readouterr().err


def test_restore_refuses_to_write_over_its_input_or_its_mask(tmp_path, damaged, capsys):
    path, mask_path, *_ = damaged
    before = path.read_bytes(), mask_path.read_bytes()
    commands = [
        ["restore", str(path), str(path)],
        ["restore", str(path), str(tmp_path / "o.png"), "--save-mask", str(path)],
        ["restore", str(path), str(mask_path), "--mask", str(mask_path)],
    ]
    for argv in commands:
        assert cli.main([*argv, "--models", str(tmp_path)]) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is the input" in err, argv
    assert (path.read_bytes(), mask_path.read_bytes()) == before
    assert not (tmp_path / "o.png").exists()


def test_batch_restore_runs_with_its_own_options(tmp_path, damaged, exported_restorers, capsys):
    path, *_ = damaged
    src = tmp_path / "archive"
    src.mkdir()
    Image.open(path).save(src / "a.png")
    Image.open(path).save(src / "a.bmp")
    dst = tmp_path / "restored"
    code = cli.main(
        ["batch", "restore", str(src), str(dst), "--models", str(exported_restorers),
         "--device", "cpu", "--grow", "0", "--sensitivity", "0.4", "--size", "64"]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert f"a.bmp → {dst / 'a (2).png'}: a.png also writes {dst / 'a.png'}" in (
        capsys.readouterr().out
    )
    assert (dst / "a.png").is_file() and (dst / "a (2).png").is_file()


def test_eval_restore_refuses_a_missing_real_folder_before_any_work(tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("RGB", (32, 32)).save(photos / "a.png")
    code = cli.main(["eval", "restore", str(photos), "--real", str(tmp_path / "nowhere"),
                     "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 2
    assert "no folder" in capsys.readouterr().err
    assert not (tmp_path / "out" / "report.md").exists()


def test_eval_undamaged_is_refused_outside_restore_and_for_a_missing_folder(tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("RGB", (32, 32)).save(photos / "a.png")
    out = ["--out", str(tmp_path / "out")]
    assert cli.main(["eval", "colorize", str(photos), "--undamaged", str(photos), *out]) == 2
    assert "are for eval restore" in capsys.readouterr().err
    missing = str(tmp_path / "no")
    assert cli.main(["eval", "restore", str(photos), "--undamaged", missing, *out]) == 2
    assert "no folder" in capsys.readouterr().err
    assert not (tmp_path / "out" / "report.md").exists()
