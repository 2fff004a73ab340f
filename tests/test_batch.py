"""Batch processing: recursive, resumable, reports every file, never touches inputs."""

import csv
import hashlib

import numpy as np
import pytest
from PIL import Image

from colorstudio import cli
from colorstudio.batch import BatchError, plan, run_batch


@pytest.fixture
def archive(tmp_path):
    root = tmp_path / "archive"
    (root / "1950s" / "summer").mkdir(parents=True)
    exif = Image.Exif()
    exif[0x010F] = "Rolleiflex"
    yy, xx = np.mgrid[0:48, 0:64]
    grey = np.repeat(((xx * 3 + yy) % 256).astype(np.uint8)[..., None], 3, axis=2)
    Image.fromarray(grey).save(root / "grandpa.jpg", quality=95, exif=exif.tobytes())
    Image.fromarray(grey).save(root / "1950s" / "wedding.png")
    Image.fromarray(grey).save(root / "1950s" / "summer" / "beach.bmp")
    (root / "1950s" / "broken.jpg").write_bytes(b"\xff\xd8 torn scan")
    (root / "notes.txt").write_text("not an image")
    return root


def digests(folder):
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}


def test_plan_mirrors_folders_and_refuses_output_inside_input(archive, tmp_path):
    pairs = plan(archive, tmp_path / "out")
    names = sorted(str(dst.relative_to((tmp_path / "out").resolve())) for _, dst in pairs)
    assert names == [
        "1950s/broken.jpg",
        "1950s/summer/beach.png",
        "1950s/wedding.png",
        "grandpa.jpg",
    ]
    with pytest.raises(BatchError, match="must not be the input folder or inside it"):
        plan(archive, archive / "coloured")


def test_cli_batch_runs_resumes_and_keeps_inputs(archive, tmp_path, capsys, exported_colorizer):
    models = exported_colorizer
    before = digests(archive)
    out = tmp_path / "out"
    args = ["batch", "colorize", str(archive), str(out), "--models", str(models), "--size", "64"]
    assert cli.main(args) == 1  # one file failed
    printed = capsys.readouterr().out
    assert "3 done, 0 already done, 1 failed" in printed and "broken.jpg" in printed
    assert digests(archive) == before  # inputs untouched
    assert (out / "1950s" / "summer" / "beach.png").is_file()
    with Image.open(out / "grandpa.jpg") as im:
        assert im.getexif()[0x010F] == "Rolleiflex" and "icc_profile" in im.info
    rows = list(csv.DictReader((out / "report.csv").open()))
    assert {r["status"] for r in rows} == {"done", "failed"}
    assert any("broken.jpg" in r["file"] and r["error"] for r in rows)
    # Second run: finished files are skipped, only the broken one is retried.
    assert cli.main(args) == 1
    assert "0 done, 3 already done, 1 failed" in capsys.readouterr().out


def test_interrupt_leaves_only_complete_outputs(archive, tmp_path):
    pairs = [p for p in plan(archive, tmp_path / "out") if "broken" not in str(p[0])]
    calls = []

    def process(imported):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl+C during the second image
        from colorstudio.ml.requests import Result

        return Result(imported.rgba[..., :3], (0, 0, 1, 1))

    summary = run_batch(pairs, process, tmp_path / "out" / "report.csv")
    assert summary.interrupted and summary.done == 1
    written = [dst for _, dst in pairs if dst.exists()]
    assert len(written) == 1
    assert not list((tmp_path / "out").rglob("*.part"))  # no half-written file
