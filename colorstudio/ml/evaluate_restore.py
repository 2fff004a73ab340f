"""``colorstudio eval restore DIR``: damage detection and inpainting on synthetic damage, and
detection on real damaged prints (``--real``).

Every photo (long side ``size``) is damaged with a seeded mix of :mod:`colorstudio.ml.damage`
kinds; a third are made grey and scanned in greyscale, half get film grain and JPEG
recompression (not damage).

- Detection: pixel precision, recall and F1 of the detector's mask (sensitivity 0.5, no growing)
  against the exact synthetic mask, summed over all photos.
- Inpainting, on the *true* mask, PSNR and mean absolute error inside the mask against the clean
  photo, for the trained inpainter, OpenCV's Telea and Navier–Stokes inpainting (radius 3) and our
  classical pull–push fill; and the detail kept: the standard deviation of the fill's fine detail
  (luma minus its Gaussian blur, σ 1 px) inside the mask over the clean photo's there. 1 means
  as much texture and grain as the photo had; a smooth fill scores far below (PSNR rewards
  smoothness, so the two are read together).
- End to end: PSNR of the whole photo after detect → inpaint, against the damaged input's.
- Per damage kind: detection precision, recall and F1 with one kind of damage at a time, on the
  first ``KIND_PHOTOS`` photos — which kinds the detector misses and which it over-marks.

- Real damage (:func:`evaluate_real_damage`): the detector as the editor runs it, on real damaged
  prints against approximate masks made by ``benchmarks/realdamage_masks.py``; precision, recall
  and F1 pixel-exact and with a tolerance of ``REAL_TOLERANCE`` px, at several sensitivities.

OpenCV is only needed here (``pip install opencv-python-headless``, in the ``test`` extra).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from colorstudio.core.io.images import load_image
from colorstudio.ml.damage import DAMAGE_KINDS, synthesize_damage
from colorstudio.ml.engine import Engine
from colorstudio.ml.evaluate import save_sheet, sheet_row
from colorstudio.ml.jobs import Job
from colorstudio.ml.requests import DetectDamageRequest, RestoreRequest
from colorstudio.ml.restore import damage_map
from colorstudio.ml.train.data import list_images


def _opencv():
    try:
        import cv2
    except ImportError:
        raise RuntimeError(
            "eval restore compares with OpenCV's inpainting: pip install opencv-python-headless"
        ) from None
    return cv2


def masked_psnr(output: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    error = (output.astype(np.float64) - truth)[mask]
    mse = float(np.mean(error**2)) if error.size else 0.0
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def masked_l1(output: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    error = np.abs(output.astype(np.float64) - truth)[mask]
    return float(error.mean()) if error.size else 0.0


def _luma(rgb: np.ndarray) -> np.ndarray:
    """Rec. 601 luma of H x W x 3+ uint8: H x W float64 in 0..255."""
    return rgb[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def _fine_detail(rgb: np.ndarray) -> np.ndarray:
    luma = _luma(rgb)
    return luma - ndimage.gaussian_filter(luma, 1.0)


def detail_kept(output: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    """Fine-detail spread of ``output`` inside ``mask`` relative to ``truth``'s (1 = as much)."""
    reference = _fine_detail(truth)[mask].std() if mask.any() else 0.0
    if reference <= 1e-6:
        return 1.0
    return float(_fine_detail(output)[mask].std() / reference)


KIND_PHOTOS = 20


class _Scores:
    """F-measures from the ``precision`` and ``recall`` a subclass defines."""

    @property
    def precision(self) -> float:
        raise NotImplementedError

    @property
    def recall(self) -> float:
        raise NotImplementedError

    @property
    def f1(self) -> float:
        return self.f(1.0)

    def f(self, beta: float) -> float:
        """The F-measure that weighs recall ``beta`` times as much as precision."""
        p, r = self.precision, self.recall
        b2 = beta * beta
        return 0.0 if p + r == 0 else (1 + b2) * p * r / (b2 * p + r)


@dataclass
class Counts(_Scores):
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, found: np.ndarray, truth: np.ndarray) -> None:
        self.tp += int((found & truth).sum())
        self.fp += int((found & ~truth).sum())
        self.fn += int((~found & truth).sum())

    @property
    def precision(self) -> float:
        return self.tp / max(1, self.tp + self.fp)

    @property
    def recall(self) -> float:
        return self.tp / max(1, self.tp + self.fn)


