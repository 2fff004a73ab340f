"""Int8 graphs for the CPU: static quantization of an exported float graph.

ONNX Runtime runs an int8 convolution with integer dot products (VNNI on current x86 CPUs,
pairwise 8-bit multiplies on AVX2 ones). The graph is written in the QDQ format: every
convolution's weights are int8 per output channel, and its input is quantized to uint8 with a
scale calibrated on real inputs; the operations between stay float.

The calibration (measured on the stylizer, docs/style.md): a percentile of each activation's
histogram (99.999 %) rather than its min/max, because a few outlying AdaIN activations
otherwise set a coarse step for all (float vs int8 pictures: 39.8 vs 35.3 dB PSNR); weights
in 7 bits (``reduce_range``), because 8-bit weights can saturate the 16-bit pairwise sums of
AVX2 CPUs without VNNI (and the result was as close: 38.9 dB, its worst image 37.1 vs 35.6).
The int8 graph is checked against the float one on photos the calibration did not see; an
export whose pictures differ by more than ``MIN_PSNR`` is refused.

Recipes: the stylizer (:func:`stylizer_int8`, photos and paintings) and the inpainter
(:func:`inpainter_int8`, photos with synthetic damage holes).
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from colorstudio.ml.manifest import ModelError

#: the activation histogram percentile kept by the calibration
PERCENTILE = 99.999
#: calibration crops (px): every feed of a calibration has one shape (the histograms stack them)
CROP = 192
#: photos and paintings the stylizer's calibration encodes; photos it checks the result on
CALIBRATION_PHOTOS, CALIBRATION_PAINTINGS, CHECK_PHOTOS = 16, 8, 8
#: the least PSNR (dB) of an int8 picture against the float graph's that an export accepts
MIN_PSNR = 32.0

Feeds = list[dict[str, np.ndarray]]


@dataclass(frozen=True)
class Calibration:
    """Images that calibrate int8 graphs: photos (content) and paintings (styles)."""

    photos: tuple[Path, ...]
    paintings: tuple[Path, ...] = ()


def calibration_from(photos: Sequence[str | Path], paintings: Sequence[str | Path]) -> Calibration:
    """A :class:`Calibration` of images taken evenly from folders of photos and of paintings
    (FileNotFoundError when a folder is missing or holds no image)."""
    from colorstudio.ml.train.data import list_images

    def evenly(files: list[Path], count: int) -> tuple[Path, ...]:
        count = min(count, len(files))
        return tuple(files[i * len(files) // count] for i in range(count))

    wanted = CALIBRATION_PHOTOS + CHECK_PHOTOS
    return Calibration(
        evenly(list_images(photos), wanted),
        evenly(list_images(paintings), CALIBRATION_PAINTINGS) if paintings else (),
    )


def _session(data: bytes):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])


def quantize_graph(data: bytes, feeds: Feeds) -> bytes:
    """The int8 (QDQ) form of the float graph ``data``, calibrated on ``feeds`` (one
    input-name → float32 array dict per calibration sample, all of one shape)."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._feeds = iter(feeds)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._feeds, None)

    # ONNX Runtime's calibration prints its progress: not for the exporting user's terminal
    with tempfile.TemporaryDirectory() as folder, contextlib.redirect_stdout(io.StringIO()):
        source, prepared, out = (Path(folder) / n for n in ("f.onnx", "p.onnx", "q.onnx"))
        source.write_bytes(data)
        # folds the fp16 weights' casts and infers shapes (dynamic sizes: no symbolic pass)
        quant_pre_process(source, prepared, skip_symbolic_shape=True)
        quantize_static(
            prepared,
            out,
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            reduce_range=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.Percentile,
            extra_options={"CalibPercentile": PERCENTILE},
        )
        return _used_opsets_only(out.read_bytes())


def _used_opsets_only(data: bytes) -> bytes:
    """The graph without the opset imports no node uses: ONNX Runtime's optimizer (in
    ``quant_pre_process``) stamps every domain it knows at its own versions, which an older
    ONNX Runtime refuses to open."""
    import onnx

    model = onnx.load_from_string(data)
    used = {node.domain for node in model.graph.node} | {""}
    kept = [o for o in model.opset_import if o.domain in used]
    del model.opset_import[:]
    model.opset_import.extend(kept)
    return model.SerializeToString()


def _crops(files: Sequence[Path], count: int) -> list[np.ndarray]:
    """Up to ``count`` (1, 3, CROP, CROP) float32 0..1 centre crops of the images that decode
    (files that do not are skipped)."""
    out: list[np.ndarray] = []
    for file in files:
        if len(out) == count:
            break
        try:
            with Image.open(file) as im:
                im.draft("RGB", (CROP * 2, CROP * 2))
                rgb = im.convert("RGB")
        except (OSError, ValueError, Image.DecompressionBombError):
            continue
        scale = CROP / min(rgb.size)
        size = (max(CROP, round(rgb.width * scale)), max(CROP, round(rgb.height * scale)))
        rgb = rgb.resize(size, Image.Resampling.LANCZOS)
        left, top = (size[0] - CROP) // 2, (size[1] - CROP) // 2
        array = np.asarray(rgb.crop((left, top, left + CROP, top + CROP)), np.float32) / 255
        out.append(np.ascontiguousarray(np.moveaxis(array, -1, 0)[None]))
    return out


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    error = float(np.mean((np.clip(a, 0, 1) - np.clip(b, 0, 1)) ** 2))
    return 10 * np.log10(1 / max(error, 1e-12))


