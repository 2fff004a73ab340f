"""Reading OpenRaster projects, in three steps that each bound what a hostile file can cost.

1. **Structure** (:func:`read_plan`): stack.xml and colorstudio/project.json are parsed into a
   :class:`ProjectPlan` — every value type- and range-checked (:mod:`fields`), layer groups
   flattened iteratively to a bounded depth, member names confined to the archive. No pixels.
2. **Budget** (:func:`check_budget`): each image member's size is read from its PNG header,
   never from decoding it. A layer image may hang off the canvas (Krita and MyPaint keep
   off-canvas pixels; they are cut off on loading), but one over ``ENLARGEMENT`` times the
   canvas's area (and over ``ENLARGEMENT_FLOOR`` pixels) is refused as a likely bomb; the memory
   the whole document would take is held to a share of this machine's memory, so a project that
   could be edited here opens here, and one that could not is refused before anything is
   allocated.
3. **Pixels**: each member is read with a byte limit derived from its header, then decoded.

:func:`verify_ora` runs steps 1 and 2 plus the archive's CRCs: every save checks the file it
wrote this way before it replaces the previous one. Every failure is one ProjectFileError.
"""

from __future__ import annotations

import json
import math
import os
import posixpath
import stat
import struct
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.parsers import expat

from colorstudio.core.io.errors import ProjectFileError
from colorstudio.core.io.fields import Fields, from_exact_json
from colorstudio.core.io.images import DEFAULT_MAX_PIXELS, check_dimensions

MIMETYPE = b"image/openraster"
NS = "https://colorstudio.app/ns/ora/1"
ET.register_namespace("colorstudio", NS)
PROJECT_JSON = "colorstudio/project.json"
FORMAT_VERSION = 1
OPS = ("svg:src-over", "svg:multiply", "svg:screen", "svg:overlay", "svg:color", "svg:luminosity")

MAX_MEMBERS = 10_000
MAX_MEMBER_BYTES = 1 << 30  #: 1 GiB uncompressed for any one member
MAX_TOTAL_BYTES = 4 << 30  #: 4 GiB uncompressed for the whole archive
MAX_XML_BYTES = 4 << 20  #: stack.xml, project.json: 4,096 layers take about 1 MB
MAX_GROUP_DEPTH = 64  #: layer groups nested deeper than this are refused
MAX_NODES = 4096  #: layers, masks or references in one project
ENLARGEMENT = 4  #: a canvas image may have at most this many times the canvas's pixels…
ENLARGEMENT_FLOOR = 16_000_000  #: …unless it is this small (small canvases, pasted photos)
#: all layer images together may hold 4x the canvas per layer plus this many pixels: a collage
#: of forty 12 MP photos on a small canvas, not thousands of layers naming one large image
DECODE_FLOOR = 512_000_000
MEMORY_SHARE = 0.5  #: a project may take at most this share of the machine's memory
FALLBACK_MEMORY = 8 << 30  #: the memory assumed where the system does not say
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  #: PNG colour type -> channels


@dataclass(frozen=True)
class ImageMember:
    """A PNG inside the archive and where it goes; ``canvas``: placed on the canvas (layer,
    hint, mask), else a reference kept at its own size."""

    src: str
    what: str
    x: int = 0
    y: int = 0
    canvas: bool = True
    bytes_per_pixel: int = 4  #: in the document once loaded (masks 1, references 3 + mask)


@dataclass
class NodePlan:
    """A layer, mask, hint or reference as the file describes it (no pixels yet)."""

    image: ImageMember
    name: str
    id: str | None
    opacity: float = 1.0
    visible: bool = True  #: a reference's "enabled"
    blend_op: str = "svg:src-over"
    role: str = "palette"  #: a reference's role, or a mask's
    strength: float = 1.0
    mask: ImageMember | None = None


@dataclass
class ProjectPlan:
    width: int
    height: int
    layers: list[NodePlan]  #: bottom first
    hint: NodePlan | None = None
    masks: list[NodePlan] = field(default_factory=list)
    references: list[NodePlan] = field(default_factory=list)
    editor_state: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def images(self) -> list[ImageMember]:
        nodes = [*self.layers, *([self.hint] if self.hint else []), *self.masks, *self.references]
        return [m for node in nodes for m in (node.image, node.mask) if m is not None]