@dataclass
class RestoreReport(Counts):
    """Detection counts over all photos (the mix of kinds), plus the other measurements."""

    photos: int = 0
    inpaint: dict[str, dict[str, float]] = field(default_factory=dict)
    end_to_end: dict[str, float] = field(default_factory=dict)
    per_kind: dict[str, Counts] = field(default_factory=dict)
    kind_photos: int = 0

    def markdown(self) -> str:
        lines = [
            "| detection | precision | recall | F1 |",
            "|---|---|---|---|",
            f"| damage detector | {self.precision:.3f} | {self.recall:.3f} | {self.f1:.3f} |",
            "",
            "| inpainting (true mask) | PSNR in mask (dB) | L1 in mask (0–255) | detail kept |",
            "|---|---|---|---|",
        ]
        for method, row in self.inpaint.items():
            lines.append(
                f"| {method} | {row['psnr']:.2f} | {row['l1']:.2f} | {row['detail']:.2f} |"
            )
        lines += ["", "| end to end (whole photo) | PSNR (dB) |", "|---|---|"]
        for method, value in self.end_to_end.items():
            lines.append(f"| {method} | {value:.2f} |")
        if self.per_kind:
            lines += [
                "",
                f"| one kind at a time ({self.kind_photos} photos) | precision | recall | F1 |",
                "|---|---|---|---|",
            ]
            for kind, c in self.per_kind.items():
                lines.append(f"| {kind} | {c.precision:.3f} | {c.recall:.3f} | {c.f1:.3f} |")
        lines.append("")
        lines.append(
            f"{self.photos} photos with seeded synthetic damage; pixel-exact masks; "
            "higher is better except L1."
        )
        return "\n".join(lines)


def damaged_case(path: Path, index: int, size: int, kinds: tuple[str, ...] | None = None):
    """(clean, damaged, mask) for photo ``index`` — the same every run. ``kinds``: only these
    kinds of damage (default: the seeded random mix)."""
    rng = np.random.default_rng(1000 + index if kinds is None else 5000 + index)
    im = Image.fromarray(load_image(path).rgba[..., :3])
    im.thumbnail((size, size), Image.Resampling.LANCZOS)
    clean = np.asarray(im)
    if index % 3 == 0:
        grey = np.asarray(im.convert("L"))
        clean = np.repeat(grey[..., None], 3, axis=2)
    damaged, mask = synthesize_damage(
        clean,
        rng,
        kinds=kinds,
        severity=float(rng.uniform(0.2, 0.9)),
        grain=4.0 if index % 2 else 0.0,
        jpeg_quality=80 if index % 2 else None,
        grey_scan=index % 3 == 0,  # a grey print scanned in greyscale, as archives do
    )
    return clean, damaged, mask


#: thresholds tried on the calibrated probability: logits −4 … 4 in steps of 0.1
CALIBRATION_THRESHOLDS = tuple(float(1 / (1 + np.exp(-k / 10))) for k in range(-40, 41))
#: the operating point weighs recall twice as much as precision (F2): in the editor a missed
#: crack must be found and painted by hand, a false alarm is wiped off with one eraser stroke
CALIBRATION_BETA = 2.0


#: photos are calibrated at this long side, above the coarse pass (``restore.COARSE_SIZE``), so
#: the threshold is chosen on the two-scale probability the editor thresholds
CALIBRATION_SIZE = 960


@dataclass(frozen=True)
class DetectorCalibration:
    """How a detector's output is set before it ships (:meth:`DamageDetector.calibrate`).

    ``slope`` and ``offset`` map its logits z to a·z + b, fitted by log-likelihood on synthetic
    damage (Platt scaling): the probabilities then match how often such pixels are damaged, and
    the sensitivity slider moves through the same log-odds steps for every detector, however
    sharp or timid its training left it. ``threshold``: the best pixel F-measure on those
    probabilities, which sensitivity 0.5 is moved onto; ``scores``: the F-measure at every
    threshold tried."""

    slope: float
    offset: float
    threshold: float
    scores: dict[float, float]


