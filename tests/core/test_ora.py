"""OpenRaster projects: spec layout, exact round trips, foreign files and hostile archives."""

import io
import struct
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from colorstudio.core.compositing import composite
from colorstudio.core.document import Document
from colorstudio.core.io.errors import ProjectFileError
from colorstudio.core.io.ora import NS, load_ora, save_ora
from colorstudio.core.layer import BlendMode, Layer, LayerKind, Reference, ReferenceRole


def png(array, mode):
    buffer = io.BytesIO()
    Image.fromarray(array, mode).save(buffer, "PNG")
    return buffer.getvalue()


def full_document(rng):
    doc = Document(37, 23)
    base = rng.integers(0, 256, (23, 37, 4), dtype=np.uint8)
    base[..., 3] = 255
    doc.layers.append(Layer("Background", base))
    top = np.zeros((23, 37, 4), np.uint8)
    top[5:9, 10:20] = [255, 0, 0, 128]
    doc.layers.append(Layer("Ink", top, opacity=0.6, visible=False, blend_mode=BlendMode.MULTIPLY))
    doc.layers.append(
        Layer(
            "Glow",
            rng.integers(0, 256, (23, 37, 4), dtype=np.uint8),
            blend_mode=BlendMode.LUMINOSITY,
        )
    )
    doc.hint.pixels[3:6, 3:6] = [0, 0, 255, 255]
    doc.masks.append(
        Layer("Sky", rng.integers(0, 256, (23, 37), dtype=np.uint8), kind=LayerKind.MASK)
    )
    doc.masks.append(
        Layer("Empty", np.zeros((23, 37), np.uint8), kind=LayerKind.MASK, visible=False)
    )
    doc.references.append(
        Reference(
            "Monet", rng.integers(0, 256, (9, 11, 3), dtype=np.uint8), ReferenceRole.STYLE, 0.4
        )
    )
    doc.references.append(
        Reference(
            "Beach",
            rng.integers(0, 256, (5, 6, 3), dtype=np.uint8),
            mask=rng.integers(0, 256, (5, 6), dtype=np.uint8),
            enabled=False,
        )
    )
    doc.editor_state = {"active_layer": doc.layers[1].id, "zoom": 2.5}
    return doc


def assert_same_document(a: Document, b: Document):
    assert (a.width, a.height) == (b.width, b.height)
    assert len(a.layers) == len(b.layers)
    for x, y in zip(a.layers, b.layers, strict=True):
        assert (x.id, x.name, x.visible, x.blend_mode) == (y.id, y.name, y.visible, y.blend_mode)
        assert x.opacity == pytest.approx(y.opacity, abs=1e-6)
        assert np.array_equal(x.pixels, y.pixels)
    assert np.array_equal(a.hint.pixels, b.hint.pixels) and a.hint.id == b.hint.id
    for x, y in zip(a.masks, b.masks, strict=True):
        assert (x.id, x.name, x.visible, x.role) == (y.id, y.name, y.visible, y.role)
        assert np.array_equal(x.pixels, y.pixels)
    for x, y in zip(a.references, b.references, strict=True):
        assert (x.id, x.name, x.role, x.strength, x.enabled) == (
            y.id,
            y.name,
            y.role,
            y.strength,
            y.enabled,
        )
        assert np.array_equal(x.image, y.image)
        assert (x.mask is None and y.mask is None) or np.array_equal(x.mask, y.mask)
    assert a.editor_state == b.editor_state


def test_round_trip_preserves_everything(tmp_path, rng):
    doc = full_document(rng)
    path = tmp_path / "p.ora"
    save_ora(doc, path)
    loaded = load_ora(path)
    assert loaded.warnings == []
    assert_same_document(doc, loaded.document)


def test_archive_follows_the_openraster_spec(tmp_path, rng):
    doc = full_document(rng)
    path = tmp_path / "p.ora"
    save_ora(doc, path)
    raw = path.read_bytes()
    # mimetype first, stored, readable at a fixed offset (file magic)
    assert raw[30:38] == b"mimetype" and raw[38:54] == b"image/openraster"
    with zipfile.ZipFile(path) as zf:
        first = zf.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        names = zf.namelist()
        assert {"stack.xml", "mergedimage.png", "Thumbnails/thumbnail.png"} <= set(names)
        root = ET.fromstring(zf.read("stack.xml"))
        assert root.tag == "image" and root.get("w") == "37" and root.get("h") == "23"
        layers = root.find("stack").findall("layer")
        assert [el.get("name") for el in layers] == ["Glow", "Ink", "Background"]  # top first
        ink = layers[1]
        assert ink.get("visibility") == "hidden" and ink.get("composite-op") == "svg:multiply"
        assert float(ink.get("opacity")) == pytest.approx(0.6)
        assert (int(ink.get("x")), int(ink.get("y"))) == (10, 5)  # cropped to its content
        assert ink.get(f"{{{NS}}}id") == doc.layers[1].id
        for el in layers:
            with Image.open(io.BytesIO(zf.read(el.get("src")))) as im:
                assert im.format == "PNG" and im.mode == "RGBA"
        merged = np.asarray(Image.open(io.BytesIO(zf.read("mergedimage.png"))))
        assert np.array_equal(merged, composite(doc.layers, 23, 37))
        thumb = Image.open(io.BytesIO(zf.read("Thumbnails/thumbnail.png")))
        assert max(thumb.size) <= 256
        assert all(not n.startswith("/") for n in names)
        extras = [n for n in names if n.startswith("colorstudio/")]
        assert "colorstudio/project.json" in extras and "colorstudio/hint.png" in extras


