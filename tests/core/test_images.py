"""Image import (modes, EXIF, ICC, 16 bit) and export (formats, ICC, EXIF)."""

import io

import numpy as np
import pytest
from PIL import Image, ImageCms

from colorstudio.core.io.errors import (
    ImageTooLargeError,
    UnreadableImageError,
    UnsupportedImageError,
)
from colorstudio.core.io.images import decode_image, encode_image, load_image, save_image
from tests.imaging import icc_linear_srgb_profile, png_header_only, tiff_rgb16


def encode(im: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, fmt, **options)
    return buffer.getvalue()


def test_rgb_png_round_trip(tmp_path, rng):
    rgb = rng.integers(0, 256, (17, 23, 3), dtype=np.uint8)
    path = tmp_path / "a.png"
    Image.fromarray(rgb).save(path)
    imported = load_image(path)
    assert imported.rgba.shape == (17, 23, 4)
    assert np.array_equal(imported.rgba[..., :3], rgb)
    assert (imported.rgba[..., 3] == 255).all()
    assert imported.source_format == "PNG" and not imported.has_alpha
    assert imported.rgba.flags.writeable  # layers are painted in place


@pytest.mark.parametrize(
    ("mode", "value", "expected"),
    [
        ("1", 1, [255, 255, 255, 255]),
        ("L", 77, [77, 77, 77, 255]),
        ("LA", (77, 100), [77, 77, 77, 100]),
        ("RGBA", (10, 20, 30, 40), [10, 20, 30, 40]),
        ("CMYK", (0, 255, 255, 0), [255, 0, 0, 255]),
    ],
)
def test_modes_convert_to_rgba(mode, value, expected):
    fmt = "TIFF" if mode == "CMYK" else "PNG"
    imported = decode_image(encode(Image.new(mode, (3, 2), value), fmt), f"x.{fmt.lower()}")
    assert imported.rgba[1, 2].tolist() == expected
    assert imported.source_mode == mode


def test_palette_with_transparency():
    im = Image.new("P", (4, 4), 1)
    im.putpalette([0, 0, 0, 200, 10, 20] + [0] * 762)
    im.info["transparency"] = 0
    im.putpixel((0, 0), 0)
    rgba = decode_image(encode(im, "PNG", transparency=0), "p.png").rgba
    assert rgba[0, 0, 3] == 0
    assert rgba[1, 1].tolist() == [200, 10, 20, 255]


def test_sixteen_bit_grey_scales_to_eight_bit():
    values = np.array([[0, 257, 32896, 65535]], np.uint16)
    for fmt in ("PNG", "TIFF"):
        imported = decode_image(encode(Image.fromarray(values), fmt), f"g16.{fmt}")
        assert imported.rgba[0, :, 0].tolist() == [0, 1, 128, 255]
        assert imported.bits_per_channel == 16


def test_sixteen_bit_rgb_tiff():
    px = np.zeros((4, 5, 3), np.uint16)
    px[..., 0], px[..., 1], px[..., 2] = 65535, 32896, 0
    imported = decode_image(tiff_rgb16(px), "rgb48.tif")
    assert imported.rgba[2, 3].tolist() == [255, 128, 0, 255]


def test_jpeg_webp_bmp_open():
    im = Image.new("RGB", (8, 6), (200, 30, 40))
    for fmt in ("JPEG", "WEBP", "BMP"):
        rgba = decode_image(
            encode(im, fmt, **({"quality": 95} if fmt != "BMP" else {})), f"x.{fmt}"
        ).rgba
        assert rgba.shape == (6, 8, 4)
        assert np.abs(rgba[3, 4, :3].astype(int) - [200, 30, 40]).max() <= 6


