"""A bounded fuzzer for everything the editor opens: ``python -m tests.fuzzing SEED SECONDS``.

Mutates valid PNG, JPEG, TIFF, WebP and BMP files and valid .ora projects (raw bytes, zip
members, stack.xml, project.json, the layer PNGs) and opens each with
:func:`colorstudio.core.io.opening.open_file` — in this process, under an address-space limit
and a per-case alarm. Prints one JSON line: cases run, outcomes, failures (any exception other
than the project's FileFormatError with a one-line message, a case over its time limit, or a
MemoryError) and the peak memory. Run by tests/core/test_fuzz.py in a subprocess.
"""

from __future__ import annotations

import io
import json
import os
import random
import resource
import signal
import sys
import tempfile
import time
import traceback
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from colorstudio.core.document import Document
from colorstudio.core.io.errors import FileFormatError
from colorstudio.core.io.opening import open_file
from colorstudio.core.io.ora import save_ora
from colorstudio.core.layer import Layer, LayerKind, Reference, ReferenceRole

CASE_SECONDS = 5
ADDRESS_SPACE = 3 << 30  #: the worker's whole address space; a decompression bomb hits it


class CaseTimeout(Exception):
    pass


def seed_images(rng: np.random.Generator) -> dict[str, bytes]:
    rgb = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    out = {}
    for name, mode, fmt, options in [
        ("rgb.png", "RGB", "PNG", {}),
        ("rgba.png", "RGBA", "PNG", {}),
        ("grey.png", "L", "PNG", {}),
        ("palette.png", "P", "PNG", {}),
        ("photo.jpg", "RGB", "JPEG", {"quality": 80}),
        ("cmyk.jpg", "CMYK", "JPEG", {}),
        ("photo.tif", "RGB", "TIFF", {"compression": "tiff_lzw"}),
        ("photo.webp", "RGB", "WEBP", {"quality": 80}),
        ("photo.bmp", "RGB", "BMP", {}),
    ]:
        image = Image.fromarray(rgb).convert(mode)
        buffer = io.BytesIO()
        image.save(buffer, fmt, **options)
        out[name] = buffer.getvalue()
    deep = Image.fromarray(rng.integers(0, 65535, (12, 16), dtype=np.uint16))
    buffer = io.BytesIO()
    deep.save(buffer, "TIFF")
    out["deep.tif"] = buffer.getvalue()
    return out


def seed_project(rng: np.random.Generator, folder: Path) -> bytes:
    doc = Document(20, 14)
    doc.layers.append(Layer("Background", rng.integers(0, 256, (14, 20, 4), dtype=np.uint8)))
    doc.layers.append(Layer("Ink", rng.integers(0, 256, (14, 20, 4), dtype=np.uint8), opacity=0.5))
    doc.hint.pixels[2:5, 2:5] = [0, 0, 255, 255]
    doc.masks.append(Layer("Sky", rng.integers(0, 256, (14, 20), np.uint8), kind=LayerKind.MASK))
    mask = rng.integers(0, 256, (5, 6), np.uint8)
    image = rng.integers(0, 256, (5, 6, 3), np.uint8)
    doc.references.append(Reference("Monet", image, ReferenceRole.STYLE, 0.5, mask))
    doc.editor_state = {"active_layer": doc.layers[1].id, "zoom": 2.0}
    path = folder / "seed.ora"
    save_ora(doc, path)
    return path.read_bytes()