# ====================================================================== the archive
class Archive:
    """Bounded, name-checked access to the members of a zip."""

    def __init__(self, zf: zipfile.ZipFile, name: str) -> None:
        self.zf = zf
        self.name = name
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise ProjectFileError(f"{name} holds {len(infos):,} files, too many for a project")
        total = 0
        self.members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            check_member_name(info.filename, name)
            if info.file_size > MAX_MEMBER_BYTES:
                raise ProjectFileError(
                    f"{name}: member {info.filename!r} would unpack to "
                    f"{info.file_size / 2**30:.1f} GiB — refusing (zip bomb?)"
                )
            total += info.file_size
            self.members[info.filename] = info
        if total > MAX_TOTAL_BYTES:
            raise ProjectFileError(
                f"{name} would unpack to {total / 2**30:.1f} GiB — refusing (zip bomb?)"
            )
        self._read_total = 0

    def has(self, member: str) -> bool:
        return member in self.members

    def read(self, member: str, limit: int = MAX_MEMBER_BYTES) -> bytes:
        """At most ``limit`` bytes of ``member``, streamed: a member that unpacks to more is
        refused after ``limit + 1`` bytes, whatever its header claims."""
        check_member_name(member, self.name)
        if member not in self.members:
            raise ProjectFileError(f"{self.name} is missing {member}")
        try:
            with self.zf.open(self.members[member]) as stream:
                data = stream.read(limit + 1)
        except Exception as err:  # zipfile.BadZipFile, zlib.error, OSError, EOFError…
            raise ProjectFileError(f"{self.name}: {member} is damaged ({err})") from None
        if len(data) > limit:
            raise ProjectFileError(f"{self.name}: {member} unpacks beyond its limit (zip bomb?)")
        self._read_total += len(data)
        if self._read_total > MAX_TOTAL_BYTES:
            raise ProjectFileError(f"{self.name} unpacks beyond {MAX_TOTAL_BYTES >> 30} GiB")
        return data

    def png_size(self, member: ImageMember) -> tuple[int, int, int]:
        """(width, height, most bytes its pixel data can unpack to) from the PNG header."""
        head = self.read_head(member.src, 33)
        if len(head) < 33 or head[:8] != _PNG_SIGNATURE or head[12:16] != b"IHDR":
            raise ProjectFileError(f"{self.name}: {member.what} ({member.src}) is not a PNG image")
        width, height, depth, color = struct.unpack(">IIBB", head[16:26])
        channels = _PNG_CHANNELS.get(color)
        if channels is None or width == 0 or height == 0 or depth not in (1, 2, 4, 8, 16):
            raise ProjectFileError(f"{self.name}: {member.what} ({member.src}) has a bad header")
        raw = height * (1 + (width * channels * depth + 7) // 8)
        return width, height, raw + raw // 64 + (1 << 20)  # deflate's worst case, with margin

    def read_head(self, member: str, size: int) -> bytes:
        if member not in self.members:
            raise ProjectFileError(f"{self.name} is missing {member}")
        try:
            with self.zf.open(self.members[member]) as stream:
                return stream.read(size)
        except Exception as err:
            raise ProjectFileError(f"{self.name}: {member} is damaged ({err})") from None


def check_member_name(member: str, name: str) -> None:
    normal = posixpath.normpath(member.replace("\\", "/"))
    if (
        member.startswith(("/", "\\"))
        or "\\" in member
        or (len(member) > 1 and member[1] == ":")
        or normal == ".."
        or normal.startswith("../")
        or "\x00" in member
    ):
        raise ProjectFileError(
            f"{name} contains a file named {member!r} that points outside the project "
            f"(path traversal) — the file is unsafe and was not opened"
        )


def open_archive(path: str | os.PathLike[str]) -> tuple[zipfile.ZipFile, str]:
    """Open ``path`` as a zip; one ProjectFileError for a missing, empty or non-zip file."""
    path = Path(path)
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):
            raise ProjectFileError(f"{path.name} is not a regular file")
        if status.st_size == 0:
            raise ProjectFileError(f"{path.name} is empty (0 bytes)")
        return zipfile.ZipFile(path), path.name
    except ProjectFileError:
        raise
    except FileNotFoundError:
        raise ProjectFileError(f"{path.name}: file not found") from None
    except (IsADirectoryError, PermissionError) as err:
        raise ProjectFileError(f"{path.name} cannot be read: {err.strerror or err}") from None
    except Exception:  # zipfile meets untrusted bytes: BadZipFile, NotImplementedError, …
        raise ProjectFileError(
            f"{path.name} is not an OpenRaster project (not a zip archive, or damaged)"
        ) from None