def test_exif_orientation_is_applied_and_reset():
    im = Image.new("RGB", (3, 2), (0, 0, 0))
    im.putpixel((0, 0), (255, 0, 0))  # top-left red
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display needs a 90° clockwise turn
    exif[0x010F] = "TestCam"
    imported = decode_image(encode(im, "PNG", exif=exif.tobytes()), "rot.png")
    assert imported.rgba.shape[:2] == (3, 2)  # width and height swapped
    assert imported.rgba[0, 1].tolist() == [255, 0, 0, 255]  # red now top-right
    kept = Image.Exif()
    kept.load(imported.exif)
    assert kept.get(0x0112, 1) == 1 and kept[0x010F] == "TestCam"


def test_icc_profile_is_converted_to_srgb():
    im = Image.new("RGB", (2, 2), (120, 60, 200))
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    same = decode_image(encode(im, "PNG", icc_profile=srgb), "srgb.png")
    assert same.converted_from_icc and same.rgba[0, 0, :3].tolist() == [120, 60, 200]
    # Pixels tagged as linear light must be re-encoded with the sRGB curve: 120 -> ~182.
    grey = Image.new("RGB", (2, 2), (120, 120, 120))
    linear = decode_image(encode(grey, "PNG", icc_profile=icc_linear_srgb_profile()), "lin.png")
    assert linear.converted_from_icc
    v = 120 / 255
    expected = round((1.055 * v ** (1 / 2.4) - 0.055) * 255)
    assert np.abs(linear.rgba[0, 0, :3].astype(int) - expected).max() <= 2


def test_broken_icc_profile_is_ignored_not_fatal():
    im = Image.new("RGB", (2, 2), (1, 2, 3))
    imported = decode_image(encode(im, "PNG", icc_profile=b"not a profile at all"), "bad-icc.png")
    assert imported.rgba[0, 0, :3].tolist() == [1, 2, 3] and not imported.converted_from_icc


# ------------------------------------------------------------------- bad input
def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(UnreadableImageError, match=r"empty \(0 bytes\)"):
        load_image(path)


def test_truncated_png(tmp_path, rng):
    data = encode(Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)), "PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UnreadableImageError, match="truncated or damaged"):
        load_image(path)


