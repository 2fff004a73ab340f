"""Batch processing: recursive, resumable, reports every file, never touches inputs."""

import csv
import hashlib
import os

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

        return Result.compose(imported.rgba[..., :3], imported.rgba[..., :3], (0, 0, 1, 1))

    summary = run_batch(pairs, process, tmp_path / "out" / "report.csv")
    assert summary.interrupted and summary.done == 1
    written = [dst for _, dst in pairs if dst.exists()]
    assert len(written) == 1
    assert not list((tmp_path / "out").rglob("*.part"))  # no half-written file


@pytest.fixture
def clashing(tmp_path):
    """Inputs whose outputs would be one file: a.bmp/a.png (BMP becomes PNG), x.JPG/x.jpg (one
    file on a case-insensitive disk), and an input already named like a renamed output."""
    root = tmp_path / "clash"
    root.mkdir()
    for i, name in enumerate(["a.bmp", "a.png", "a (2).png", "x.JPG", "x.jpg", "Y.png", "y.png"]):
        Image.fromarray(np.full((8, 8, 3), 20 * i, np.uint8)).save(
            root / name, format="BMP" if name.endswith("bmp") else None
        )
    return root


def test_plan_gives_every_input_its_own_output_the_same_way_each_time(clashing, tmp_path):
    out = tmp_path / "out"
    pairs = plan(clashing, out)
    names = {src.name: dst.name for src, dst in pairs}
    assert names == {
        "a.png": "a.png",  # the input whose name it is keeps it
        "a (2).png": "a (2).png",
        "a.bmp": "a (3).png",  # not "a (2).png": another input writes that
        "x.jpg": "x.jpg",
        "x.JPG": "x (2).jpg",
        "Y.png": "Y.png",  # the first in sorted order
        "y.png": "y (2).png",
    }
    assert len({str(dst).casefold() for _, dst in pairs}) == len(pairs)
    assert [str(r) for r in pairs.renamed] == [
        f"a.bmp → {out / 'a (3).png'}: a.png also writes {out / 'a.png'}",
        f"x.JPG → {out / 'x (2).jpg'}: x.jpg also writes {out / 'x.jpg'}",
        f"y.png → {out / 'y (2).png'}: Y.png also writes {out / 'Y.png'}",
    ]
    assert plan(clashing, out) == pairs  # a rerun plans the same names: resume still works


def test_batch_of_clashing_names_writes_one_file_per_input_and_resumes(clashing, tmp_path):
    from colorstudio.ml.requests import Result

    pairs = plan(clashing, tmp_path / "out")
    report = tmp_path / "out" / "report.csv"
    seen = []

    def process(imported):
        seen.append(int(imported.rgba[0, 0, 0]))
        return Result.compose(imported.rgba[..., :3], imported.rgba[..., :3], (0, 0, 1, 1))

    summary = run_batch(pairs, process, report)
    assert summary.done == 7 and summary.failed == 0
    written = sorted(p for p in (tmp_path / "out").iterdir() if p.suffix != ".csv")
    assert len(written) == 7
    for src, dst in pairs:  # each output holds its own input's pixels
        assert np.array_equal(np.asarray(Image.open(dst)), np.asarray(Image.open(src)))
    rows = list(csv.DictReader(report.open()))
    assert {r["output"] for r in rows} == {str(dst) for _, dst in pairs}
    again = run_batch(pairs, process, report)
    assert (again.done, again.skipped) == (0, 7) and len(seen) == 7


def test_plan_refuses_an_output_that_is_an_input(archive, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    os.link(archive / "grandpa.jpg", out / "grandpa.jpg")  # a hard link: the same file
    with pytest.raises(BatchError, match="grandpa.jpg is the input"):
        plan(archive, out)
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "1950s").symlink_to(archive / "1950s")  # a folder link back into the input
    with pytest.raises(BatchError, match="is the input|inside the input folder"):
        plan(archive, linked)


def test_cli_batch_prints_each_renaming_once(clashing, tmp_path, capsys, exported_colorizer):
    out = tmp_path / "out"
    args = ["batch", "colorize", str(clashing), str(out), "--models", str(exported_colorizer),
            "--size", "64", "--device", "cpu"]  # fmt: skip
    assert cli.main(args) == 0
    printed = capsys.readouterr().out
    assert printed.count("→") == 3
    assert f"a.bmp → {out / 'a (3).png'}: a.png also writes {out / 'a.png'}" in printed
    assert "7 done, 0 already done, 0 failed" in printed
    assert len(list(out.glob("*.png")) + list(out.glob("*.jpg"))) == 7
    assert cli.main(args) == 0
    assert "0 done, 7 already done, 0 failed" in capsys.readouterr().out