# ====================================================================== structure
def read_plan(archive: Archive, max_pixels: int = DEFAULT_MAX_PIXELS) -> ProjectPlan:
    """Step 1: what the project holds, every value checked; no image is read."""
    name = archive.name
    if archive.has("mimetype"):
        mimetype = archive.read("mimetype", 256).strip()
        if mimetype != MIMETYPE:
            raise ProjectFileError(
                f"{name} is a {mimetype.decode(errors='replace')!r} file, not OpenRaster"
            )
    if not archive.has("stack.xml"):
        raise ProjectFileError(
            f"{name} has no stack.xml: it is not an OpenRaster project or it is damaged"
        )
    root = _parse_stack(archive.read("stack.xml", MAX_XML_BYTES), name)
    try:
        width, height = int(root.get("w", "")), int(root.get("h", ""))
    except ValueError:
        raise ProjectFileError(f"{name}: stack.xml has no valid image size (w, h)") from None
    if width <= 0 or height <= 0:
        raise ProjectFileError(f"{name}: the image size {width} x {height} is invalid")
    check_dimensions(width, height, max_pixels, name)
    stack = root.find("stack")
    if stack is None:
        raise ProjectFileError(f"{name}: stack.xml has no <stack> element")
    plan = ProjectPlan(width, height, [])
    for element, opacity, visible in reversed(_flatten_stack(stack, name, plan.warnings)):
        plan.layers.append(_layer_plan(element, opacity, visible, name))
    if archive.has(PROJECT_JSON):
        _read_colorstudio_part(archive, plan)
    return plan


def _parse_stack(xml: bytes, name: str) -> ET.Element:
    """Parse stack.xml with document type declarations refused by the parser itself (in any
    encoding): projects never need entities, and they are how XML bombs work."""

    def refuse(*_args) -> None:
        raise ProjectFileError(
            f"{name}: stack.xml declares a document type or entities, which projects never "
            "need — refusing"
        )

    def clark(tag: str) -> str:  # "ns}local" -> "{ns}local", as ElementTree names it
        return "{" + tag if "}" in tag else tag

    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = lambda tag, attrs: builder.start(
        clark(tag), {clark(k): v for k, v in attrs.items()}
    )
    parser.EndElementHandler = lambda tag: builder.end(clark(tag))
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(xml, True)
        root = builder.close()
    except ProjectFileError:
        raise
    except (expat.ExpatError, RecursionError, ValueError, LookupError, AssertionError) as err:
        raise ProjectFileError(f"{name}: stack.xml is not valid XML ({err})") from None
    if root.tag != "image":
        raise ProjectFileError(f"{name}: stack.xml does not describe an image")
    return root


def _flatten_stack(stack: ET.Element, name: str, warnings: list[str]) -> list:
    """(layer element, opacity, visible) top-first; nested <stack> groups are flattened
    without recursion, at most MAX_GROUP_DEPTH deep and MAX_NODES layers."""
    out: list[tuple[ET.Element, float, bool]] = []
    pending = [(iter(stack), 1.0, True)]
    while pending:
        children, opacity, visible = pending[-1]
        child = next(children, None)
        if child is None:
            pending.pop()
        elif child.tag == "layer":
            if len(out) >= MAX_NODES:
                raise ProjectFileError(f"{name} has more than {MAX_NODES} layers")
            out.append((child, opacity, visible))
        elif child.tag == "stack":
            if len(pending) > MAX_GROUP_DEPTH:
                raise ProjectFileError(
                    f"{name}: layer groups are nested more than {MAX_GROUP_DEPTH} deep"
                )
            if "flattened layer groups" not in warnings:
                warnings.append("flattened layer groups")
            pending.append(
                (
                    iter(child),
                    opacity * _fraction(child.get("opacity")),
                    visible and child.get("visibility", "visible") != "hidden",
                )
            )
    return out


