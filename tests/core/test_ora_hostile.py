"""Projects that used to save unopenable files or crash the loader: names XML cannot hold,
duplicate and path-like ids, unverified saves, nested groups, bad project.json, project bombs."""

import json
import struct
import xml.etree.ElementTree as ET
import zipfile
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from colorstudio.core.document import Document
from colorstudio.core.io import ora
from colorstudio.core.io.errors import ProjectFileError
from colorstudio.core.io.ora import load_ora, save_ora, verify_ora
from colorstudio.core.layer import Layer, LayerKind, Reference, ReferenceRole
from tests.core.test_ora import assert_same_document, png, write_zip

#: any Unicode string, lone surrogates (a file name's undecodable byte) and controls included
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)


def small_doc(rng, width=9, height=7) -> Document:
    doc = Document(width, height)
    doc.layers.append(Layer("Background", rng.integers(0, 256, (height, width, 4), np.uint8)))
    return doc


@pytest.mark.parametrize(
    "name",
    [
        "grandma\udce9",
        "tab\there",
        "bell\x07",
        "nul\x00",
        "\ufffe\uffff",
        "a\r\nb",
        '&<>"',
        "\ud83d\ude00 a high and a low surrogate, apart",  # JSON would merge them into one
        "long " * 2000,
    ],
)
def test_names_xml_cannot_hold_save_and_reopen_exactly(tmp_path, rng, name):
    doc = small_doc(rng)
    doc.layers[0].name = name
    doc.layers[0].id = name + "-id"
    doc.masks.append(Layer(name, np.zeros((7, 9), np.uint8), kind=LayerKind.MASK, id=name))
    path = tmp_path / "p.ora"
    save_ora(doc, path)
    with zipfile.ZipFile(path) as zf:
        root = ET.fromstring(zf.read("stack.xml"))  # valid XML for every other program
    assert root.find("stack/layer").get("name")  # a readable stand-in
    reopened = load_ora(path).document
    assert reopened.layers[0].name == name and reopened.layers[0].id == name + "-id"
    assert reopened.masks[0].name == name and reopened.masks[0].id == name


def test_masks_with_one_id_or_a_path_like_id_all_survive(tmp_path, rng):
    doc = small_doc(rng)
    for i, mask_id in enumerate(["same", "same", "../../escape", "a/b\\c"]):
        mask = Layer(f"m{i}", np.full((7, 9), 10 * (i + 1), np.uint8), kind=LayerKind.MASK)
        mask.id = mask_id
        doc.masks.append(mask)
    ref = Reference("r", rng.integers(0, 256, (3, 4, 3), np.uint8), ReferenceRole.STYLE)
    ref.id = "../ref"
    doc.references.append(ref)
    path = tmp_path / "p.ora"
    save_ora(doc, path)
    loaded = load_ora(path)
    masks = loaded.document.masks
    assert [m.name for m in masks] == ["m0", "m1", "m2", "m3"]
    assert [int(m.pixels[0, 0]) for m in masks] == [10, 20, 30, 40]
    ids = [node.id for node in (*loaded.document.layers, *masks, *loaded.document.references)]
    assert len(set(ids)) == len(ids)  # the duplicate got a fresh id
    assert "duplicate layer ids were renumbered" in loaded.warnings
    assert masks[2].id == "../../escape" and loaded.document.references[0].id == "../ref"


