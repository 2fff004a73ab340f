"""Command-line checks that run before any work: argument types, the hints schema, the outputs."""

import argparse
import json
import os
import shlex

import numpy as np
import pytest
from PIL import Image

from colorstudio import cli, cli_engine
from colorstudio.cli_args import (
    MAX_HINTS,
    CommandError,
    batch_parser,
    device,
    hints_from_json,
    working_size,
)
from colorstudio.ml.requests import STYLE_TILE, STYLE_WORKING_SIZE


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "in.png"
    Image.fromarray(np.full((20, 30, 3), 128, np.uint8)).save(path)
    return path


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if a command gets as far as the engine (torch check comes first)."""

    def started():
        raise AssertionError("the command started working before refusing its arguments")

    monkeypatch.setattr(cli_engine, "require_torch", started)


BAD_ARGUMENTS = [
    (["colorize", "i.png", "o.png", "--size", "0"], "--size: must be 64 or more, not 0"),
    (["colorize", "i.png", "o.png", "--size", "-5"], "--size: must be 64 or more, not -5"),
    (["colorize", "i.png", "o.png", "--size", "big"], "--size: must be a whole number"),
    (["colorize", "i.png", "o.png", "--size", "40000"], "--size: must be 32768 or less"),
    (["colorize", "i.png", "o.png", "--device", "bogus"], "--device: must be auto, cpu, cuda"),
    (["colorize", "i.png", "o.png", "--device", "cuda:x"], "--device: must be auto, cpu, cuda"),
    (["colorize", "i.png", "o.png", "--threads", "0"], "--threads: must be 1 or more, not 0"),
    (["colorize", "i.png", "o.png", "--quality", "0"], "--quality: must be 1 or more"),
    (["colorize", "i.png", "o.png", "--quality", "101"], "--quality: must be 100 or less"),
    (["colorize", "i.png", "o.png", "--strength", "nan"], "--strength: must be a finite number"),
    (["colorize", "i.png", "o.png", "--strength", "1.5"], "--strength: must be within 0..1"),
    (["stylize", "i.png", "o.png", "--style", "s.png", "--tile", "0"], "--tile: must be 128"),
    (["stylize", "i.png", "o.png", "--style", "s.png", "--alpha", "-0.1"], "--alpha: must be"),
    (["stylize", "i.png", "o.png", "--style", "s.png", "--detail", "inf"], "--detail: must be"),
    (["restore", "i.png", "o.png", "--sensitivity", "0"], "--sensitivity: must be between 0"),
    (["restore", "i.png", "o.png", "--sensitivity", "1"], "--sensitivity: must be between 0"),
    (["restore", "i.png", "o.png", "--sensitivity", "nan"], "--sensitivity: must be a finite"),
    (["restore", "i.png", "o.png", "--grow", "-1"], "--grow: must be 0 or more"),
    (["restore", "i.png", "o.png", "--size", "10"], "--size: must be 64 or more"),
    (["batch", "colorize", "i", "o", "--size", "0"], "--size: must be 64 or more"),
    (["batch", "stylize", "i", "o", "--style", "s.png", "--alpha", "2"], "--alpha: must be"),
    (["batch", "restore", "i", "o", "--sensitivity", "0"], "--sensitivity: must be between"),
    (["batch", "restore", "i", "o", "--device", "gpu"], "--device: must be auto, cpu, cuda"),
    (["batch", "colorize", "i", "o", "--threads", "0"], "--threads: must be 1 or more"),
    (["eval", "colorize", "photos", "--limit", "0"], "--limit: must be 1 or more, not 0"),
    (["eval", "colorize", "photos", "--size", "8"], "--size: must be 64 or more"),
    (["train", "colorize", "--data", "d", "--out", "o", "--batch", "0"], "--batch: must be 1"),
    (["train", "colorize", "--data", "d", "--out", "o", "--lr", "nan"], "--lr: must be a finite"),
    (["train", "colorize", "--data", "d", "--out", "o", "--device", "tpu"], "--device: must be"),
    (["train", "colorize", "--data", "d", "--out", "o", "--threads", "0"], "--threads: must be"),
]


@pytest.mark.parametrize(("argv", "message"), BAD_ARGUMENTS, ids=lambda v: " ".join(v)[:60])
def test_bad_arguments_stop_in_argparse_with_exit_code_2(argv, message, capsys, no_work):
    with pytest.raises(SystemExit) as stopped:
        cli.main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith(f"colorstudio {argv[0]}")


def test_argument_types_accept_what_they_should():
    assert [device(d) for d in ("auto", "cpu", "cuda", "cuda:1")] == [
        "auto",
        "cpu",
        "cuda",
        "cuda:1",
    ]
    assert working_size("64") == 64 and working_size("32768") == 32768
    for bad in ("cuda:", "cuda:-1", "CPU", "mps", "cpu "):
        with pytest.raises(argparse.ArgumentTypeError):
            device(bad)


def test_readme_batch_command_lines_parse():
    parser = batch_parser()
    args = parser.parse_args(
        shlex.split("colorize scans/ coloured/ --reference beach.jpg --size 384")
    )
    assert (args.task, args.reference, args.size) == ("colorize", ["beach.jpg"], 384)
    args = parser.parse_args(
        shlex.split(
            "stylize photos/ styled/ --style monet.jpg --alpha 0.8 --detail 1 --keep-colour"
        )
    )
    assert (args.style, args.alpha, args.detail, args.keep_color) == ("monet.jpg", 0.8, 1, True)
    assert (args.size, args.tile) == (STYLE_WORKING_SIZE, STYLE_TILE)  # the editor's too
    args = parser.parse_args(shlex.split("restore scans/ repaired/ --sensitivity 0.5 --colorize"))
    assert (args.sensitivity, args.colorize, args.size, args.grow) == (0.5, True, 2048, 1)


@pytest.mark.parametrize(
    ("task", "own", "foreign"),
    [
        ("colorize", ["--reference", "--size"], ["--style", "--alpha", "--sensitivity"]),
        ("stylize", ["--style", "--alpha", "--detail", "--tile"], ["--sensitivity", "--colorize"]),
        ("restore", ["--sensitivity", "--grow", "--colorize"], ["--style", "--alpha", "--tile"]),
    ],
)
def test_batch_help_shows_only_the_tasks_options(task, own, foreign, capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["batch", task, "--help"])
    assert stopped.value.code == 0
    text = capsys.readouterr().out
    assert f"colorstudio batch {task}" in text
    assert all(option in text for option in own)
    assert not any(option in text for option in foreign)


def test_every_batch_option_has_a_help_text():
    subparsers = next(
        a for a in batch_parser()._actions if isinstance(a, argparse._SubParsersAction)
    )
    for name, parser in subparsers.choices.items():
        for action in parser._actions:
            assert action.help, f"batch {name}: {action.option_strings or action.dest} has no help"


# ---------------------------------------------------------------------------- hints


def write(tmp_path, text, name="hints.json"):
    path = tmp_path / name
    path.write_text(text)
    return path


def hint(**changes):
    return {"x": 10, "y": 5, "radius": 2, "rgb": [255, 0, 0], **changes}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (json.dumps([hint(radius=1e200)]), "radius must be above 0 and at most 30"),
        (json.dumps([hint(radius=0)]), "radius must be above 0"),
        (json.dumps([hint(radius=31)]), "radius must be above 0 and at most 30"),
        ('[{"x": 10, "y": 5, "radius": NaN, "rgb": [1, 2, 3]}]', "NaN"),
        ('[{"x": Infinity, "y": 5, "rgb": [1, 2, 3]}]', "Infinity"),
        ('[{"x": -Infinity, "y": 5, "rgb": [1, 2, 3]}]', "-Infinity"),
        ('[{"x": 1e400, "y": 5, "rgb": [1, 2, 3]}]', "x must be a finite number"),
        ('[{"x": 1' + "0" * 400 + ', "y": 5, "rgb": [1, 2, 3]}]', "x must be a finite number"),
        (json.dumps([hint(x="10")]), "x must be a number, not text"),
        (json.dumps([hint(y=True)]), "y must be a number, not true/false"),
        (json.dumps([hint(radius=None)]), "radius must be a number, not null"),
        (json.dumps([hint(x=[[[1]]])]), "x must be a number, not a list"),
        (json.dumps([{"y": 5, "rgb": [1, 2, 3]}]), "x is missing"),
        (json.dumps([hint(x=30)]), "(30, 5) lies outside the 30 x 20 image"),
        (json.dumps([hint(y=-0.5)]), "lies outside"),
        (json.dumps([hint(rgb=[1, 2])]), "rgb needs three whole numbers 0..255"),
        (json.dumps([hint(rgb=[1, 2, 256])]), "rgb needs three whole numbers"),
        (json.dumps([hint(rgb=[1, 2, 3.5])]), "rgb needs three whole numbers"),
        (json.dumps([hint(rgb=[True, 2, 3])]), "rgb needs three whole numbers"),
        (json.dumps([hint(**{"colour": [1, 2, 3]})]), "unknown key 'colour'"),
        (json.dumps([[1, 2, 3]]), "expected an object"),
        (json.dumps({"x": 1}), "expected a list"),
        ("[" * 100_000, "nested too deeply"),
        ('[{"x": ' * 100_000, "nested too deeply"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        (json.dumps([hint()] * (MAX_HINTS + 1)), f"at most {MAX_HINTS} are allowed"),
        ("[{]", "is not valid JSON"),
    ],
    ids=lambda v: v[:40] if isinstance(v, str) else None,
)
def test_hints_outside_the_schema_are_one_line_errors(tmp_path, text, message):
    with pytest.raises(CommandError) as refused:
        hints_from_json(write(tmp_path, text), 20, 30)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


def test_hints_within_the_limits_draw_discs(tmp_path):
    points = [
        hint(),
        hint(x=0, y=0, radius=30, rgb=[0, 0, 9]),
        {"x": 29.9, "y": 19.9, "rgb": [7, 8, 9]},
    ]
    layer = hints_from_json(write(tmp_path, json.dumps(points)), 20, 30)
    assert layer.shape == (20, 30, 4)
    assert layer[0, 0].tolist() == [0, 0, 9, 255]  # the largest allowed radius: the long side
    assert layer[19, 29].tolist() == [7, 8, 9, 255]  # the default radius 3
    assert layer[5, 10].tolist() == [0, 0, 9, 255]  # the later hint paints over the earlier
    layer = hints_from_json(write(tmp_path, json.dumps([hint()] * MAX_HINTS)), 20, 30)
    assert layer[5, 10].tolist() == [255, 0, 0, 255] and layer[5, 13, 3] == 0


# ---------------------------------------------------------------------------- outputs


def test_output_equal_to_the_input_is_refused_before_any_work(photo, capsys, no_work):
    before = photo.read_bytes()
    for output in (str(photo), str(photo.parent / "." / photo.name)):
        assert cli.main(["colorize", str(photo), output]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("colorstudio: output ")
        assert "is the input" in err
    assert photo.read_bytes() == before


def test_output_linked_to_the_input_is_refused(photo, tmp_path, capsys, no_work):
    link = tmp_path / "link.png"
    link.symlink_to(photo)
    hard = tmp_path / "hard.png"
    os.link(photo, hard)
    for output in (link, hard):
        assert (
            cli.main(["stylize", str(photo), str(output), "--style", str(tmp_path / "s.png")]) == 2
        )
        assert "is the input" in capsys.readouterr().err


def test_output_equal_to_another_file_read_is_refused(photo, tmp_path, capsys, no_work):
    other = tmp_path / "other.png"
    other.write_bytes(photo.read_bytes())
    out = str(tmp_path / "out.png")
    commands = [
        ["stylize", str(photo), str(other), "--style", str(other)],
        ["colorize", str(photo), str(other), "--reference", str(other)],
        ["colorize", str(photo), str(other), "--mask", str(other)],
        ["restore", str(photo), out, "--save-mask", str(photo)],
        ["restore", str(photo), str(other), "--reference", str(other), "--colorize"],
    ]
    for argv in commands:
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is the input" in err, argv
    assert cli.main(["restore", str(photo), out, "--save-mask", out]) == 2
    assert "--save-mask " + out + " is also the output" in capsys.readouterr().err


def test_output_format_and_folder_are_checked_before_any_work(photo, tmp_path, capsys, no_work):
    assert cli.main(["colorize", str(photo), str(tmp_path / "out.gif")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot export to .gif" in err
    assert cli.main(["restore", str(photo), str(tmp_path / "o.png"), "--save-mask", "m.bmp"]) == 2
    assert "--save-mask m.bmp: cannot export to .bmp" in capsys.readouterr().err
    assert cli.main(["colorize", str(photo), str(tmp_path / "missing" / "out.png")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not list(tmp_path.glob("out*"))


def test_an_output_that_is_a_folder_or_under_a_file_is_refused_before_any_work(tmp_path, capsys):
    photo = tmp_path / "in.png"
    Image.new("RGB", (8, 8)).save(photo)
    (tmp_path / "folder.png").mkdir()
    assert cli.main(["colorize", str(photo), str(tmp_path / "folder.png")]) == 2
    assert "is a folder" in capsys.readouterr().err
    scans = tmp_path / "scans"
    scans.mkdir()
    Image.new("RGB", (8, 8)).save(scans / "a.png")
    for out in (photo, photo / "sub"):  # an existing file, and a folder below a file
        assert cli.main(["batch", "colorize", str(scans), str(out)]) == 2
        err = capsys.readouterr().err
        assert "cannot be made" in err and "Traceback" not in err


def test_hints_that_would_paint_the_image_many_times_over_are_refused(tmp_path):
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps([{"x": 5, "y": 5, "radius": 1000, "rgb": [1, 2, 3]}] * 40))
    with pytest.raises(CommandError, match="cover the image .* times over"):
        hints_from_json(hints, 1000, 1000)


def test_a_hints_file_that_is_a_pipe_is_refused_without_waiting_on_it(tmp_path):
    from colorstudio.cli_args import CommandError, hints_from_json

    fifo = tmp_path / "hints.json"
    os.mkfifo(fifo)  # opening it to read would wait for a writer forever
    with pytest.raises(CommandError, match="not a file"):
        hints_from_json(fifo, 8, 8)


def test_a_thread_count_past_any_machine_is_refused(tmp_path, capsys):
    photo = tmp_path / "in.png"
    Image.new("RGB", (8, 8)).save(photo)
    with pytest.raises(SystemExit) as caught:
        cli.main(["colorize", str(photo), str(tmp_path / "o.png"), "--threads", "1000"])
    assert caught.value.code == 2
    assert "must be 256 or less" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()


def test_a_missing_model_folder_and_a_mask_to_save_beside_a_given_one_are_refused(tmp_path, capsys):
    photo = tmp_path / "in.png"
    Image.new("RGB", (8, 8)).save(photo)
    out = str(tmp_path / "o.png")
    assert cli.main(["colorize", str(photo), out, "--models", str(tmp_path / "none")]) == 2
    assert "no such folder" in capsys.readouterr().err
    saved = str(tmp_path / "m.png")
    assert cli.main(["restore", str(photo), out, "--mask", str(photo), "--save-mask", saved]) == 2
    assert "there is none with --mask" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists() and not (tmp_path / "m.png").exists()


def test_train_and_eval_refuse_missing_data_and_a_file_as_out_before_writing(tmp_path, capsys):
    run = tmp_path / "run"
    with pytest.raises(SystemExit) as caught:
        cli.main(["train", "colorize", "--data", str(tmp_path / "none"), "--out", str(run)])
    assert caught.value.code == 2 and "no folder" in capsys.readouterr().err
    assert not run.exists()
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("RGB", (8, 8)).save(photos / "a.png")
    (photos / "0-empty.png").write_bytes(b"")  # read first: the test stops there
    taken = tmp_path / "taken.png"
    taken.write_bytes(b"x")
    assert cli.main(["eval", "colorize", str(photos), "--out", str(taken)]) == 2
    assert "is a file" in capsys.readouterr().err
    out = str(tmp_path / "ev")
    code = cli.main(["eval", "colorize", str(photos), "--out", out, "--no-strokes"])
    err = capsys.readouterr().err
    assert code == 2 and "0-empty.png is empty" in err and "unexpected" not in err