layer_pixels = arrays(np.uint8, (6, 7, 4))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    stack=st.lists(
        st.tuples(layer_pixels, st.floats(0, 1), st.booleans(), st.sampled_from(list(BlendMode))),
        min_size=1,
        max_size=4,
    ),
    hint=layer_pixels,
    mask=arrays(np.uint8, (6, 7)),
)
def test_save_load_round_trip_is_bit_exact(tmp_path, stack, hint, mask):
    doc = Document(7, 6)
    for i, (pixels, opacity, visible, mode) in enumerate(stack):
        doc.layers.append(
            Layer(
                f"L{i} ünïcødé & <xml>", pixels, opacity=opacity, visible=visible, blend_mode=mode
            )
        )
    doc.hint.pixels[...] = hint
    doc.masks.append(Layer("m", mask, kind=LayerKind.MASK))
    path = tmp_path / "h.ora"
    save_ora(doc, path)
    assert_same_document(doc, load_ora(path).document)


def write_zip(path, members, first_mimetype=True):
    with zipfile.ZipFile(path, "w") as zf:
        if first_mimetype:
            zf.writestr(zipfile.ZipInfo("mimetype"), b"image/openraster")
        for name, data in members.items():
            zf.writestr(name, data)


def test_plain_ora_from_another_program_opens(tmp_path):
    """A Krita/MyPaint-style file: groups, offsets, layers smaller than the canvas, no extras."""
    red = np.zeros((2, 3, 4), np.uint8)
    red[...] = [255, 0, 0, 255]
    blue = np.zeros((10, 10, 4), np.uint8)
    blue[...] = [0, 0, 255, 255]
    stack = b"""<?xml version='1.0' encoding='UTF-8'?>
<image w="8" h="6" version="0.0.5">
  <stack>
    <stack name="Group" opacity="0.5" visibility="visible">
      <layer name="Red" src="data/red.png" x="6" y="-1" opacity="0.8" composite-op="svg:screen"/>
    </stack>
    <layer name="Blue" src="data/blue.png" composite-op="svg:hard-light"/>
  </stack>
</image>"""
    path = tmp_path / "krita.ora"
    write_zip(
        path,
        {"stack.xml": stack, "data/red.png": png(red, "RGBA"), "data/blue.png": png(blue, "RGBA")},
    )
    loaded = load_ora(path)
    doc = loaded.document
    assert (doc.width, doc.height) == (8, 6)
    assert [layer.name for layer in doc.layers] == ["Blue", "Red"]  # bottom first
    red_layer = doc.layers[1]
    assert red_layer.opacity == pytest.approx(0.4)  # group opacity multiplies
    assert red_layer.blend_mode is BlendMode.SCREEN
    assert red_layer.pixels[0, 6].tolist() == [255, 0, 0, 255] and red_layer.pixels[0, 7, 3] == 255
    assert (
        red_layer.pixels[1, 6, 3] == 0 and red_layer.pixels[0, 5, 3] == 0
    )  # offset honoured, clipped
    assert doc.layers[0].blend_mode is BlendMode.NORMAL
    assert any("hard-light" in w for w in loaded.warnings)
    assert doc.masks == [] and doc.references == []


def test_missing_mimetype_is_tolerated(tmp_path):
    path = tmp_path / "nomime.ora"
    stack = b'<image w="2" h="2"><stack><layer name="a" src="a.png"/></stack></image>'
    write_zip(
        path,
        {"stack.xml": stack, "a.png": png(np.full((2, 2, 4), 9, np.uint8), "RGBA")},
        first_mimetype=False,
    )
    assert load_ora(path).document.layers[0].pixels[0, 0, 0] == 9


# ------------------------------------------------------------------- hostile or broken files
def test_path_traversal_member_is_refused(tmp_path):
    path = tmp_path / "evil.ora"
    write_zip(
        path, {"stack.xml": b'<image w="2" h="2"><stack/></image>', "../../etc/evil.png": b"x"}
    )
    with pytest.raises(ProjectFileError, match="path traversal"):
        load_ora(path)