def test_a_save_that_does_not_read_back_keeps_the_previous_file(tmp_path, rng, monkeypatch):
    path = tmp_path / "p.ora"
    save_ora(small_doc(rng), path)
    before = path.read_bytes()
    real = ora.write_ora

    def broken(doc, handle, level=3):
        real(doc, handle, level)
        handle.truncate(200)  # the archive's end, with its directory, is lost

    monkeypatch.setattr(ora, "write_ora", broken)
    with pytest.raises(ProjectFileError):
        save_ora(small_doc(rng), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["p.ora"]


def test_verify_catches_a_missing_member(tmp_path, rng):
    stack = b'<image w="4" h="4"><stack><layer name="L" src="data/gone.png"/></stack></image>'
    write_zip(tmp_path / "p.ora", {"stack.xml": stack})
    with pytest.raises(ProjectFileError, match="missing data/gone.png"):
        verify_ora(tmp_path / "p.ora")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    layer_names=st.lists(ANY_TEXT, min_size=1, max_size=3),
    mask_names=st.lists(ANY_TEXT, max_size=2),
    ref_name=ANY_TEXT,
    ids=st.lists(ANY_TEXT.filter(bool), min_size=7, max_size=7, unique=True),
    opacity=st.floats(0, 1),
    visible=st.booleans(),
)
def test_any_document_round_trips(tmp_path, layer_names, mask_names, ref_name, ids, opacity,
                                  visible):  # fmt: skip
    rng = np.random.default_rng(len(layer_names))
    doc = Document(5, 4)
    for i, name in enumerate(layer_names):
        pixels = rng.integers(0, 256, (4, 5, 4), np.uint8)
        doc.layers.append(Layer(name, pixels, opacity=opacity, visible=visible, id=ids[i]))
    for i, name in enumerate(mask_names):
        pixels = rng.integers(0, 256, (4, 5), np.uint8)
        doc.masks.append(Layer(name, pixels, kind=LayerKind.MASK, id=ids[3 + i]))
    doc.references.append(
        Reference(ref_name, rng.integers(0, 256, (2, 3, 3), np.uint8), id=ids[5], strength=opacity)
    )
    doc.hint.id = ids[6]
    doc.hint.pixels[1, 2] = [1, 2, 3, 255]
    doc.editor_state = {"active_layer": ids[0], "active_mask": None, "zoom": 1.5}
    path = tmp_path / "any.ora"
    save_ora(doc, path)
    assert_same_document(doc, load_ora(path).document)


# ---------------------------------------------------------------- crafted files
def project(stack_xml: bytes, extra=None, width=4, height=4) -> dict:
    layer = png(np.zeros((height, width, 4), np.uint8), "RGBA")
    return {"stack.xml": stack_xml, "data/a.png": layer, **(extra or {})}


def test_deeply_nested_groups_are_one_clear_error(tmp_path):
    depth = 5000
    inner = b'<layer name="L" src="data/a.png"/>'
    stack = b'<image w="4" h="4"><stack>' + b"<stack>" * depth + inner
    stack += b"</stack>" * depth + b"</stack></image>"
    write_zip(tmp_path / "deep.ora", project(stack))
    with pytest.raises(ProjectFileError, match="nested more than"):
        load_ora(tmp_path / "deep.ora")


def test_groups_a_few_levels_deep_still_open(tmp_path):
    inner = b'<layer name="L" src="data/a.png"/>'
    stack = b'<image w="4" h="4"><stack>' + b"<stack>" * 10 + inner
    stack += b"</stack>" * 10 + b"</stack></image>"
    write_zip(tmp_path / "groups.ora", project(stack))
    assert len(load_ora(tmp_path / "groups.ora").document.layers) == 1


GOOD_STACK = b'<image w="4" h="4"><stack><layer name="L" src="data/a.png"/></stack></image>'


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "project.json is damaged"),
        ('{"format_version": "2"}', "'format_version' must be a whole number"),
        ('{"masks": {"a": 1}}', "'masks' must be a list"),
        ('{"masks": [{"src": 5}]}', "'src' must be a string"),
        ('{"masks": [{"name": "m"}]}', "'src' is missing"),
        ('{"hint": {"src": "colorstudio/hint.png", "opacity": "high"}}', "'opacity' must be"),
        ('{"references": [{"src": "data/a.png", "role": "evil"}]}', "'role' must be one of"),
        ('{"masks": [{"src": "data/a.png", "visible": "yes"}]}', "'visible' must be true"),
        ('{"masks": [{"src": "data/a.png", "x": 1e300}]}', "'x' must be a whole number"),
        ('{"masks": [{"src": "../../etc/passwd"}]}', "path traversal"),
        ("[1, 2]", "must be an object"),
    ],
)
def test_bad_project_json_is_one_clear_error(tmp_path, content, message):
    write_zip(tmp_path / "p.ora", project(GOOD_STACK, {"colorstudio/project.json": content}))
    with pytest.raises(ProjectFileError, match=message) as caught:
        load_ora(tmp_path / "p.ora")
    assert "\n" not in str(caught.value)


