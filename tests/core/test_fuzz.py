"""Fuzzing every file the editor opens (bounded: about 40 s in CI): mutated PNG, JPEG, TIFF, WebP
and BMP files and mutated .ora projects either open or are refused with one line of the
project's own error type — never another exception, never a hang, never unbounded memory."""

import json
import os
import subprocess
import sys
from pathlib import Path

FUZZ_SECONDS = float(os.environ.get("COLORSTUDIO_FUZZ_SECONDS", "40"))
FUZZ_SEED = int(os.environ.get("COLORSTUDIO_FUZZ_SEED", "20261204"))
PEAK_MB = 1024  #: the fuzzing process's resident memory may never pass this


def test_mutated_images_and_projects_open_or_are_refused_in_one_line():
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    finished = subprocess.run(
        [sys.executable, "-m", "tests.fuzzing", str(FUZZ_SEED), str(FUZZ_SECONDS)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=FUZZ_SECONDS + 60,  # a case that hangs in C code (no alarm can stop it)
    )
    assert finished.returncode == 0, finished.stdout[-2000:]
    report = json.loads(finished.stdout.strip().splitlines()[-1])
    assert report["failures"] == [], report["failures"][:5]
    assert report["cases"] >= 1000  # the run did real work...
    assert report["opened"] > 0 and report["refused"] > 0  # ...and mutations hit both outcomes
    assert report["peak_mb"] < PEAK_MB
