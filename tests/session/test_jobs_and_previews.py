"""The session layer without Qt: jobs keep what they were made for; previews know their inputs."""

import numpy as np
from PIL import Image

from colorstudio.core.document import Document
from colorstudio.core.edits import SetProperties
from colorstudio.core.history import History
from colorstudio.core.layer import BlendMode, Reference
from colorstudio.session.generate import GenerateSettings, Mode, engine_name
from colorstudio.session.jobs import JobBook, JobKind, JobState
from colorstudio.session.preview import InputTracker, default_mode, is_monochrome
from colorstudio.session.tools import Tool, ToolController, ToolState


def grey_doc(rng) -> Document:
    grey = rng.integers(0, 256, (40, 60, 1), dtype=np.uint8)
    rgba = np.dstack([grey, grey, grey, np.full((40, 60, 1), 255, np.uint8)])
    return Document.from_rgba(rgba)


def test_a_result_for_a_document_no_longer_open_is_an_orphan(rng):
    book = JobBook()
    first, second = grey_doc(rng), grey_doc(rng)
    job = book.new(JobKind.APPLY, first, target_layer_id="abc", as_new_layer=True)
    progress = book.message(job.id, JobState.PROGRESS, first, (0.5, "tile"))
    assert progress is not None and not progress.orphan and book.get(job.id) is job
    done = book.message(job.id, JobState.FINISHED, second, "result")
    assert done.orphan and done.job.target_layer_id == "abc" and done.job.as_new_layer
    assert book.get(job.id) is None  # a final state ends the job…
    assert book.message(job.id, JobState.FINISHED, second) is None  # …once


def paint_hint(doc, history, x0, x1):
    controller = ToolController(doc, history, ToolState(tool=Tool.HINT, color=(200, 30, 30)))
    controller.press(x0, 10)
    controller.move(x1, 12)
    controller.release(x1, 12)


def test_previews_read_hints_masks_references_and_settings_not_raster_layers(rng):
    doc = grey_doc(rng)
    history = History(doc)
    tracker = InputTracker(doc)
    raster_changes = []
    tracker.raster_changed.connect(lambda: raster_changes.append(1))
    settings = GenerateSettings(mode=Mode.COLORIZE)
    before = tracker.inputs(settings, None)
    layer = doc.layers[0]
    history.do(SetProperties.of(doc, layer.id, opacity=0.5, blend_mode=BlendMode.MULTIPLY))
    assert tracker.inputs(settings, None) == before and raster_changes  # no new preview
    paint_hint(doc, history, 5, 30)
    after_hint = tracker.inputs(settings, None)
    assert after_hint != before  # a hint stroke asks for one
    history.undo()
    assert tracker.inputs(settings, None) != after_hint  # and so does undoing it
    settings.strength = 0.5
    assert tracker.inputs(settings, None) != after_hint
    reach_before = tracker.inputs(settings, None)
    settings.hint_reach = "photo"
    assert tracker.inputs(settings, None) != reach_before  # the reach changes the preview
    before_reference = tracker.inputs(settings, None)
    adjust_before = tracker.inputs(GenerateSettings(mode=Mode.ADJUST), None)
    doc.references.append(Reference("palette", rng.integers(0, 256, (4, 4, 3), np.uint8)))
    doc.events.structure_changed.emit()
    assert tracker.inputs(settings, None) != before_reference  # a palette is an input
    style_only = GenerateSettings(mode=Mode.ADJUST)
    assert tracker.inputs(style_only, None) == adjust_before  # Adjust reads no palette
    adjust = GenerateSettings(mode=Mode.ADJUST)
    adjusted = tracker.inputs(adjust, None)
    paint_hint(doc, history, 10, 40)
    assert tracker.inputs(adjust, None) == adjusted  # Adjust does not read hints


def test_the_default_mode_fits_the_photo(rng):
    _yy, xx = np.mgrid[0:64, 0:96]
    grey = (40 + xx * 2).clip(0, 255).astype(np.uint8)
    photo = np.dstack([grey, grey, grey])
    sepia = np.asarray(Image.fromarray(grey).convert("RGB")).astype(np.float32)
    sepia = (sepia * [1.0, 0.9, 0.75] + [14, 8, 0]).clip(0, 255).astype(np.uint8)  # a print
    color = np.zeros((64, 96, 3), np.uint8)
    color[:32] = [200, 40, 40]
    color[32:, :48] = [30, 160, 60]
    color[32:, 48:] = [40, 60, 200]
    assert is_monochrome(photo) and is_monochrome(sepia) and not is_monochrome(color)
    assert default_mode(sepia) is Mode.COLORIZE and default_mode(color) is Mode.RECOLOR


def test_preview_size_mirrors_follow_strokes_where_they_paint(rng):
    from colorstudio.session.preview_cache import CompositeCache, shrink

    rgba = np.dstack([rng.integers(0, 256, (333, 517, 3), dtype=np.uint8),
                      np.full((333, 517, 1), 255, np.uint8)])  # fmt: skip
    doc = Document.from_rgba(rgba)
    history = History(doc)
    cache = CompositeCache(doc)
    size = (201, 129)  # a ratio that is not a whole number
    assert cache.node(doc.hint.id, size)[..., 3].max() == 0
    controller = ToolController(doc, history, ToolState(tool=Tool.HINT, color=(250, 20, 20)))
    for x0, y0 in ((13, 40), (300, 200), (480, 310)):
        controller.press(x0, y0)
        controller.move(x0 + 30, y0 + 9)
        controller.release(x0 + 30, y0 + 9)
        mirrored = cache.node(doc.hint.id, size).astype(int)
        fresh = shrink(doc.hint.pixels, size).astype(int)
        assert np.abs(mirrored - fresh).max() <= 1  # as if shrunk anew, region by region
    history.undo()
    assert (
        np.abs(cache.node(doc.hint.id, size).astype(int) - shrink(doc.hint.pixels, size)).max() <= 1
    )
    photo = cache.at(size)
    assert photo.shape == (129, 201, 3)
    assert np.abs(photo.astype(int) - shrink(rgba[..., :3], size)).max() <= 1


def test_every_engine_a_result_names_reads_as_words():
    """The status bar and the result layer's name say what made it, in words."""
    for engine, words in (
        ("gan", "GAN"),
        ("adain", "Style transfer"),
        ("colourize+adain", "Colourize + style transfer"),
        ("some_new_engine", "Some new engine"),
    ):
        assert engine_name(engine) == words