def test_unknown_editor_state_is_dropped_not_kept(tmp_path):
    state = {"editor_state": {"zoom": 2, "active_layer": "x", "junk": [[[[]]]]}}
    write_zip(
        tmp_path / "p.ora", project(GOOD_STACK, {"colorstudio/project.json": json.dumps(state)})
    )
    assert load_ora(tmp_path / "p.ora").document.editor_state == {"zoom": 2.0, "active_layer": "x"}


@pytest.mark.parametrize(
    ("mode", "show_mask", "kept"),
    [
        ("RESTORE", False, {"mode": "RESTORE", "show_mask": False}),
        ({"x": 1}, "no", {}),  # wrong types: a view is dropped, the project still opens
        ("a b" * 40, 0, {}),
    ],
)
def test_the_saved_view_is_kept_only_when_well_formed(tmp_path, mode, show_mask, kept):
    state = {"editor_state": {"mode": mode, "show_mask": show_mask}}
    write_zip(
        tmp_path / "p.ora", project(GOOD_STACK, {"colorstudio/project.json": json.dumps(state)})
    )
    assert load_ora(tmp_path / "p.ora").document.editor_state == kept


def forged_png(width: int, height: int) -> bytes:
    """A valid-looking PNG whose header claims ``width`` x ``height`` (its data is tiny)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))


def test_layer_image_far_larger_than_its_canvas_is_refused_from_its_header(tmp_path):
    stack = b'<image w="2000" h="2000"><stack><layer name="L" src="data/a.png"/></stack></image>'
    write_zip(tmp_path / "p.ora", {"stack.xml": stack, "data/a.png": forged_png(12000, 12000)})
    with pytest.raises(ProjectFileError, match="12,000 x 12,000 px on a 2,000 x 2,000 canvas"):
        load_ora(tmp_path / "p.ora")


def test_a_layer_hanging_off_a_small_canvas_still_opens(tmp_path):
    """Krita and MyPaint keep off-canvas pixels: a pasted photo wider than the canvas."""
    stack = b'<image w="100" h="100"><stack><layer name="L" src="data/a.png" x="-50"/>'
    stack += b"</stack></image>"
    photo = np.full((120, 300, 4), 200, np.uint8)
    write_zip(tmp_path / "p.ora", {"stack.xml": stack, "data/a.png": png(photo, "RGBA")})
    layer = load_ora(tmp_path / "p.ora").document.layers[0].pixels
    assert layer.shape == (100, 100, 4) and (layer == 200).all()


def test_project_memory_is_held_to_the_budget_before_anything_is_decoded(tmp_path, monkeypatch):
    from colorstudio.core.io import ora_read

    layers = b'<layer name="L" src="data/a.png"/>' * 100
    stack = b'<image w="2000" h="2000"><stack>' + layers + b"</stack></image>"
    tiny = png(np.zeros((1, 1, 4), np.uint8), "RGBA")
    write_zip(tmp_path / "p.ora", {"stack.xml": stack, "data/a.png": tiny})
    monkeypatch.setattr(ora_read, "memory_budget", lambda: 1 << 30)  # a 2 GB machine
    with pytest.raises(ProjectFileError, match=r"1.5 GiB of memory to open .* allows 1.0 GiB"):
        load_ora(tmp_path / "p.ora")
    small = stack.replace(b'w="2000" h="2000"', b'w="200" h="200"')
    write_zip(tmp_path / "q.ora", {"stack.xml": small, "data/a.png": tiny})
    assert len(load_ora(tmp_path / "q.ora").document.layers) == 100


def test_many_layers_naming_one_large_image_on_a_small_canvas_are_refused(tmp_path):
    """Each layer would decode the 16 MP member again: 4,096 of them kept the editor busy for
    a quarter of an hour, from a 25 KB file."""
    layers = b'<layer name="L" src="data/a.png"/>' * 64
    stack = b'<image w="60" h="40"><stack>' + layers + b"</stack></image>"
    write_zip(tmp_path / "p.ora", {"stack.xml": stack, "data/a.png": forged_png(4000, 4000)})
    with pytest.raises(ProjectFileError, match="64 layer images hold 1,024,000,000 px"):
        load_ora(tmp_path / "p.ora")
    collage = b'<layer name="L" src="data/b.png"/>' * 5  # five 12 MP photos: a collage
    stack = b'<image w="1920" h="1080"><stack>' + collage + b"</stack></image>"
    write_zip(tmp_path / "c.ora", {"stack.xml": stack, "data/b.png": forged_png(4000, 3000)})
    with pytest.raises(ProjectFileError) as collage_error:
        load_ora(tmp_path / "c.ora")
    assert "px to decode" not in str(collage_error.value)  # (the forged pixels fail later)
    once = b'<image w="60" h="40"><stack><layer name="L" src="data/a.png"/></stack></image>'
    write_zip(tmp_path / "q.ora", {"stack.xml": once, "data/a.png": forged_png(4000, 4000)})
    with pytest.raises(ProjectFileError) as one:  # one such layer passes the budget…
        load_ora(tmp_path / "q.ora")
    assert "px to decode" not in str(one.value)  # …(its forged pixel data fails later)


def test_a_project_this_computer_saved_it_opens_again(tmp_path, rng, monkeypatch):
    """The save's check and opening agree on every limit that depends on the document."""
    from colorstudio.core.io import ora_read

    doc = small_doc(rng, 300, 200)
    for i in range(11):
        doc.layers.append(Layer(f"l{i}", rng.integers(0, 256, (200, 300, 4), np.uint8)))
    needed = 4 * 300 * 200 * 13
    monkeypatch.setattr(ora_read, "memory_budget", lambda: needed)
    save_ora(doc, tmp_path / "p.ora")
    assert len(load_ora(tmp_path / "p.ora", max_pixels=300 * 200).document.layers) == 12


