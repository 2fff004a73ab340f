"""kill -9 at random moments of save and autosave: the previous project always opens, the
latest autosave can be recovered, and no unfinished ``.part`` file survives the next start."""

import random
import subprocess
import sys
import time

from colorstudio.core.io.autosave import clean_after_crash, find_recoveries, restore
from colorstudio.core.io.ora import load_ora

#: The child saves the project and autosaves, alternately, as fast as it can, forever.
CHILD = r"""
import sys
from pathlib import Path
import numpy as np
from colorstudio.core.document import Document
from colorstudio.core.io.autosave import Autosaver
from colorstudio.core.io.ora import save_ora
from colorstudio.core.layer import Layer

project, recovery = Path(sys.argv[1]), Path(sys.argv[2])
rng = np.random.default_rng(0)
doc = Document(600, 400)
for i in range(4):
    doc.layers.append(Layer(f"layer {i}", rng.integers(0, 256, (400, 600, 4), dtype=np.uint8)))
saver = Autosaver(recovery, interval_s=0)
if not project.exists():
    save_ora(doc, project)
print("ready", flush=True)
step = 0
while True:
    doc.layers[step % 4].pixels[step % 400] = step % 256
    doc.mark_dirty()
    if step % 2:
        save_ora(doc, project)
    else:
        saver.save(doc, str(project))
    step += 1
"""


def test_killing_save_and_autosave_anywhere_loses_nothing(tmp_path):
    project, recovery = tmp_path / "work" / "project.ora", tmp_path / "recovery"
    project.parent.mkdir()
    rnd = random.Random(7)
    restored = set()
    for kill in range(6):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(project), str(recovery)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout.readline().strip() == "ready"
        time.sleep(rnd.uniform(0.05, 1.5))  # somewhere inside a save or an autosave
        child.kill()  # SIGKILL: no cleanup runs
        child.wait()
        # the next start
        clean_after_crash(recovery, [project])
        leftovers = [p.name for p in (*project.parent.iterdir(), *recovery.iterdir())]
        assert not [name for name in leftovers if name.endswith(".part")], (kill, leftovers)
        assert len(load_ora(project).document.layers) == 4, kill  # the previous file opens
        for found in find_recoveries(recovery):  # each dead session's autosave restores
            assert len(restore(found).document.layers) == 4, kill
            restored.add(found.project_path)
    assert len(restored) >= 3  # most of the six sessions lived to autosave at least once