def _fraction(text: str | None) -> float:
    try:
        value = float(text) if text is not None else 1.0
    except ValueError:
        return 1.0
    return min(max(value, 0.0), 1.0) if math.isfinite(value) else 1.0


def _int(text: str | None) -> int:
    try:
        value = int(float(text)) if text is not None else 0
    except (ValueError, OverflowError):
        return 0
    return max(-(1 << 30), min(value, 1 << 30))


def _attribute_text(element: ET.Element, attribute: str, exact: str) -> str | None:
    """An attribute's text, or the exact string stored beside it when XML could not hold it."""
    value = from_exact_json(element.get(f"{{{NS}}}{exact}"))
    value = element.get(attribute) if value is None else value
    return value


def _layer_plan(element: ET.Element, opacity: float, visible: bool, name: str) -> NodePlan:
    label = _attribute_text(element, "name", "name-exact")
    label = "Layer" if label is None else label
    src = element.get("src")
    if not src:
        raise ProjectFileError(f"{name}: layer {label!r} names no image file")
    check_member_name(src, name)
    image = ImageMember(src, f"layer {label!r}", _int(element.get("x")), _int(element.get("y")))
    return NodePlan(
        image,
        label,
        _attribute_text(element, f"{{{NS}}}id", "id-exact"),
        opacity=_fraction(element.get("opacity")) * opacity,
        visible=element.get("visibility", "visible") != "hidden" and visible,
        blend_op=element.get("composite-op", "svg:src-over"),
    )


def _read_colorstudio_part(archive: Archive, plan: ProjectPlan) -> None:
    where = f"{archive.name}: project.json"
    try:
        project = json.loads(archive.read(PROJECT_JSON, MAX_XML_BYTES))
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise ProjectFileError(f"{where} is damaged ({str(err)[:200]})") from None
    data = Fields(project, where)
    if data.integer("format_version", 0, 0, 1 << 30) > FORMAT_VERSION:
        plan.warnings.append("saved by a newer ColorStudio: some settings may be ignored")
    hint = data.child("hint")
    if hint is not None and hint.optional_text("src"):
        plan.hint = _node(archive, hint, "the colour-hint layer", "Colour hints", True, 4)
    for entry in data.objects("masks", MAX_NODES):
        node = _node(archive, entry, "mask", "Mask", True, 1)
        # files before roles: the strength map was the mask named "Strength"
        old_default = "strength" if node.name == "Strength" else "selection"
        node.role = entry.choice("role", old_default, ("selection", "strength"))
        plan.masks.append(node)
    for entry in data.objects("references", MAX_NODES):
        node = _node(archive, entry, "reference", "Reference", False, 3)
        node.role = entry.choice("role", "palette", ("palette", "style"))
        node.strength = entry.fraction("strength", 1.0)
        node.visible = entry.flag("enabled", True)
        mask_src = entry.optional_text("mask_src")
        if mask_src:
            check_member_name(mask_src, archive.name)
            node.mask = ImageMember(
                mask_src, f"the mask of {node.image.what}", canvas=False, bytes_per_pixel=1
            )
        plan.references.append(node)
    state = data.child("editor_state")
    if state is not None:  # only what the editor saves, each checked; anything else is dropped
        for key in ("active_layer", "active_mask"):
            if key in state.data:
                plan.editor_state[key] = state.optional_text(key)
        # how the editor was left: a view, never worth refusing a project for
        mode, show_mask = state.data.get("mode"), state.data.get("show_mask")
        if isinstance(mode, str) and mode.isidentifier() and len(mode) <= 40:
            plan.editor_state["mode"] = mode
        if isinstance(show_mask, bool):
            plan.editor_state["show_mask"] = show_mask
        if "zoom" in state.data:
            plan.editor_state["zoom"] = _zoom(state)