def test_member_read_is_limited_by_what_its_header_allows(tmp_path):
    """A 4 x 4 layer whose PNG carries megabytes of trailing chunks is refused before decoding."""
    layer = png(np.zeros((4, 4, 4), np.uint8), "RGBA")
    padded = layer[:-12] + b"\0" * (3 << 20) + layer[-12:]
    write_zip(tmp_path / "p.ora", {"stack.xml": GOOD_STACK, "data/a.png": padded})
    with pytest.raises(ProjectFileError, match="beyond its limit"):
        load_ora(tmp_path / "p.ora")


def test_a_strength_map_keeps_its_role_and_old_files_get_it_from_the_name(tmp_path, rng):
    from colorstudio.core.layer import MaskRole

    doc = small_doc(rng)
    doc.masks.append(Layer("Painted down", np.full((7, 9), 90, np.uint8), kind=LayerKind.MASK,
                           role=MaskRole.STRENGTH))  # fmt: skip
    save_ora(doc, tmp_path / "p.ora")
    assert load_ora(tmp_path / "p.ora").document.masks[0].role is MaskRole.STRENGTH
    old = json.dumps({"masks": [{"name": "Strength", "src": "data/a.png"}]})  # before roles
    write_zip(tmp_path / "old.ora", project(GOOD_STACK, {"colorstudio/project.json": old}))
    assert load_ora(tmp_path / "old.ora").document.masks[0].role is MaskRole.STRENGTH
