"""``colorstudio train``: training runs, ``train export`` and ``train onnx`` (the train profile;
torch is imported inside the commands, never at import time)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import cast

from colorstudio.cli_args import (
    DEVICE_HELP,
    MAX_THREADS,
    Parser,
    device,
    fraction,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    thread_count,
)
from colorstudio.cli_commands import require_torch, subcommand


def _export(argv: Sequence[str]) -> int:
    parser = Parser(
        prog="colorstudio train export",
        description="Export a run's generator into the model folder (fp16, manifest, model card).",
    )
    parser.add_argument("run", help="run folder (with checkpoint.pt)")
    parser.add_argument("--name", required=True, help="model name, e.g. colorizer")
    parser.add_argument("--models", default=None, help="model folder (default: the shipped one)")
    parser.add_argument("--eval-dir", help="held-out photos to evaluate on for the model card")
    parser.add_argument(
        "--eval-limit", type=positive_int, help="evaluate on only the first N photos"
    )
    parser.add_argument(
        "--eval-styles", help="paintings for the style evaluation (default: the run's)"
    )
    parser.add_argument(
        "--calibrate-dir",
        help="detect: photos (not the evaluation set) to choose the detection threshold on",
    )
    parser.add_argument(
        "--calibrate-limit",
        type=positive_int,
        default=40,
        help="photos taken evenly from that folder",
    )
    parser.add_argument(
        "--average",
        type=positive_int,
        nargs="+",
        metavar="STEP",
        help="export the mean of the run's snapshots at these steps (trained with "
        "--snapshot-every) instead of its last checkpoint",
    )
    args = parser.parse_args(argv)
    require_torch()
    from pathlib import Path

    from colorstudio import paths
    from colorstudio.ml.train.export import export_run

    models = Path(args.models) if args.models else paths.models_dir()
    eval_dir = Path(args.eval_dir) if args.eval_dir else None
    styles = Path(args.eval_styles) if args.eval_styles else None
    calibrate = []
    if args.calibrate_dir:
        from colorstudio.ml.train.data import list_images

        found = list_images([Path(args.calibrate_dir)])
        calibrate = found[:: max(1, len(found) // args.calibrate_limit)][: args.calibrate_limit]
    try:
        entry, metrics = export_run(
            Path(args.run), args.name, models, eval_dir, args.eval_limit, styles, calibrate,
            args.average or (),
        )  # fmt: skip
    except FileNotFoundError as error:
        print(f"colorstudio train export: {error}", file=sys.stderr)
        return 2
    print(f"exported {entry.file} ({entry.sha256[:12]}…) to {models}")
    if metrics:
        print(metrics)
    return 0


def _onnx(argv: Sequence[str]) -> int:
    parser = Parser(
        prog="colorstudio train onnx",
        description="Write the models' ONNX graphs (for ONNX Runtime) and their SHA-256s into "
        "the manifest; train export does this for each model it exports.",
    )
    parser.add_argument("--models", default=None, help="model folder (default: the shipped one)")
    parser.add_argument("--name", help="only this model (default: every one that has a graph)")
    parser.add_argument(
        "--photos",
        help="photos that calibrate int8 graphs for the CPU: the inpainter's, and with "
        "--paintings the stylizer's (without them every model ships float graphs only)",
    )
    parser.add_argument("--paintings", help="paintings for the stylizer's calibration")
    args = parser.parse_args(argv)
    if args.paintings and not args.photos:
        parser.error("--paintings needs --photos (the stylizer is calibrated on both)")
    if args.photos and not args.paintings and args.name is None:
        parser.error(
            "--photos alone calibrates the inpainter only: add --name inpainter, or "
            "--paintings for the stylizer as well"
        )
    require_torch()
    from pathlib import Path

    from colorstudio import paths
    from colorstudio.ml.jobs import EngineError
    from colorstudio.ml.train.onnx_export import INT8_RECIPES, add_onnx
    from colorstudio.ml.train.quantize import calibration_from

    models = Path(args.models) if args.models else paths.models_dir()
    try:
        paintings = [args.paintings] if args.paintings else []
        calibration = calibration_from([args.photos], paintings) if args.photos else None
        done = add_onnx(models, args.name, calibration)
    except (EngineError, OSError) as error:
        print(f"colorstudio train onnx: {error}", file=sys.stderr)
        return 2
    if not done:
        print(f"colorstudio train onnx: no model in {models} has an ONNX graph", file=sys.stderr)
        return 2
    for graphs in done:
        for part, file in (graphs.entry.onnx or {}).items():
            sha = (graphs.entry.onnx_sha256 or {}).get(part, "")
            print(f"wrote {file} ({sha[:12]}…) to {models}")
        if graphs.int8_psnr is not None:
            print(f"{graphs.entry.name}: int8 pictures {graphs.int8_psnr:.1f} dB from the float")
        elif graphs.entry.architecture in INT8_RECIPES:
            needs = (
                "--photos and --paintings make"
                if INT8_RECIPES[graphs.entry.architecture].needs_paintings
                else "--photos makes"
            )
            print(f"{graphs.entry.name}: float graphs only ({needs} its int8 graphs)")
    return 0


def _warm_started(model, init_from: str | None):
    """``model`` started from exported weights (``--init-from``) where given; the tensors the
    file lacks (a block added since) keep their initialisation."""
    if init_from:
        from pathlib import Path

        from colorstudio.ml.manifest import ModelError
        from colorstudio.ml.weights import warm_start

        if not Path(init_from).is_file():
            raise ModelError(f"--init-from {init_from}: no such file")
        added = warm_start(model, init_from)
        print(f"started from {init_from}; new: {len(added)} tensors")
    return model


@subcommand("train")
def _train(argv: Sequence[str]) -> int:
    if argv and argv[0] == "export":
        return _export(argv[1:])
    if argv and argv[0] == "onnx":
        return _onnx(argv[1:])
    parser = Parser(
        prog="colorstudio train",
        description="Train a generator (NoGAN schedule: pretrain G, pretrain D, short GAN phase). "
        "Runs unchanged under torchrun for several GPUs. Also: train export RUN (into the "
        "model folder), train onnx (the models' ONNX graphs).",
    )
    parser.add_argument("task", choices=["colorize", "style", "detect", "inpaint"])
    parser.add_argument("--data", nargs="+", required=True, help="folders of training photos")
    parser.add_argument("--style-data", nargs="*", default=[], help="folders of paintings (style)")
    parser.add_argument("--out", required=True, help="run folder (checkpoint, log.csv, samples/)")
    parser.add_argument("--resume", action="store_true", help="continue from the run's checkpoint")
    parser.add_argument("--init-from", help="start the generator from exported weights (.pt)")
    parser.add_argument("--size", type=positive_int, default=128, help="training crop size")
    parser.add_argument("--batch", type=positive_int, default=16, help="photos per step")
    parser.add_argument(
        "--steps-pretrain", type=non_negative_int, default=6000, help="generator-only steps"
    )
    parser.add_argument(
        "--steps-critic", type=non_negative_int, default=300, help="critic pretraining steps"
    )
    parser.add_argument(
        "--steps-distill",
        type=non_negative_int,
        default=0,
        help="style with --style-student or --style-slim: steps distilling the student encoder "
        "from VGG19 first",
    )
    parser.add_argument(
        "--style-student",
        type=non_negative_int,
        default=0,
        help="style: 0 = VGG19 encoder; B = a thin VGG of base width B distilled from it",
    )
    parser.add_argument(
        "--style-slim",
        type=non_negative_float,
        default=0.0,
        help="style: S > 0 = distil an encoder with VGG19's hidden widths x S for the decoder of "
        "--init-from (its features and the decoder's pictures; the decoder stays as it is)",
    )
    parser.add_argument(
        "--style-widths", type=int, nargs=3, help="style: decoder widths (default 256 128 64)"
    )
    parser.add_argument("--steps-gan", type=non_negative_int, default=1500, help="GAN steps")
    parser.add_argument("--lr", type=positive_float, default=3e-4, help="generator learning rate")
    parser.add_argument(
        "--lr-decay",
        choices=("none", "cosine"),
        default="none",
        help="cosine: every learning rate falls along a half cosine to 0 over the run's steps",
    )
    parser.add_argument(
        "--checkpoint-every", type=positive_int, default=250, help="save a checkpoint every N steps"
    )
    parser.add_argument(
        "--snapshot-every",
        type=non_negative_int,
        default=0,
        help="keep the generator's weights every N steps (for train export --average; 0: none)",
    )
    parser.add_argument(
        "--sample-every", type=positive_int, default=500, help="write samples every N steps"
    )
    parser.add_argument(
        "--max-minutes", type=positive_float, help="stop (after a checkpoint) past this"
    )
    parser.add_argument("--limit-images", type=positive_int, help="use only the first N images")
    parser.add_argument(
        "--short-side",
        type=positive_int,
        default=192,
        help="photos are decoded with this short side before cropping (default 192)",
    )
    parser.add_argument("--seed", type=non_negative_int, default=0, help="random seed")
    parser.add_argument("--device", type=device, default="auto", help=DEVICE_HELP)
    parser.add_argument(
        "--threads", type=thread_count, help=f"CPU threads for torch (1 to {MAX_THREADS})"
    )
    parser.add_argument(
        "--precision",
        choices=["auto", "fp32"],
        default="auto",
        help="auto (default): bf16 autocast on a GPU and on CPUs that multiply bf16 natively "
        "(AMX, AVX512-BF16), else float32; fp32: float32 everywhere",
    )
    parser.add_argument(
        "--workers",
        type=non_negative_int,
        default=0,
        help="processes that make batches while the network trains (0: between steps, "
        "reproducible to the batch; on a GPU give most of the CPU cores)",
    )
    parser.add_argument(
        "--style-level",
        type=int,
        choices=[3, 4],
        default=4,
        help="style: AdaIN on VGG relu4_1 (4, the paper's) or relu3_1 (3: keeps more structure, "
        "trains about twice as fast)",
    )
    parser.add_argument(
        "--lambda-style",
        type=non_negative_float,
        default=1.0,
        help="style: weight of the style loss against the content loss (lower keeps more of "
        "the photo's structure); with --style-slim, of the style loss of the student's "
        "pictures in its distillation (0: imitation of VGG19 alone)",
    )
    parser.add_argument(
        "--detector-context",
        type=positive_int,
        nargs="*",
        default=[2, 4, 8],
        help="detect: dilation rates of the context block at 1/8 scale (none: no block)",
    )
    parser.add_argument(
        "--focal-gamma",
        type=non_negative_float,
        default=0.0,
        help="detect: weight each pixel's loss by (1 - its confidence in the truth) to this "
        "power, so the confusing pixels (picture edges that are not damage, the insides of "
        "large losses) count most; 0 (default): every pixel alike; 2: the focal loss's usual",
    )
    parser.add_argument(
        "--detector-zoom",
        type=positive_float,
        default=1.0,
        help="detect: magnify training crops up to this factor (2-3: a scanned print shows eyes, "
        "lace and rails larger than the photos' 320 px do); 1 (default): never magnified",
    )
    parser.add_argument(
        "--stroke-share",
        type=fraction,
        default=0.0,
        help="colorize: the share of the hinted training crops given strokes on objects (colour "
        "regions) instead of points, about half of them in a new colour with the target "
        "recoloured to match, so the network learns how far a stroke reaches (with "
        "--lambda-correction half of each batch has no hints at all); 0 (default): points only",
    )
    parser.add_argument(
        "--inpaint-holes",
        choices=["mixed", "damage", "strokes"],
        default="mixed",
        help="inpaint: train on synthetic damage and brush strokes (mixed), on damage only "
        "(what detection hands over), or on brush strokes only",
    )
    parser.add_argument(
        "--inpaint-fine",
        action="store_true",
        help="inpaint: add the full-resolution branch (thin damage); with --init-from it starts "
        "from a model trained without it",
    )
    parser.add_argument(
        "--no-hint-spread",
        action="store_true",
        help="colorize: leave out the hints' normalised-convolution spread as a decoder input "
        "(the architecture of models shipped before session 6)",
    )
    parser.add_argument(
        "--lambda-correction",
        type=non_negative_float,
        default=0.0,
        help="colorize: half of each batch is predicted without hints and also scored after the "
        "engine's likeness corrections from simulated hints, at this weight (0: off)",
    )
    parser.add_argument(
        "--spread-only",
        action="store_true",
        help="colorize: with --init-from, train only the hint-spread inputs; the rest stays "
        "frozen, so the hint-free colourization stays exactly the file's",
    )
    args = parser.parse_args(argv)
    require_torch()
    from colorstudio.ml.train.trainer import TrainConfig, Trainer

    if (args.style_student or args.style_slim) and not args.steps_distill:
        parser.error("a student encoder needs --steps-distill N: an undistilled one is random")
    if args.style_slim and (args.style_student or not args.init_from or args.style_slim >= 1):
        parser.error(
            "--style-slim S (0 < S < 1) distils an encoder for the decoder of --init-from, "
            "without --style-student"
        )
    if args.spread_only and (args.no_hint_spread or args.task != "colorize"):
        parser.error("--spread-only needs the colorize task with its hint-spread inputs")

    config = TrainConfig(
        task=args.task,
        data=tuple(args.data),
        style_data=tuple(args.style_data),
        out=args.out,
        size=args.size,
        batch=args.batch,
        lr_g=args.lr,
        steps_distill=args.steps_distill if args.style_student or args.style_slim else 0,
        steps_pretrain=args.steps_pretrain,
        steps_critic=0 if args.task == "detect" else args.steps_critic,
        steps_gan=0 if args.task == "detect" else args.steps_gan,
        checkpoint_every=args.checkpoint_every,
        snapshot_every=args.snapshot_every,
        sample_every=args.sample_every,
        max_minutes=args.max_minutes,
        precision=args.precision,
        seed=args.seed,
        device=args.device,
        threads=args.threads,
        workers=args.workers,
        limit_images=args.limit_images,
        short_side=args.short_side,
        style_level=args.style_level,
        style_student=args.style_student,
        style_slim=args.style_slim,
        lr_decay=args.lr_decay,
        **({"style_widths": tuple(args.style_widths)} if args.style_widths else {}),
        lambda_style=args.lambda_style,
        detector_context=tuple(args.detector_context) if args.task == "detect" else (),
        focal_gamma=args.focal_gamma if args.task == "detect" else 0.0,
        detector_zoom=args.detector_zoom if args.task == "detect" else 1.0,
        inpaint_holes=args.inpaint_holes,
        inpaint_fine=args.inpaint_fine and args.task == "inpaint",
        hint_spread=not args.no_hint_spread,
        spread_only=args.spread_only,
        lambda_correction=args.lambda_correction if args.task == "colorize" else 0.0,
        stroke_share=args.stroke_share if args.task == "colorize" else 0.0,
    )
    if args.detector_zoom < 1:
        parser.error(f"--detector-zoom must be at least 1 (got {args.detector_zoom})")
    if args.task == "style" and not args.style_data:
        parser.error("style training needs --style-data (folders of paintings)")
    if args.task == "style" and args.init_from and args.steps_distill and not args.style_slim:
        parser.error(
            "--init-from fine-tunes a trained stylizer: it is not distilled again "
            "(--style-slim distils a new encoder for its decoder)"
        )
    from colorstudio.ml.manifest import ModelError
    from colorstudio.ml.train.data import list_images

    if Path(args.out).exists() and not Path(args.out).is_dir():
        parser.error(f"--out {args.out} is a file: name a folder for the run")
    try:  # before anything is written: the data are there
        for folders in (args.data, args.style_data):
            if folders:
                list_images(folders)
    except FileNotFoundError as error:
        parser.error(f"{error} (--data, --style-data)")
    try:
        task = _task(args, config)
    except (ModelError, OSError) as error:  # --init-from: a missing or misfitting file
        print(f"colorstudio train: {error}", file=sys.stderr)
        return 2
    out = Trainer(config, task).run(resume=args.resume)
    if os.environ.get("RANK", "0") == "0":  # under torchrun only the first process reports
        print(f"run saved in {out}")
    return 0


def _task(args, config):
    """The training task of ``args.task``, its generator warm-started from ``--init-from``."""
    if args.task == "colorize":
        from colorstudio.ml.networks.colorizer import HintColorizer
        from colorstudio.ml.train.colorize_task import ColorizeTask

        generator = None
        if args.init_from:  # a file without the hint-spread inputs: they start at zero
            generator = _warm_started(
                HintColorizer(pretrained=False, hint_spread=config.hint_spread), args.init_from
            ).train(True)
        return ColorizeTask(config, generator)
    if args.task == "detect":
        from colorstudio.ml.networks.restore import DamageDetector
        from colorstudio.ml.train.restore_tasks import DetectTask

        return DetectTask(
            config, _warm_started(DamageDetector(context=config.detector_context), args.init_from)
        )
    if args.task == "inpaint":
        from colorstudio.ml.networks.restore import GatedInpainter
        from colorstudio.ml.train.restore_tasks import InpaintTask

        return InpaintTask(
            config, _warm_started(GatedInpainter(fine=config.inpaint_fine), args.init_from)
        )
    from colorstudio.ml.networks.stylizer import AdaINStylizer, SlimVGG
    from colorstudio.ml.train.style_task import StyleTask

    stylizer = None
    if args.init_from:  # fine-tune an exported decoder (its level and widths)
        stylizer = AdaINStylizer(
            config.style_widths,
            pretrained=True,
            level=config.style_level,
            student=config.style_student,
            slim=config.style_slim,
        )
        if config.style_slim:  # starts as VGG19 pruned, unless the file holds a slim encoder
            from colorstudio.ml.networks.encoders import VGG19Features

            slim = cast(SlimVGG, stylizer.encoder)
            slim.prune_from(VGG19Features(slim.taps[-1], taps=slim.taps))
        stylizer = _warm_started(stylizer, args.init_from)
    return StyleTask(config, stylizer)
