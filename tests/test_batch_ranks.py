"""A batch split between processes (torchrun): a stable share each, per-process reports merged."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorstudio.batch import plan
from colorstudio.batch_ranks import Ranks, merge_reports


def test_ranks_come_from_torchrun_and_refuse_nonsense():
    assert Ranks.from_env({}) == Ranks(0, 1, 0, 1)
    env = {"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"}
    assert Ranks.from_env(env) == Ranks(3, 4, 1, 2)
    for env in ({"RANK": "4", "WORLD_SIZE": "4"}, {"WORLD_SIZE": "0"}, {"RANK": "x"}):
        with pytest.raises(ValueError):
            Ranks.from_env(env)


def test_every_photo_goes_to_one_process_whatever_else_is_in_the_archive(tmp_path):
    names = [f"box{i % 7}/photo{i}.jpg" for i in range(200)]
    pairs = [(tmp_path / n, tmp_path / "out" / n) for n in names]
    shares = [Ranks(r, 3).share(pairs, tmp_path) for r in range(3)]
    assert sorted(p for share in shares for p in share) == sorted(pairs)  # each exactly once
    assert all(40 <= len(share) <= 95 for share in shares)  # and roughly evenly
    # The rule is stable: another order, and more photos, move no photo to another process.
    more = pairs[::-1] + [(tmp_path / f"new{i}.jpg", tmp_path / f"o{i}.jpg") for i in range(50)]
    for r in range(3):
        assert set(shares[r]) <= set(Ranks(r, 3).share(more, tmp_path))
    assert Ranks().share(pairs, tmp_path) == pairs


def test_a_relative_input_folder_shares_the_same_photos(tmp_path, monkeypatch):
    (tmp_path / "scans" / "box").mkdir(parents=True)
    for i in range(8):
        Image.fromarray(np.full((8, 8), 20 * i, np.uint8)).save(
            tmp_path / "scans" / "box" / f"{i}.png"
        )
    monkeypatch.chdir(tmp_path)
    pairs = plan(Path("scans"), Path("out"))
    shares = [Ranks(r, 2).share(pairs, Path("scans")) for r in range(2)]
    absolute = [Ranks(r, 2).share(pairs, (tmp_path / "scans").resolve()) for r in range(2)]
    assert shares == absolute and sorted(shares[0] + shares[1]) == sorted(pairs)


def test_processes_on_one_machine_share_its_cores():
    assert Ranks(0, 4, 0, 4).threads(None) == max(1, (os.cpu_count() or 1) // 4)
    assert Ranks(0, 4, 0, 4).threads(3) == 3
    assert Ranks().threads(None) is None
    assert Ranks(1, 2, 1, 2).device("cuda", cuda_available=True) == "cuda:1"


def test_reports_devices_and_merging(tmp_path):
    report = tmp_path / "report.csv"
    assert Ranks().report(report) == report
    assert Ranks(1, 2).report(report).name == "report.rank1.csv"
    assert Ranks(1, 2, 1).device("auto", cuda_available=True) == "cuda:1"
    assert Ranks(1, 2, 1).device("auto", cuda_available=False) == "auto"
    assert Ranks(1, 2, 1).device("cpu", cuda_available=True) == "cpu"
    header = ["file", "status", "seconds", "error", "output"]
    rows = {
        report: [["a.jpg", "failed", "1", "torn", "o/a.jpg"]],  # an earlier run
        Ranks(0, 2).report(report): [["a.jpg", "done", "2", "", "o/a.jpg"]],  # retried now
        Ranks(1, 2).report(report): [["b.jpg", "done", "1", "", "o/b.jpg"]],
    }
    for path, lines in rows.items():
        with path.open("w", newline="") as handle:
            csv.writer(handle).writerows([header, *lines])
    assert merge_reports(report, 2) == 2
    merged = list(csv.DictReader(report.open()))
    assert [(r["file"], r["status"]) for r in merged] == [
        ("a.jpg", "failed"),  # the earlier run's row stays, as one process's report keeps it
        ("a.jpg", "done"),
        ("b.jpg", "done"),
    ]
    assert not Ranks(0, 2).report(report).exists() and not Ranks(1, 2).report(report).exists()
    assert merge_reports(report, 2) == 0  # nothing new: the report is left as it was
    assert len(list(csv.DictReader(report.open()))) == 3
    # a crashed earlier run with more processes left its file: the next merge takes it along
    with Ranks(3, 4).report(report).open("w", newline="") as handle:
        csv.writer(handle).writerows([header, ["c.jpg", "done", "1", "", "o/c.jpg"]])
    assert merge_reports(report, 2) == 1 and not Ranks(3, 4).report(report).exists()


def test_batch_under_torchrun_splits_the_archive_and_merges_the_report(
    tmp_path, exported_colorizer
):
    """Two processes on the CPU (gloo), as torchrun starts them: every photo is done once, by
    the process the stable rule names; the second run finds everything done (resume)."""
    archive = tmp_path / "archive"
    (archive / "sub").mkdir(parents=True)
    yy, xx = np.mgrid[0:40, 0:56]
    for i in range(6):
        grey = ((xx * 3 + yy + 20 * i) % 256).astype(np.uint8)
        Image.fromarray(grey).save(archive / ("sub" if i % 2 else "") / f"p{i}.png")
    out = tmp_path / "out"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
        "-m", "colorstudio", "batch", "colorize", str(archive), str(out),
        "--models", str(exported_colorizer), "--size", "64", "--device", "cpu", "--threads", "1",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
    printed = []
    for _run in range(2):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        assert "all 2 processes finished: 6 rows added" in done.stdout
        printed.append(done.stdout)
    pairs = plan(archive, out)
    assert all(dst.is_file() for _, dst in pairs)
    for rank in range(2):  # each process did the photos the rule gives it, and said so
        share = len(Ranks(rank, 2).share(pairs, archive.resolve()))
        assert f"process {rank} of 2: {share} done, 0 already done" in printed[0]
        assert f"process {rank} of 2: 0 done, {share} already done" in printed[1]
    rows = list(csv.DictReader((out / "report.csv").open()))
    statuses = sorted((Path(r["file"]).name, r["status"]) for r in rows)
    assert statuses == sorted(
        [(f"p{i}.png", "done") for i in range(6)]
        + [(f"p{i}.png", "skipped (already done)") for i in range(6)]
    )
    assert not list(out.glob("report.rank*.csv"))
