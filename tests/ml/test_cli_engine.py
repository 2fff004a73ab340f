"""``colorstudio colorize`` / ``stylize`` on files, with classical engines and exported models."""

import json

import numpy as np
import pytest
from PIL import Image

from colorstudio import cli
from colorstudio.cli_args import CommandError, hints_from_json
from colorstudio.ml.color import rgb_to_lab
from colorstudio.ml.weights import export_generator


@pytest.fixture
def photo(tmp_path, rng):
    yy, xx = np.mgrid[0:90, 0:120]
    grey = (60 + xx + 20 * np.sin(yy / 7)).clip(0, 255).astype(np.uint8)
    path = tmp_path / "grey.jpg"
    exif = Image.Exif()
    exif[0x010F] = "GrandpasCamera"
    Image.fromarray(grey).convert("RGB").save(path, quality=95, exif=exif.tobytes())
    return path


def write_hints(tmp_path, points):
    path = tmp_path / "hints.json"
    path.write_text(json.dumps(points))
    return path


def test_hints_json_draws_discs(tmp_path):
    layer = hints_from_json(
        write_hints(tmp_path, [{"x": 10, "y": 5, "radius": 2, "rgb": [255, 0, 0]}]), 20, 30
    )
    assert layer[5, 10].tolist() == [255, 0, 0, 255]
    assert layer[5, 13, 3] == 0 and layer.sum(axis=(0, 1))[3] == 255 * (layer[..., 3] > 0).sum()
    with pytest.raises(CommandError, match="outside"):
        hints_from_json(write_hints(tmp_path, [{"x": 99, "y": 5, "rgb": [1, 2, 3]}]), 20, 30)
    with pytest.raises(CommandError, match="hint 0 is invalid"):
        hints_from_json(write_hints(tmp_path, [{"x": 1, "y": 5, "rgb": [1, 2]}]), 20, 30)


def test_colorize_with_levin_and_hints(tmp_path, photo, capsys):
    hints = write_hints(
        tmp_path,
        [
            {"x": 30, "y": 45, "radius": 4, "rgb": [200, 40, 40]},
            {"x": 100, "y": 45, "radius": 4, "rgb": [40, 60, 200]},
        ],
    )
    out = tmp_path / "out.png"
    (tmp_path / "none").mkdir()  # a model folder without models: Levin
    code = cli.main(
        [
            "colorize",
            str(photo),
            str(out),
            "--hints",
            str(hints),
            "--models",
            str(tmp_path / "none"),
        ]
    )
    assert code == 0
    assert "levin" in capsys.readouterr().out
    with Image.open(out) as im:
        result = np.asarray(im.convert("RGB"))
        assert im.getexif()[0x010F] == "GrandpasCamera"
    lab = rgb_to_lab(result)
    assert lab[45, 30, 1] > 15 and lab[45, 100, 2] < -15  # reddish left, bluish right
    source = rgb_to_lab(np.asarray(Image.open(photo).convert("RGB")))
    assert np.abs(lab[..., 0] - source[..., 0]).max() < 1.0


def test_colorize_with_an_exported_model(tmp_path, photo, exported_colorizer, capsys):
    models = exported_colorizer
    out = tmp_path / "gan.jpg"
    assert (
        cli.main(["colorize", str(photo), str(out), "--models", str(models), "--size", "128"]) == 0
    )
    assert "gan on cpu" in capsys.readouterr().out
    assert out.is_file()