def _zoom(state: Fields) -> float:
    value = state.data.get("zoom", 1.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1e4:
        return 1.0
    return float(value)


def _node(
    archive: Archive, entry: Fields, kind: str, default_name: str, canvas: bool, bpp: int
) -> NodePlan:
    label = entry.text("name", default_name)
    src = entry.text("src")
    check_member_name(src, archive.name)
    x = entry.integer("x", 0, -(1 << 30), 1 << 30)
    y = entry.integer("y", 0, -(1 << 30), 1 << 30)
    what = kind if kind.startswith("the ") else f"{kind} {label!r}"
    return NodePlan(
        ImageMember(src, what, x, y, canvas, bpp),
        label,
        entry.optional_text("id"),
        opacity=entry.fraction("opacity", 1.0),
        visible=entry.flag("visible", True),
    )


# ====================================================================== budget
def memory_budget() -> int:
    """Bytes a project's pixels may take: MEMORY_SHARE of this machine's physical memory."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        total = FALLBACK_MEMORY
    return int(MEMORY_SHARE * (total if total > 0 else FALLBACK_MEMORY))


def check_budget(
    archive: Archive, plan: ProjectPlan, max_pixels: int, budget: int | None = None
) -> dict[str, int]:
    """Step 2: refuse a project whose images or total memory exceed the limits, from the PNG
    headers alone (``budget``: bytes, default :func:`memory_budget`). Returns each member's
    byte limit for step 3."""
    canvas = plan.width * plan.height
    limits: dict[str, int] = {}
    needed = 4 * canvas * (len(plan.layers) + 1)  # the layers and the hint layer
    # decoding costs what the members hold, not what the canvas keeps of them: thousands of
    # layers may name one large image on a small canvas (each would be decoded in turn)
    decoded, on_canvas = 0, 0
    for member in plan.images():
        width, height, limit = archive.png_size(member)
        if member.canvas and width * height > max(ENLARGEMENT * canvas, ENLARGEMENT_FLOOR):
            raise ProjectFileError(
                f"{archive.name}: {member.what} is {width:,} x {height:,} px on a "
                f"{plan.width:,} x {plan.height:,} canvas — refusing (a decompression bomb?)"
            )
        check_dimensions(width, height, max_pixels, f"{archive.name}: {member.what}")
        limits[member.src] = limit
        if member.canvas:
            decoded, on_canvas = decoded + width * height, on_canvas + 1
        if member.canvas and member.bytes_per_pixel == 1:
            needed += canvas
        elif not member.canvas:
            needed += member.bytes_per_pixel * width * height
    if decoded > ENLARGEMENT * canvas * on_canvas + DECODE_FLOOR:
        raise ProjectFileError(
            f"{archive.name}: its {on_canvas:,} layer images hold {decoded:,} px to decode for "
            f"a {plan.width:,} x {plan.height:,} canvas — refusing (a decompression bomb?)"
        )
    budget = memory_budget() if budget is None else budget
    if needed > budget:
        raise ProjectFileError(
            f"{archive.name} would take {needed / 2**30:.1f} GiB of memory to open "
            f"({len(plan.layers)} layers of {plan.width:,} x {plan.height:,} px and more); "
            f"this computer allows {budget / 2**30:.1f} GiB (half its memory)"
        )
    return limits


def verify_ora(
    path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS, budget: int | None = None
) -> ProjectPlan:
    """Check a written project without decoding its pixels: every member's CRC, stack.xml and
    project.json parse and validate, every referenced image exists with a sound PNG header
    within the limits. Returns the plan; raises ProjectFileError."""
    zf, name = open_archive(path)
    with zf:
        try:
            damaged = zf.testzip()
        except Exception as err:
            raise ProjectFileError(f"{name} is damaged ({err})") from None
        if damaged is not None:
            raise ProjectFileError(f"{name}: {damaged} is damaged (CRC mismatch)")
        archive = Archive(zf, name)
        plan = read_plan(archive, max_pixels)
        check_budget(archive, plan, max_pixels, budget)
        return plan