def test_non_image_file(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("these are my shopping notes, not a picture")
    with pytest.raises(UnreadableImageError, match="not an image"):
        load_image(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(UnreadableImageError, match="not found"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(UnreadableImageError, match="folder"):
        load_image(tmp_path)


def test_decompression_bomb_is_refused_before_decoding():
    data = png_header_only(40_000, 30_000)  # 1.2 gigapixels claimed in 100 bytes
    assert len(data) < 200
    with pytest.raises(ImageTooLargeError, match="px on a side|megapixels|decompression bomb"):
        decode_image(data, "bomb.png")
    with pytest.raises(ImageTooLargeError, match="400 megapixels"):
        decode_image(png_header_only(20_000, 20_000), "big.png")
    with pytest.raises(ImageTooLargeError, match="160 megapixels, over the limit of 150"):
        decode_image(png_header_only(16_000, 10_000), "big.png")


def test_sixty_thousand_pixels_wide(tmp_path):
    path = tmp_path / "wide.png"
    Image.new("L", (60_000, 2), 128).save(path)
    with pytest.raises(ImageTooLargeError, match="60,000 x 2 px"):
        load_image(path)


def test_float_images_are_refused_clearly():
    with pytest.raises(UnsupportedImageError, match="floating-point"):
        decode_image(encode(Image.new("F", (2, 2), 0.5), "TIFF"), "f.tif")


# ------------------------------------------------------------------- export
@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif", ".webp"])
def test_export_writes_srgb_icc_and_exif(tmp_path, suffix):
    rgba = np.zeros((10, 12, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = 255
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    path = tmp_path / f"out{suffix}"
    save_image(path, rgba, exif=exif.tobytes())
    with Image.open(path) as im:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(im.info["icc_profile"]))
        assert "sRGB" in ImageCms.getProfileDescription(profile)
        assert im.getexif()[0x010F] == "TestCam"
    back = load_image(path).rgba
    assert np.abs(back[..., 0].astype(int) - 200).max() <= 3


def test_jpeg_quality_changes_size(tmp_path, rng):
    rgba = rng.integers(0, 256, (64, 64, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    small = encode_image(rgba, "JPEG", quality=30)
    large = encode_image(rgba, "JPEG", quality=95)
    assert len(small) < len(large) / 2


def test_export_keeps_alpha_in_png_and_flattens_jpeg(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 3] = 0
    save_image(tmp_path / "a.png", rgba)
    save_image(tmp_path / "a.jpg", rgba)
    assert load_image(tmp_path / "a.png").rgba[0, 0, 3] == 0
    assert load_image(tmp_path / "a.jpg").rgba[0, 0].tolist()[3] == 255
    assert load_image(tmp_path / "a.jpg").rgba[0, 0, 1] > 240  # flattened on white


def test_export_unknown_suffix(tmp_path):
    with pytest.raises(UnsupportedImageError, match="use .png"):
        save_image(tmp_path / "x.gif", np.zeros((2, 2, 4), np.uint8))


EPS_LOOP = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n{ } loop\n"


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (EPS_LOOP, "PostScript/EPS"),
        (encode(Image.new("RGB", (4, 4)), "GIF"), "GIF"),
        (encode(Image.new("RGB", (16, 16)), "ICO"), "icon"),
        (b"%PDF-1.4\n", "PDF"),
    ],
)
def test_formats_outside_the_allowlist_are_refused_by_content(tmp_path, data, what, monkeypatch):
    """Whatever the extension says; no other decoder (Ghostscript for EPS) ever runs."""
    import subprocess

    def no_programs(*args, **kwargs):
        raise AssertionError("an external program was started")

    monkeypatch.setattr(subprocess, "Popen", no_programs)
    path = tmp_path / "photo.png"
    path.write_bytes(data)
    with pytest.raises(UnsupportedImageError, match=what) as caught:
        load_image(path)
    assert "PNG, JPEG, TIFF, WebP or BMP" in str(caught.value)


def test_tga_without_a_signature_is_not_decoded():
    data = encode(Image.new("RGB", (4, 4), (200, 10, 10)), "TGA")
    with pytest.raises(UnreadableImageError, match="not an image ColorStudio can read"):
        decode_image(data, "x.jpg")


def test_animated_image_says_only_the_first_frame_is_used():
    frames = [Image.new("RGB", (4, 4), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "PNG", save_all=True, append_images=frames[1:])
    imported = decode_image(buffer.getvalue(), "anim.png")
    assert imported.rgba[0, 0].tolist() == [255, 0, 0, 255]
    assert imported.notes == ("it holds 3 frames; only the first is used",)
    assert decode_image(encode(frames[0], "PNG"), "still.png").notes == ()


def test_sixteen_bit_rgb_png_is_reported_as_sixteen_bits():
    import struct
    import zlib

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\0" + b"\xff\xff\x00\x00\x80\x00" * 2 for _ in range(2))  # 2 x 2 RGB16
    data = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 16, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    imported = decode_image(data, "deep.png")
    assert imported.bits_per_channel == 16
    assert imported.notes == ("16 bits per channel, edited and saved at 8",)  # the user is told
    assert imported.rgba[0, 0, :3].tolist() == [255, 0, 128]
    assert decode_image(encode(Image.new("RGB", (2, 2)), "PNG"), "x.png").bits_per_channel == 8


def test_grey_image_tagged_with_an_rgb_profile_converts_without_a_warning(caplog):
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(Image.new("L", (3, 3), 100), "PNG", icc_profile=profile)
    with caplog.at_level("WARNING"):
        imported = decode_image(data, "grey.png")
    assert imported.converted_from_icc and not caplog.records
    assert imported.rgba[1, 1, :3].tolist() == [100, 100, 100]


def test_a_project_given_as_an_image_says_where_to_open_it(tmp_path):
    """A command-line user who passes project.ora where an image is wanted is told it is a
    project and what to do, not that it is "a zip archive"."""
    from colorstudio.core.document import Document
    from colorstudio.core.io.ora import save_ora

    path = tmp_path / "work.ora"
    save_ora(Document.from_rgba(np.zeros((4, 4, 4), np.uint8)), path)
    with pytest.raises(UnsupportedImageError, match="work.ora is a project .*File ▸ Open"):
        load_image(path)
    path.rename(tmp_path / "work.zip")  # any other zip stays "a zip archive"
    with pytest.raises(UnsupportedImageError, match="a zip archive"):
        load_image(tmp_path / "work.zip")


def test_a_format_limit_is_one_clear_error_and_a_long_exif_is_left_out_of_a_jpeg(tmp_path):
    from colorstudio.core.io.images import MAX_JPEG_EXIF

    wide = np.zeros((2, 16384, 4), np.uint8)
    with pytest.raises(UnsupportedImageError, match="WebP holds at most 16,383 px"):
        encode_image(wide, "WEBP")
    exif = Image.Exif()
    exif[0x010E] = "x" * (MAX_JPEG_EXIF + 100)  # ImageDescription
    pixels = np.full((4, 4, 4), 200, np.uint8)
    save_image(tmp_path / "out.jpg", pixels, exif=exif.tobytes())  # was a raw ValueError
    with Image.open(tmp_path / "out.jpg") as saved:
        assert saved.size == (4, 4) and not saved.getexif()


def test_the_cli_refuses_a_webp_too_large_before_any_work(tmp_path, capsys):
    from colorstudio import cli

    Image.new("RGB", (16500, 4), (9, 9, 9)).save(tmp_path / "wide.png")
    code = cli.main(["colorize", str(tmp_path / "wide.png"), str(tmp_path / "o.webp"),
                     "--engine", "reinhard"])  # fmt: skip
    assert code in (1, 2)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "export as .png" in err
    assert not (tmp_path / "o.webp").exists()


def test_a_jpeg_of_thousands_of_scans_is_refused_before_decoding():
    """Each scan is a pass over every pixel: 60,000 scans took 36 s to decode."""
    from colorstudio.core.io.images import MAX_JPEG_SCANS

    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (120, 80, 40)).save(buffer, "JPEG", progressive=True)
    normal = buffer.getvalue()
    assert decode_image(normal, "ok.jpg").rgba.shape == (16, 16, 4)
    # as many scan headers again as the cap allows, spliced in before the end of the image
    extra = (b"\xff\xda" + b"\x00\x08\x01\x01\x00\x00\x3f\x00") * MAX_JPEG_SCANS
    bomb = normal[:-2] + extra + normal[-2:]
    with pytest.raises(UnreadableImageError, match="scans"):
        decode_image(bomb, "bomb.jpg")
    # data after the image (a motion photo's video) is not the image's scans
    trailer = b"\xff\xda\x00\x08" * (2 * MAX_JPEG_SCANS)
    assert decode_image(normal + trailer, "motion.jpg").rgba.shape == (16, 16, 4)


def test_a_multi_page_tiff_says_so_without_counting_its_pages(tmp_path):
    pages = [Image.new("L", (4, 4), v) for v in (10, 20, 30)]
    pages[0].save(tmp_path / "pages.tif", save_all=True, append_images=pages[1:])
    imported = load_image(tmp_path / "pages.tif")
    assert imported.notes == ("it holds several pages; only the first is used",)
    assert imported.rgba[0, 0, 0] == 10


def test_a_32_bit_integer_tiff_is_refused_rather_than_shown_white(tmp_path):
    values = np.array([[0, 100_000], [2_000_000, 40_000_000]], np.int32)
    Image.fromarray(values, "I").save(tmp_path / "i32.tif")
    with pytest.raises(UnsupportedImageError, match="32-bit integers"):
        load_image(tmp_path / "i32.tif")