def platt_fit(z: np.ndarray, truth: np.ndarray, steps: int = 25) -> tuple[float, float]:
    """(a, b) maximising the likelihood of ``truth`` (bool) under sigmoid(a·z + b), by Newton's
    method with step halving (the problem is convex); (1, 0) where the logits carry no usable
    signal."""
    x = np.stack([z.astype(np.float64), np.ones(z.size)], 1)
    y = truth.astype(np.float64)

    def nll(w: np.ndarray) -> float:
        u = x @ w
        return float(np.mean(np.logaddexp(0, u) - y * u))

    w = np.array([1.0, 0.0])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(x @ w, -30, 30)))
        hessian = (x * (p * (1 - p))[:, None]).T @ x + 1e-6 * np.eye(2)
        step = np.linalg.solve(hessian, x.T @ (p - y))
        size, now = 1.0, nll(w)
        while nll(w - size * step) > now and size > 1e-4:
            size /= 2
        w = w - size * step
    a, b = float(w[0]), float(w[1])
    return (a, b) if np.isfinite(a) and np.isfinite(b) and a > 0 else (1.0, 0.0)


def calibrate_detector(
    detector, photos: Sequence[Path], size: int = CALIBRATION_SIZE,
    beta: float = CALIBRATION_BETA,
) -> DetectorCalibration:  # fmt: skip
    """Fit the logits' slope and offset and choose the threshold on synthetic damage over
    ``photos`` (use photos that are not the evaluation set). ``detector``: a torch detector,
    run as the editor runs it (:func:`colorstudio.ml.restore.damage_map`: both scales, the
    larger probability)."""
    engine = Engine(device="cpu", detector=detector)  # the given detector, not an installed one
    net = engine.net("detect")
    assert net is not None  # the detector given
    logits, truths = [], []
    for index, path in enumerate(photos):
        _, damaged, mask = damaged_case(path, 7000 + index, size)
        prob = damage_map(engine, net, Job(), damaged, DetectDamageRequest(damaged))
        prob = np.clip(prob.astype(np.float64), 1e-12, 1 - 1e-12)
        logits.append(np.log(prob / (1 - prob)).ravel())
        truths.append(mask.ravel())
    z, truth = np.concatenate(logits), np.concatenate(truths)
    slope, offset = platt_fit(z[::7], truth[::7])  # a sample is plenty for two parameters
    calibrated = slope * z + offset
    # every threshold at once: damaged and clean pixels counted above each one
    edges = np.log(np.array(CALIBRATION_THRESHOLDS) / (1 - np.array(CALIBRATION_THRESHOLDS)))
    bins = np.concatenate([[-np.inf], edges, [np.inf]])
    above = [
        np.cumsum(np.histogram(calibrated[part], bins)[0][::-1])[::-1][1:]
        for part in (truth, ~truth)
    ]
    scores = {}
    for t, tp, fp in zip(CALIBRATION_THRESHOLDS, *above, strict=True):
        scores[t] = Counts(int(tp), int(fp), int(truth.sum() - tp)).f(beta)
    threshold = max(scores, key=scores.__getitem__)
    return DetectorCalibration(slope, offset, threshold, scores)


def detected(engine: Engine, damaged: np.ndarray, size: int | None = None, **options) -> np.ndarray:
    """Where the engine's detector finds damage (H x W bool), at ``size`` (default: the
    request's) and without growing it unless ``options`` say otherwise."""
    sized = {} if size is None else {"working_size": size}
    mask = engine.run(DetectDamageRequest(damaged, **{"grow": 0, **sized, **options})).mask
    assert mask is not None  # a detection's result carries its mask
    return mask > 0