def test_path_traversal_in_layer_src_is_refused(tmp_path):
    path = tmp_path / "evil2.ora"
    stack = b'<image w="2" h="2"><stack><layer name="a" src="/abs/a.png"/></stack></image>'
    write_zip(path, {"stack.xml": stack})
    with pytest.raises(ProjectFileError, match="path traversal"):
        load_ora(path)


def test_missing_stack_xml(tmp_path):
    path = tmp_path / "nostack.ora"
    write_zip(path, {"data/a.png": png(np.zeros((2, 2, 4), np.uint8), "RGBA")})
    with pytest.raises(ProjectFileError, match="no stack.xml"):
        load_ora(path)


def test_layer_png_that_fails_to_decode(tmp_path):
    path = tmp_path / "badlayer.ora"
    stack = b'<image w="20" h="20"><stack><layer name="Sketch" src="data/a.png"/></stack></image>'
    good = png(np.zeros((20, 20, 4), np.uint8), "RGBA")
    write_zip(path, {"stack.xml": stack, "data/a.png": good[: len(good) // 2]})
    with pytest.raises(ProjectFileError, match=r"layer 'Sketch' \(data/a.png\) cannot be decoded"):
        load_ora(path)


def test_layer_pointing_to_a_missing_file(tmp_path):
    path = tmp_path / "missing.ora"
    write_zip(
        path,
        {
            "stack.xml": b'<image w="2" h="2"><stack>'
            b'<layer name="a" src="gone.png"/></stack></image>'
        },
    )
    with pytest.raises(ProjectFileError, match="missing gone.png"):
        load_ora(path)


def test_zip_bomb_is_refused(tmp_path):
    path = tmp_path / "bomb.ora"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), b"image/openraster")
        with zf.open("stack.xml", "w", force_zip64=True) as handle:
            chunk = b"\0" * (1 << 24)
            for _ in range(65):  # 1.02 GiB of zeros in ~5 MB
                handle.write(chunk)
    assert path.stat().st_size < 10 << 20
    with pytest.raises(ProjectFileError, match="zip bomb"):
        load_ora(path)


def test_zip_member_lying_about_its_size_is_cut_off(tmp_path):
    """A central directory that under-reports a member's size must not get past the bounded read."""
    path = tmp_path / "liar.ora"
    payload = b"<" + b" " * (20 << 20)  # 20 MB of XML-ish junk, limit for stack.xml is 16 MB
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), b"image/openraster")
        zf.writestr("stack.xml", payload)
    raw = bytearray(path.read_bytes())
    cd = raw.rfind(b"PK\x01\x02")  # central directory entry of stack.xml (the last one)
    struct.pack_into("<I", raw, cd + 24, 100)  # uncompressed size: "100 bytes"
    path.write_bytes(bytes(raw))
    with pytest.raises(ProjectFileError, match="beyond its limit|damaged"):
        load_ora(path)


def test_xml_entities_are_refused(tmp_path):
    path = tmp_path / "laughs.ora"
    stack = (
        b'<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY lol "lol">]>'
        b'<image w="2" h="2"><stack/></image>'
    )
    write_zip(path, {"stack.xml": stack})
    with pytest.raises(ProjectFileError, match="entities"):
        load_ora(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"empty \(0 bytes\)"),
        (b"PK\x03\x04 definitely not a real zip", "not an OpenRaster project"),
        (b"hello", "not an OpenRaster project"),
    ],
)
def test_not_a_project(tmp_path, content, message):
    path = tmp_path / "x.ora"
    path.write_bytes(content)
    with pytest.raises(ProjectFileError, match=message):
        load_ora(path)


def test_wrong_mimetype_and_bad_sizes(tmp_path):
    path = tmp_path / "odd.ora"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", b"application/x-krita")
        zf.writestr("stack.xml", b'<image w="2" h="2"><stack/></image>')
    with pytest.raises(ProjectFileError, match="not OpenRaster"):
        load_ora(path)
    write_zip(path, {"stack.xml": b'<image w="-3" h="2"><stack/></image>'})
    with pytest.raises(ProjectFileError, match="invalid"):
        load_ora(path)
    write_zip(path, {"stack.xml": b'<image w="90000" h="2"><stack/></image>'})
    with pytest.raises(ProjectFileError, match="px on a side"):
        load_ora(path)


def test_damaged_colorstudio_part(tmp_path, rng):
    doc = full_document(rng)
    path = tmp_path / "p.ora"
    save_ora(doc, path)
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist() if n != "mimetype"}
    members["colorstudio/project.json"] = b'{"masks": [{"name": "x"}]}'
    write_zip(path, members)
    with pytest.raises(ProjectFileError, match="project.json"):
        load_ora(path)