# ---------------------------------------------------------------- mutations
def mutate_bytes(data: bytes, rnd: random.Random) -> bytes:
    data = bytearray(data)
    kind = rnd.choice(["flip", "flips", "truncate", "insert", "repeat", "number"])
    if kind == "flip" and data:
        data[rnd.randrange(len(data))] ^= 1 << rnd.randrange(8)
    elif kind == "flips":
        for _ in range(rnd.randint(2, 30)):
            data[rnd.randrange(len(data))] = rnd.randrange(256)
    elif kind == "truncate":
        del data[rnd.randrange(len(data)) :]
    elif kind == "insert":
        at = rnd.randrange(len(data) + 1)
        data[at:at] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 64)))
    elif kind == "repeat":
        start = rnd.randrange(len(data))
        piece = data[start : start + rnd.randint(1, 256)]
        at = rnd.randrange(len(data) + 1)
        data[at:at] = piece * rnd.randint(1, 20)
    else:  # a header number (size, length, offset) set to an extreme
        at = rnd.randrange(min(len(data), 64))
        data[at : at + 4] = rnd.choice(
            [b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff"]
        )
    return bytes(data)


XML_EDITS = [
    (b'w="20"', [b'w="0"', b'w="-5"', b'w="99999999"', b'w="abc"', b'w="1e9"', b""]),
    (b'h="14"', [b'h="0"', b'h="40000"', b'h=""']),
    (b'opacity="', [b'opacity="nan', b'opacity="-1e308', b'opacity="1e999']),
    (b'x="0"', [b'x="-2147483649"', b'x="1e300"', b'x="nan"']),
    (b"src-over", [b"unknown-op", b"src-over\x00"]),
    (b'src="data/', [b'src="../../', b'src="/etc/', b'src="C:\\\\', b'src="data/missing-']),
    (b"<stack>", [b"<stack>" * 200, b"<stack><stack>", b""]),
    (b"</stack>", [b"</stack>" * 2, b"", b"<layer/></stack>"]),
    (b"<image", [b"<!DOCTYPE x [<!ENTITY a 'b'>]><image", b"<imagex"]),
]

JSON_VALUES = [None, True, -1, 0, 1e308, -1e308, 2**70, "", "x" * 5000, [], {}, [[[]]], "../x"]


def mutate_json(data: bytes, rnd: random.Random) -> bytes:
    try:
        project = json.loads(data)
    except ValueError:
        return mutate_bytes(data, rnd)
    nodes = [project]
    containers = []
    while nodes:  # every object/list in the document, to pick one to change
        node = nodes.pop()
        containers.append(node)
        children = (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
        )
        nodes.extend(c for c in children if isinstance(c, dict | list))
    target = rnd.choice(containers)
    if isinstance(target, dict) and target:
        key = rnd.choice(list(target))
        action = rnd.choice(["value", "delete", "nest"])
        if action == "value":
            target[key] = rnd.choice(JSON_VALUES)
        elif action == "delete":
            del target[key]
        else:
            text = json.dumps(project)
            return ("[" * 5000 + text + "]" * 5000).encode()
    elif isinstance(target, list):
        target.append(rnd.choice(JSON_VALUES))
        if target and rnd.random() < 0.5:
            target.extend([target[0]] * rnd.randint(1, 50))
    return json.dumps(project).encode()


def mutate_project(data: bytes, rnd: random.Random) -> bytes:
    kind = rnd.choice(["bytes", "xml", "json", "member", "member", "drop", "duplicate"])
    if kind == "bytes":
        return mutate_bytes(data, rnd)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = {info.filename: zf.read(info) for info in zf.infolist()}
    names = list(members)
    if kind == "xml":
        xml = members["stack.xml"]
        old, news = rnd.choice(XML_EDITS)
        members["stack.xml"] = xml.replace(old, rnd.choice(news), rnd.choice([1, -1]))
    elif kind == "json":
        members["colorstudio/project.json"] = mutate_json(members["colorstudio/project.json"], rnd)
    elif kind == "member":
        name = rnd.choice([n for n in names if n.endswith(".png")])
        members[name] = mutate_bytes(members[name], rnd)
    elif kind == "drop":
        del members[rnd.choice(names)]
    else:
        name = rnd.choice(names)
        members[name + rnd.choice(["", "/", "/../x"])] = members[name]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return buffer.getvalue()


# ---------------------------------------------------------------- running
def _alarm(signum, frame):
    raise CaseTimeout()


def run(seed: int, seconds: float) -> dict:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)  # libtiff and libpng complain on stderr
    signal.signal(signal.SIGALRM, _alarm)
    rng = np.random.default_rng(seed)
    rnd = random.Random(seed)
    outcomes = {"opened": 0, "refused": 0}
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        seeds = {**seed_images(rng), "seed.ora": seed_project(rng, folder)}
        deadline = time.monotonic() + seconds
        case = 0
        while time.monotonic() < deadline:
            name = rnd.choice(sorted(seeds))
            mutate = mutate_project if name.endswith(".ora") else mutate_bytes
            data = mutate(seeds[name], rnd)
            path = folder / f"case{rnd.choice(['.png', '.jpg', '.ora', ''])}"
            path.write_bytes(data)
            started = time.monotonic()
            signal.setitimer(signal.ITIMER_REAL, CASE_SECONDS)
            try:
                open_file(path)
                outcomes["opened"] += 1
            except FileFormatError as err:
                outcomes["refused"] += 1
                if "\n" in str(err) or not str(err):
                    failures.append({"case": case, "seed": name, "error": f"not one line: {err!r}"})
            except CaseTimeout:
                failures.append({"case": case, "seed": name, "error": f"over {CASE_SECONDS} s"})
            except BaseException as err:  # what the fuzzer looks for
                where = traceback.extract_tb(err.__traceback__)[-1]
                failures.append(
                    {
                        "case": case,
                        "seed": name,
                        "error": repr(err)[:300],
                        "at": f"{Path(where.filename).name}:{where.lineno}",
                    }
                )
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            if time.monotonic() - started > CASE_SECONDS:
                failures.append({"case": case, "seed": name, "error": "slow case"})
            if failures and len(failures) <= 3 and failures[-1]["case"] == case:
                (Path(tmp).parent / f"fuzz-failure-{seed}-{case}{path.suffix}").write_bytes(data)
            case += 1
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"cases": case, **outcomes, "failures": failures, "peak_mb": round(peak_mb)}


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]), float(sys.argv[2]))))