def test_colorize_hint_reach_decides_how_far_a_hint_spreads(
    tmp_path, photo, exported_colorizer, capsys
):
    hints = write_hints(tmp_path, [{"x": 20, "y": 45, "radius": 5, "rgb": [40, 60, 220]}])
    outputs = {}
    for reach in ("object", "photo"):
        out = tmp_path / f"{reach}.png"
        args = ["colorize", str(photo), str(out), "--hints", str(hints), "--hint-reach", reach]
        assert cli.main([*args, "--models", str(exported_colorizer), "--size", "128"]) == 0
        outputs[reach] = rgb_to_lab(np.asarray(Image.open(out).convert("RGB")))
    assert not np.array_equal(outputs["object"], outputs["photo"])
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["colorize", str(photo), str(tmp_path / "x.png"), "--hint-reach", "far"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'far'" in capsys.readouterr().err


def test_stylize_with_an_exported_model(tmp_path, photo, random_stylizer, capsys):
    models = tmp_path / "models"
    export_generator(
        random_stylizer,
        name="s",
        task="stylize",
        architecture="stylizer_adain",
        models_dir=models,
        config={"widths": [32, 16, 8]},
    )
    painting = tmp_path / "painting.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(
        painting
    )
    out = tmp_path / "styled.png"
    args = [
        "stylize",
        str(photo),
        str(out),
        "--style",
        str(painting),
        "--models",
        str(models),
        "--size",
        "96",
    ]
    assert cli.main([*args, "--alpha", "0.7", "--detail", "0.5"]) == 0
    assert "on cpu" in capsys.readouterr().out
    with Image.open(out) as im:
        assert im.size == (120, 90)
    out.unlink()
    with pytest.raises(SystemExit) as stopped:  # argparse's own error path
        cli.main([*args, "--detail", "1.5"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "argument --detail: must be within 0..1, not 1.5" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1  # one line; the usage is in --help
    assert not out.exists()
    # the same model over a folder: batch stylize (it read colorize's --reference and crashed)
    scans, styled = tmp_path / "scans", tmp_path / "styled"
    scans.mkdir()
    Image.open(photo).save(scans / "a.png")
    batch = ["batch", "stylize", str(scans), str(styled), "--style", str(painting)]
    assert cli.main([*batch, "--models", str(models), "--size", "96"]) == 0
    with Image.open(styled / "a.png") as im:
        assert im.size == (120, 90)


def test_errors_are_one_line(tmp_path, photo, capsys):
    (tmp_path / "none").mkdir()  # a model folder without models
    assert (
        cli.main(
            ["colorize", str(photo), str(tmp_path / "o.png"), "--models", str(tmp_path / "none")]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "paint colour hints or add a palette reference" in err
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really")
    assert cli.main(["colorize", str(broken), str(tmp_path / "o.png")]) == 2
    assert "broken.jpg" in capsys.readouterr().err
    mask = tmp_path / "mask.png"
    Image.new("L", (10, 10), 255).save(mask)
    assert (
        cli.main(
            [
                "colorize",
                str(photo),
                str(tmp_path / "o.png"),
                "--mask",
                str(mask),
                "--engine",
                "levin",
            ]
        )
        == 2
    )
    assert "the mask is 10 x 10" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000, "nested too deeply to be a hints file"),
        ('[{"x": 30, "y": 45, "radius": 1e200, "rgb": [200, 40, 40]}]', "radius must be above 0"),
        ('[{"x": 30, "y": 45, "radius": NaN, "rgb": [200, 40, 40]}]', "NaN is not allowed"),
    ],
)
def test_colorize_refuses_bad_hints_in_one_line(tmp_path, photo, capsys, text, message):
    hints = tmp_path / "hints.json"
    hints.write_text(text)
    out = tmp_path / "out.png"
    argv = ["colorize", str(photo), str(out), "--hints", str(hints), "--engine", "levin"]
    assert cli.main([*argv, "--models", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("colorstudio: ") and message in err
    assert not out.exists()


def test_colorize_into_its_input_leaves_it_untouched(tmp_path, photo, capsys):
    before = photo.read_bytes()
    hints = write_hints(tmp_path, [{"x": 30, "y": 45, "radius": 4, "rgb": [200, 40, 40]}])
    argv = ["colorize", str(photo), str(tmp_path / "." / photo.name), "--hints", str(hints)]
    assert cli.main([*argv, "--engine", "levin"]) == 2
    assert "is the input" in capsys.readouterr().err
    assert photo.read_bytes() == before