def test_cli_batch_refuses_a_report_inside_the_input_folder(archive, tmp_path, capsys):
    before = digests(archive)
    code = cli.main(
        ["batch", "restore", str(archive), str(tmp_path / "out"), "--report",
         str(archive / "grandpa.jpg")]
    )  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "must not be inside the input folder" in err
    assert digests(archive) == before


def test_report_says_when_only_the_first_frame_of_an_animation_was_used(tmp_path):
    from colorstudio.ml.requests import Result

    scans = tmp_path / "scans"
    scans.mkdir()
    frames = [Image.new("RGB", (6, 4), c) for c in ((200, 0, 0), (0, 200, 0))]
    frames[0].save(scans / "anim.png", save_all=True, append_images=frames[1:])
    frames[0].save(scans / "still.png")
    report = tmp_path / "out" / "report.csv"
    summary = run_batch(
        plan(scans, tmp_path / "out"),
        lambda imported: Result.compose(
            imported.rgba[..., :3], imported.rgba[..., :3], (0, 0, 1, 1)
        ),
        report,
    )
    assert summary.done == 2
    rows = {os.path.basename(r["file"]): r for r in csv.DictReader(report.open())}
    assert rows["anim.png"]["error"] == "it holds 2 frames; only the first is used"
    assert rows["still.png"]["error"] == ""


def test_names_equal_after_unicode_normalisation_do_not_collide(tmp_path):
    """macOS stores names decomposed: é (NFC) and e + ◌́ (NFD) are one file there."""
    scans = tmp_path / "scans"
    scans.mkdir()
    for name in ("caf\u00e9.png", "cafe\u0301.png"):
        Image.new("RGB", (4, 4)).save(scans / name)
    outputs = [dst.name for _src, dst in plan(scans, tmp_path / "out")]
    assert len({o.casefold() for o in outputs}) == 2 and any("(2)" in o for o in outputs)


def test_the_report_is_never_a_file_the_batch_reads_nor_a_folder(archive, tmp_path):
    """Appending CSV rows to the painting or a palette would damage it."""
    from colorstudio.batch import check_report

    style = tmp_path / "refs" / "style.jpg"
    style.parent.mkdir()
    Image.new("RGB", (8, 8), (90, 40, 20)).save(style)
    out = tmp_path / "out"
    pairs = plan(archive, out)
    with pytest.raises(BatchError, match="is the input"):
        check_report(style, archive, pairs, [style])
    (tmp_path / "link.jpg").symlink_to(style)
    with pytest.raises(BatchError, match="is the input"):
        check_report(tmp_path / "link.jpg", archive, pairs, [style])
    with pytest.raises(BatchError, match="not a file"):
        check_report(style.parent, archive, pairs, [style])
    with pytest.raises(BatchError, match="does not exist"):
        check_report(tmp_path / "nowhere" / "r.csv", archive, pairs)
    fifo = tmp_path / "r.fifo"
    os.mkfifo(fifo)
    with pytest.raises(BatchError, match="not a file"):
        check_report(fifo, archive, pairs)
    check_report(tmp_path / "report.csv", archive, pairs, [style])  # a new file beside: fine
    # the default report in an output folder the batch has not made yet, whose results all go
    # into subfolders (every input is in one)
    check_report(out / "report.csv", archive, pairs, [style], out)
    with pytest.raises(BatchError, match="does not exist"):
        check_report(out / "report.csv", archive, pairs, [style])  # not said to be the output


def test_cli_batch_refuses_the_painting_as_its_report(archive, tmp_path, capsys):
    style = tmp_path / "style.jpg"
    Image.new("RGB", (8, 8), (90, 40, 20)).save(style)
    before = hashlib.sha256(style.read_bytes()).hexdigest()
    code = cli.main(
        ["batch", "stylize", str(archive), str(tmp_path / "out"), "--style", str(style),
         "--report", str(style)]
    )  # fmt: skip
    assert code == 2
    assert "is the input" in capsys.readouterr().err
    assert hashlib.sha256(style.read_bytes()).hexdigest() == before


def test_a_folder_in_the_way_of_an_output_is_a_failure_not_already_done(archive, tmp_path):
    from colorstudio.ml.requests import Result

    out = tmp_path / "out"
    pairs = plan(archive, out)
    pairs[0][1].mkdir(parents=True)  # a folder where the first result would go
    report = tmp_path / "report.csv"
    summary = run_batch(
        pairs,
        lambda imported: Result.compose(
            imported.rgba[..., :3], imported.rgba[..., :3], (0, 0, 1, 1)
        ),
        report,
    )
    assert (summary.failed, summary.skipped) == (1, 0)
    assert summary.done == len(pairs) - 1
    with report.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["status"] == "failed" and "in the way" in rows[0]["error"]