def evaluate_restore(
    engine: Engine,
    photos: Sequence[Path],
    size: int = 384,
    sheet_path: Path | None = None,
    sheet_rows: int = 6,
) -> RestoreReport:
    cv2 = _opencv()
    has_inpainter = engine.net("inpaint") is not None
    sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    whole: dict[str, float] = defaultdict(float)
    report = RestoreReport()
    sheet: list[np.ndarray] = []
    for index, path in enumerate(photos):
        clean, damaged, mask = damaged_case(path, index, size)
        found = detected(engine, damaged, size)
        report.add(found, mask)
        mask_u8 = mask.astype(np.uint8) * 255
        outputs = {
            "OpenCV Telea": cv2.inpaint(damaged, mask_u8, 3, cv2.INPAINT_TELEA),
            "OpenCV Navier–Stokes": cv2.inpaint(damaged, mask_u8, 3, cv2.INPAINT_NS),
            "pull–push (classical)": engine.run(
                RestoreRequest(damaged, mask_u8, engine="classical", working_size=size)
            ).image,
        }
        if has_inpainter:
            outputs["gated inpainter (ours)"] = engine.run(
                RestoreRequest(damaged, mask_u8, engine="gan", working_size=size)
            ).image
        for method, output in outputs.items():
            sums[method]["psnr"] += masked_psnr(output, clean, mask)
            sums[method]["l1"] += masked_l1(output, clean, mask)
            sums[method]["detail"] += detail_kept(output, clean, mask)
        everywhere = np.ones(mask.shape, bool)
        restored = engine.run(RestoreRequest(damaged, found.astype(np.uint8) * 255)).image
        whole["damaged input"] += masked_psnr(damaged, clean, everywhere)
        whole["detect → inpaint"] += masked_psnr(restored, clean, everywhere)
        report.photos += 1
        if len(sheet) < sheet_rows:
            shown = [damaged, np.repeat(found[..., None] * np.uint8(255), 3, axis=2)]
            shown += [outputs["OpenCV Telea"], restored, clean]
            sheet.append(sheet_row(shown))
    for kind in DAMAGE_KINDS:
        counts = report.per_kind.setdefault(kind, Counts())
        for index, path in enumerate(photos[:KIND_PHOTOS]):
            _, damaged, mask = damaged_case(path, index, size, kinds=(kind,))
            found = detected(engine, damaged, size)
            counts.add(found, mask)
    report.kind_photos = min(len(photos), KIND_PHOTOS)
    n = max(1, report.photos)
    report.inpaint = {m: {k: v / n for k, v in d.items()} for m, d in sums.items()}
    report.end_to_end = {m: v / n for m, v in whole.items()}
    if sheet_path is not None and sheet:
        save_sheet(sheet, sheet_path)
    return report


#: a found pixel within this many px of a true one counts as found (the real masks are drawn by
#: hand and by top-hat rules: their edges are uncertain by about this much)
REAL_TOLERANCE = 2
REAL_SENSITIVITIES = (0.3, 0.5, 0.7, 0.9)


@dataclass
class RealDamageReport:
    """Detection on real damaged prints against approximate hand-made masks."""

    #: photo name → (share of the photo found, tolerant counts at the default sensitivity)
    photos: dict[str, tuple[float, NearCounts]] = field(default_factory=dict)
    #: photo name → the damage's contrast left after detect → inpaint (1: untouched)
    contrast_kept: dict[str, float] = field(default_factory=dict)
    #: sensitivity → (exact counts, tolerant counts) over all photos
    totals: dict[float, tuple[Counts, NearCounts]] = field(default_factory=dict)

    def markdown(self) -> str:
        tol = f"±{REAL_TOLERANCE} px"
        lines = [
            "| real damage: sensitivity | precision | recall | F1 | "
            f"precision {tol} | recall {tol} | F1 {tol} |",
            "|---|---|---|---|---|---|---|",
        ]
        for s, (exact, near) in self.totals.items():
            lines.append(
                f"| {s:g} | {exact.precision:.3f} | {exact.recall:.3f} | {exact.f1:.3f} | "
                f"{near.precision:.3f} | {near.recall:.3f} | {near.f1:.3f} |"
            )
        lines += ["", f"| photo (sensitivity 0.5) | found | recall ±{REAL_TOLERANCE} px "
                  f"| precision ±{REAL_TOLERANCE} px | contrast kept |",
                  "|---|---|---|---|---|"]  # fmt: skip
        for name, (found, c) in self.photos.items():
            kept = self.contrast_kept.get(name, float("nan"))
            lines.append(
                f"| {name} | {100 * found:.2f} % | {c.recall:.3f} | {c.precision:.3f} | "
                f"{kept:.2f} |"
            )
        lines.append("")
        lines.append(
            f"{len(self.photos)} real damaged prints, approximate masks (tests/data/realdamage); "
            "the detector at full resolution as the editor runs it, not grown. Contrast kept: "
            "the damage's contrast against its surroundings (mean |luma − its 9 px median| in "
            "the mask) after detect → inpaint with the editor's defaults, over before."
        )
        return "\n".join(lines)


