"""False alarms on real old prints that have no damage (``eval restore --undamaged FOLDER``).

The real damaged prints (:func:`colorstudio.ml.evaluate_restore.evaluate_real_damage`) have only
approximate masks and few prints, so their precision is a noisy figure. Aged but undamaged prints
(``shared/data/realold``: faded, yellowed, grainy) have an exact truth: nothing is damage, so every
pixel the detector marks is a false alarm — one the user's Repair would paint over (a window, an
eye, the sky between branches). Reported per sensitivity: the mean and the largest share of a
print marked, and per print at the default. Validation only: nothing is trained or tuned on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from colorstudio.core.io.images import load_image
from colorstudio.ml.engine import Engine
from colorstudio.ml.evaluate_restore import REAL_SENSITIVITIES, detected
from colorstudio.ml.train.data import list_images


@dataclass
class UndamagedReport:
    """Shares of undamaged prints the detector marked (0..1: every marked pixel is wrong)."""

    #: sensitivity → photo name → share of the photo marked (not grown)
    marked: dict[float, dict[str, float]] = field(default_factory=dict)
    default: float = 0.5

    def mean(self, sensitivity: float) -> float:
        return float(np.mean(list(self.marked[sensitivity].values())))

    def worst(self, sensitivity: float) -> tuple[str, float]:
        shares = self.marked[sensitivity]
        name = max(shares, key=lambda n: shares[n])
        return name, shares[name]

    def markdown(self) -> str:
        count = len(self.marked[self.default])
        lines = [
            "| undamaged prints: sensitivity | marked, mean | marked, worst print |",
            "|---|---|---|",
        ]
        for s in self.marked:
            name, share = self.worst(s)
            lines.append(f"| {s:g} | {100 * self.mean(s):.2f} % | {100 * share:.2f} % ({name}) |")
        lines += ["", f"| undamaged print (sensitivity {self.default:g}) | marked |", "|---|---|"]
        for name, share in self.marked[self.default].items():
            lines.append(f"| {name} | {100 * share:.2f} % |")
        lines += [
            "",
            f"{count} aged prints with no damage: every marked pixel is a false alarm that "
            "Repair would paint over (the detector at full resolution as the editor runs it, "
            "not grown).",
        ]
        return "\n".join(lines)


def evaluate_undamaged(engine: Engine, photos: Path, default: float = 0.5) -> UndamagedReport:
    """Detect damage in every image of ``photos`` (prints without damage) at each of
    ``REAL_SENSITIVITIES`` and ``default``. Raises ValueError when the folder holds no image."""
    try:
        paths = list_images([photos])
    except FileNotFoundError:
        paths = []
    if not paths:
        raise ValueError(f"no images in {photos} (--undamaged)")
    sensitivities = sorted({*REAL_SENSITIVITIES, default})
    report = UndamagedReport({s: {} for s in sensitivities}, default)
    for path in paths:
        rgb = load_image(path).rgba[..., :3]
        name = path.relative_to(photos).as_posix() if path.is_relative_to(photos) else path.name
        for s in sensitivities:
            report.marked[s][name] = float(detected(engine, rgb, sensitivity=s).mean())
    return report