def _accepted(scores: list[float], refusal: str) -> float:
    """The mean of the int8 graph's PSNRs (dB) against the float graph; ModelError (``refusal``
    with the worst figure in its ``{}``) when one is under ``MIN_PSNR``."""
    if min(scores) < MIN_PSNR:
        worst = f"{min(scores):.1f} dB PSNR"
        raise ModelError(f"{refusal.format(worst)} (at least {MIN_PSNR:.0f} dB is accepted)")
    return float(np.mean(scores))


def stylizer_int8(
    graphs: dict[str, bytes], calibration: Calibration
) -> tuple[dict[str, bytes], float]:
    """The stylizer's int8 graphs (part → bytes) from its float ``graphs`` (``"encoder"``,
    ``"decoder"``), and their PSNR (dB) against the float graphs: the mean over held-out
    photos, each stylized with a calibration painting at full strength. The encoder is
    calibrated on photos and paintings; the decoder on the photos' features and on the same
    features re-normalised to each painting (AdaIN), which is what it decodes in use.
    ModelError when too few images decode or an int8 picture is further than ``MIN_PSNR``."""
    from colorstudio.ml.stylize import adain, mean_std

    encoder, decoder = graphs["encoder"], graphs["decoder"]
    photos = _crops(calibration.photos, CALIBRATION_PHOTOS + CHECK_PHOTOS)
    paintings = _crops(calibration.paintings, CALIBRATION_PAINTINGS)
    if len(photos) < CHECK_PHOTOS + 2 or not paintings:
        raise ModelError(
            f"int8 calibration needs at least {CHECK_PHOTOS + 2} photos and one painting "
            f"that decode (found {len(photos)} and {len(paintings)})"
        )
    check, photos = photos[:CHECK_PHOTOS], photos[CHECK_PHOTOS:]

    def encode(graph) -> Callable[[np.ndarray], np.ndarray]:
        return lambda image: graph.run(None, {"image": image})[0]

    float_encode = encode(_session(encoder))
    styles = [mean_std(float_encode(p)) for p in paintings]
    features = [float_encode(p) for p in photos]
    restyled = [adain(f, styles[i % len(styles)], mean_std(f), 1.0) for i, f in enumerate(features)]
    encoder_q = quantize_graph(encoder, [{"image": x} for x in photos + paintings])
    decoder_q = quantize_graph(decoder, [{"features": f} for f in features + restyled])

    def picture(enc, dec, photo: np.ndarray, style: tuple) -> np.ndarray:
        f = encode(enc)(photo)
        return dec.run(None, {"features": adain(f, style, mean_std(f), 1.0)})[0]

    fe, fd, qe, qd = map(_session, (encoder, decoder, encoder_q, decoder_q))
    scores = []
    for i, photo in enumerate(check):
        style_f = styles[i % len(styles)]
        style_q = mean_std(encode(qe)(paintings[i % len(paintings)]))
        scores.append(_psnr(picture(fe, fd, photo, style_f), picture(qe, qd, photo, style_q)))
    score = _accepted(
        scores, "the int8 stylizer differs from the float one by {} on a held-out photo"
    )
    return {"encoder": encoder_q, "decoder": decoder_q}, score


def inpainter_int8(
    graphs: dict[str, bytes], calibration: Calibration
) -> tuple[dict[str, bytes], float]:
    """The inpainter's int8 graph (``{"main": bytes}``) from its float one, and its PSNR (dB)
    against the float graph inside the holes (the only pixels a fill changes), the mean over
    held-out photos. Calibrated on photos with holes of synthetic damage and brush strokes,
    given as the restore pipeline gives them (the pull–push prefill and the mask); seeded, so
    an export is repeatable. ModelError as :func:`stylizer_int8`."""
    from colorstudio.ml.pullpush import pull_push
    from colorstudio.ml.train.restore_tasks import hole_mask

    photos = _crops(calibration.photos, CALIBRATION_PHOTOS + CHECK_PHOTOS)
    if len(photos) < CHECK_PHOTOS + 2:
        raise ModelError(
            f"int8 calibration needs at least {CHECK_PHOTOS + 2} photos that decode "
            f"(found {len(photos)})"
        )
    rng = np.random.default_rng(0)
    feeds = []
    for photo in photos:
        mask = hole_mask((CROP, CROP), rng).astype(np.float32)[None, None]
        feeds.append({"prefill": pull_push(photo, mask), "mask": mask})
    check, feeds = feeds[:CHECK_PHOTOS], feeds[CHECK_PHOTOS:]
    quantized = quantize_graph(graphs["main"], feeds)
    plain, fast = _session(graphs["main"]), _session(quantized)
    scores = []
    for feed in check:
        hole = feed["mask"][0, 0] > 0
        a, b = (s.run(None, feed)[0][0][:, hole] for s in (plain, fast))
        scores.append(_psnr(a, b))
    where = "the int8 inpainter differs from the float one by {} in the holes of a held-out photo"
    return {"main": quantized}, _accepted(scores, where)


@dataclass(frozen=True)
class Recipe:
    """How one architecture's int8 graphs are made, and whether that needs paintings."""

    make: Callable[[dict[str, bytes], Calibration], tuple[dict[str, bytes], float]]
    needs_paintings: bool = False

    def can_use(self, calibration: Calibration) -> bool:
        return bool(calibration.paintings) or not self.needs_paintings


#: architecture → its int8 recipe
RECIPES = {
    "stylizer_adain": Recipe(stylizer_int8, needs_paintings=True),
    "inpainter_gated": Recipe(inpainter_int8),
}