@dataclass
class NearCounts(_Scores):
    """Detection counts with a tolerance of ``tolerance`` px: precision is the share of found
    pixels near a true one, recall the share of true pixels near a found one (two different
    ratios: a wide mark over a thin crack finds all of it and is partly wrong)."""

    tolerance: int = REAL_TOLERANCE
    found_near: int = 0  #: found pixels within ``tolerance`` of a true one
    found: int = 0
    truth_near: int = 0  #: true pixels within ``tolerance`` of a found one
    truth: int = 0

    def add(self, found: np.ndarray, truth: np.ndarray) -> None:
        """Count one photo (both H x W bool)."""
        if self.tolerance < 0:
            raise ValueError("the tolerance is a number of pixels, 0 or more")
        grow = self.tolerance
        near_truth = ndimage.binary_dilation(truth, iterations=grow) if grow else truth
        near_found = ndimage.binary_dilation(found, iterations=grow) if grow else found
        self.found_near += int((found & near_truth).sum())
        self.found += int(found.sum())
        self.truth_near += int((truth & near_found).sum())
        self.truth += int(truth.sum())

    @property
    def precision(self) -> float:
        return self.found_near / max(1, self.found)

    @property
    def recall(self) -> float:
        return self.truth_near / max(1, self.truth)


def evaluate_real_damage(
    engine: Engine, photos: Path, masks: Path, default: float = 0.5
) -> RealDamageReport:
    """Detect damage in every image of ``photos`` that has a mask (``NAME.png``) in ``masks``;
    the per-photo rows at sensitivity ``default``. Raises ValueError when no photo has a mask
    or a mask's size differs from its photo's."""
    report = RealDamageReport()
    sensitivities = sorted({*REAL_SENSITIVITIES, default})
    totals = {s: (Counts(), NearCounts()) for s in sensitivities}
    try:
        by_name = {p.stem: p for p in list_images([photos])}
    except FileNotFoundError:
        by_name = {}
    pairs = [(m, by_name[m.stem]) for m in sorted(masks.glob("*.png")) if m.stem in by_name]
    if not pairs:
        raise ValueError(f"no photo in {photos} has a mask in {masks}")
    for mask_path, photo_path in pairs:
        truth = np.asarray(Image.open(mask_path).convert("L")) > 127
        rgb = load_image(photo_path).rgba[..., :3]
        if rgb.shape[:2] != truth.shape:
            raise ValueError(
                f"{mask_path.name} is {truth.shape[1]} x {truth.shape[0]}, its photo "
                f"{rgb.shape[1]} x {rgb.shape[0]}"
            )
        for s, (exact, near) in totals.items():
            found = detected(engine, rgb, sensitivity=s)
            exact.add(found, truth)
            near.add(found, truth)
            if s == default:
                photo = NearCounts()
                photo.add(found, truth)
                report.photos[mask_path.stem] = (float(found.mean()), photo)
                grown = detected(engine, rgb, sensitivity=s, grow=DetectDamageRequest.grow)
                mask = grown.astype(np.uint8) * 255
                restored = engine.run(RestoreRequest(rgb, mask)).image if grown.any() else rgb
                before = damage_contrast(rgb, truth)
                kept = damage_contrast(restored, truth) / before if before > 0 else 1.0
                report.contrast_kept[mask_path.stem] = kept
    report.totals = totals
    return report


def damage_contrast(rgb: np.ndarray, mask: np.ndarray) -> float:
    """How much the pixels in ``mask`` (H x W bool) stand out from their surroundings: the mean
    absolute difference of their luma (0..255) from its 9 x 9 median. ``rgb``: H x W x 3 uint8."""
    luma = _luma(rgb)
    if not mask.any():
        return 0.0
    return float(np.abs(luma - ndimage.median_filter(luma, size=9))[mask].mean())
