"""Undo as data: pure apply/revert, one drag = one step, bounded memory, structural edits."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from colorstudio.core.brush import BrushSettings, PaintMode, Stroke
from colorstudio.core.document import Document, DocumentError
from colorstudio.core.edits import (
    CompoundEdit,
    InsertNode,
    MoveNode,
    PatchEdit,
    RemoveNode,
    SetProperties,
)
from colorstudio.core.history import History
from colorstudio.core.layer import BlendMode, Reference, ReferenceRole


def make_doc(h=32, w=40):
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[..., 3] = 255
    return Document.from_rgba(rgba)


def paint_stroke(doc, target, points, color=(255, 0, 0), mode=PaintMode.PAINT, size=6.0):
    stroke = Stroke(doc.pixels_of(target), BrushSettings(size=size), mode, color)
    for x, y in points:
        stroke.add_point(x, y)
    return stroke.finish(target)


def snapshot(doc):
    return (
        [layer.pixels.copy() for layer in doc.layers],
        [m.pixels.copy() for m in doc.masks],
        doc.hint.pixels.copy(),
        [
            (layer.id, layer.name, layer.opacity, layer.visible, layer.blend_mode)
            for layer in doc.layers
        ],
    )


def same(a, b):
    return (
        all(np.array_equal(x, y) for x, y in zip(a[0], b[0], strict=True))
        and all(np.array_equal(x, y) for x, y in zip(a[1], b[1], strict=True))
        and np.array_equal(a[2], b[2])
        and a[3] == b[3]
    )


def test_patch_edit_from_arrays_keeps_only_changes():
    before = np.zeros((10, 10, 4), np.uint8)
    after = before.copy()
    after[3, 4] = 9
    edit = PatchEdit.from_arrays("t", (100, 200, 110, 210), before, after)
    assert edit.bbox == (103, 204, 104, 205)
    assert PatchEdit.from_arrays("t", (0, 0, 10, 10), before, before.copy()) is None


def test_patch_edit_apply_revert_is_pure():
    doc = make_doc()
    edit = paint_stroke(doc, doc.layers[0].id, [(5, 5), (30, 20)])
    painted = doc.layers[0].pixels.copy()
    old, new = edit.old.copy(), edit.new.copy()
    for _ in range(3):
        edit.revert(doc)
        edit.apply(doc)
    assert np.array_equal(doc.layers[0].pixels, painted)
    assert np.array_equal(edit.old, old) and np.array_equal(edit.new, new)


def test_one_drag_is_one_undo_step():
    doc = make_doc()
    history = History(doc)
    points = [(x, 10 + x % 7) for x in range(0, 40, 2)]  # 20 mouse events
    history.push(paint_stroke(doc, doc.layers[0].id, points))
    assert len(history) == 1
    history.undo()
    assert (doc.layers[0].pixels[..., :3] == 0).all()


def test_undo_redo_and_dirty_flag():
    doc = make_doc()
    history = History(doc)
    start = snapshot(doc)
    history.push(paint_stroke(doc, doc.layers[0].id, [(5, 5)]))
    mid = snapshot(doc)
    history.push(paint_stroke(doc, doc.hint.id, [(20, 20)], color=(0, 0, 255)))
    end = snapshot(doc)
    assert doc.dirty
    history.undo()
    assert same(snapshot(doc), mid)
    history.undo()
    assert same(snapshot(doc), start)
    assert not doc.dirty  # back at the saved (initial) state
    assert history.undo() is None
    history.redo()
    history.redo()
    assert same(snapshot(doc), end)
    history.set_clean()
    assert not doc.dirty
    history.undo()
    assert doc.dirty


def test_new_edit_discards_redo_tail():
    doc = make_doc()
    history = History(doc)
    history.push(paint_stroke(doc, doc.layers[0].id, [(5, 5)]))
    history.undo()
    history.push(paint_stroke(doc, doc.layers[0].id, [(30, 20)]))
    assert not history.can_redo and len(history) == 1


def test_memory_bound_drops_oldest_steps():
    doc = make_doc(64, 64)
    probe = make_doc(64, 64)
    one = paint_stroke(probe, probe.layers[0].id, [(10, 10), (50, 50)], size=20)
    history = History(doc, max_bytes=int(one.nbytes * 3.5))
    for i in range(10):
        history.push(
            paint_stroke(
                doc, doc.layers[0].id, [(10, 10 + i), (50, 50)], size=20, color=(i + 1, 0, 0)
            )
        )
    assert len(history) <= 4
    assert history.dropped >= 6
    assert history.nbytes <= history.max_bytes
    while history.can_undo:  # every remaining step still undoes cleanly
        history.undo()
    assert history.index == 0


def test_an_edit_is_undone_only_while_redo_would_bring_it_back():
    doc = make_doc(64, 64)
    probe = make_doc(64, 64)
    one = paint_stroke(probe, probe.layers[0].id, [(10, 10), (50, 50)], size=20)
    history = History(doc, max_bytes=int(one.nbytes * 2.5))
    first = paint_stroke(doc, doc.layers[0].id, [(10, 10), (50, 50)], size=20)
    history.push(first)
    assert not history.undone(first)
    history.undo()
    assert history.undone(first)
    history.redo()
    for i in range(4):  # the budget drops the oldest steps: dropped is not undone
        history.push(
            paint_stroke(
                doc, doc.layers[0].id, [(12, 10 + i), (50, 50)], size=20, color=(i + 9, 0, 0)
            )
        )
    assert history.dropped >= 1 and not history.undone(first)


def test_layer_structure_edits_are_undoable():
    doc = make_doc()
    history = History(doc)
    base_id = doc.layers[0].id
    top = doc.new_layer("Top")
    history.do(InsertNode("layers", 1, top))
    mask = doc.new_mask("Sky")
    history.do(InsertNode("masks", 0, mask, "Add mask"))
    ref = Reference("Palette", np.zeros((4, 4, 3), np.uint8), ReferenceRole.PALETTE, 0.5)
    history.do(InsertNode("references", 0, ref, "Add reference"))
    history.do(
        SetProperties.of(doc, top.id, name="Renamed", opacity=0.25, blend_mode=BlendMode.SCREEN)
    )
    history.do(SetProperties.of(doc, ref.id, role=ReferenceRole.STYLE, strength=0.9))
    history.do(MoveNode("layers", 1, 0))
    assert [layer.id for layer in doc.layers] == [top.id, base_id]
    history.do(RemoveNode.of(doc, base_id))
    assert [layer.name for layer in doc.layers] == ["Renamed"]
    assert top.opacity == 0.25 and top.blend_mode is BlendMode.SCREEN
    assert ref.role is ReferenceRole.STYLE
    history.go_to(0)
    assert [layer.id for layer in doc.layers] == [base_id]
    assert doc.masks == [] and doc.references == []
    assert top.name == "Top" and top.opacity == 1.0
    history.go_to(len(history))
    assert [layer.name for layer in doc.layers] == ["Renamed"] and doc.masks == [mask]


def test_compound_edit_undoes_in_one_step():
    doc = make_doc()
    history = History(doc)
    layer = doc.new_layer("Generated")
    insert = InsertNode("layers", 1, layer)
    insert.apply(doc)
    stroke = paint_stroke(doc, layer.id, [(10, 10)])
    history.push(CompoundEdit((insert, stroke), "Colourize"))
    history.undo()
    assert len(doc.layers) == 1
    history.redo()
    assert doc.layers[1].pixels[10, 10, 3] == 255


def test_document_refuses_wrong_sizes_and_properties():
    doc = make_doc()
    with pytest.raises(DocumentError, match="document is"):
        doc.insert("layers", 0, Document(5, 5).new_layer("x"))
    with pytest.raises(DocumentError):
        doc.insert("layers", 0, doc.new_mask("m"))
    with pytest.raises(DocumentError, match="not an editable property"):
        doc.set_properties(doc.layers[0].id, {"pixels": None})
    with pytest.raises(DocumentError):
        Document(0, 10)


def test_events_tell_listeners_what_changed():
    doc = make_doc()
    seen = []
    doc.events.pixels_changed.connect(lambda target, box: seen.append(("pixels", target, box)))
    doc.events.structure_changed.connect(lambda: seen.append(("structure",)))
    edit = paint_stroke(doc, doc.layers[0].id, [(5, 5)])
    edit.revert(doc)
    InsertNode("layers", 1, doc.new_layer("x")).apply(doc)
    assert seen[0] == ("pixels", doc.layers[0].id, edit.bbox)
    assert seen[-1] == ("structure",)


# ---------------------------------------------------------------- property tests
point = st.tuples(st.floats(-10, 50), st.floats(-10, 42))
stroke_strategy = st.tuples(
    st.sampled_from(["layer", "hint", "mask"]),
    st.lists(point, min_size=1, max_size=6),
    st.floats(1.0, 15.0),
    st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)),
    st.booleans(),
)


@settings(max_examples=40, deadline=None)
@given(strokes=st.lists(stroke_strategy, min_size=1, max_size=6), undo_count=st.integers(0, 6))
def test_undo_then_redo_restores_identical_arrays(strokes, undo_count):
    doc = make_doc()
    doc.masks.append(doc.new_mask("m"))
    history = History(doc)
    states = [snapshot(doc)]
    for target, points, size, color, erase in strokes:
        if target == "mask":
            target_id, mode = (
                doc.masks[0].id,
                PaintMode.MASK_REMOVE if erase else PaintMode.MASK_ADD,
            )
        else:
            target_id = doc.layers[0].id if target == "layer" else doc.hint.id
            mode = PaintMode.ERASE if erase else PaintMode.PAINT
        edit = paint_stroke(doc, target_id, points, color, mode, size)
        if edit is not None:
            history.push(edit)
            states.append(snapshot(doc))
    undo_count = min(undo_count, len(history))
    for _ in range(undo_count):
        history.undo()
    assert same(snapshot(doc), states[len(history) - undo_count])
    for _ in range(undo_count):
        history.redo()
    assert same(snapshot(doc), states[-1])
    history.go_to(0)
    assert same(snapshot(doc), states[0])


def test_a_save_that_ran_while_editing_marks_clean_the_state_it_saved():
    doc = make_doc()
    layer = doc.layers[0].id
    history = History(doc)
    history.do(SetProperties.of(doc, layer, name="A"))
    saved = history.state()  # the save copies the document here…
    history.do(SetProperties.of(doc, layer, name="B"))  # …and an edit lands meanwhile
    history.set_clean_at(saved)
    assert doc.dirty  # B is not in the file
    history.undo()
    assert not doc.dirty  # back at what was saved
    history.do(SetProperties.of(doc, layer, name="C"))  # the same index, another state
    history.undo()
    history.undo()
    history.do(SetProperties.of(doc, layer, name="D"))
    history.set_clean_at(saved)  # its edit is gone: no state of this history was saved
    assert doc.dirty
    history.set_clean_at(history.state())
    assert not doc.dirty


def test_a_saved_state_that_is_gone_leaves_no_clean_state_behind():
    doc = make_doc()
    layer = doc.layers[0].id
    history = History(doc)  # opened: clean at the start
    history.do(SetProperties.of(doc, layer, name="E1"))
    saved = history.state()  # saving E1…
    history.undo()  # …while the user undoes it and does something else
    history.do(SetProperties.of(doc, layer, name="E2"))
    history.set_clean_at(saved)
    history.undo()  # back at the start: the file holds E1, so this is not clean
    assert doc.dirty


def test_a_save_at_the_start_after_old_steps_were_dropped_is_clean():
    doc = make_doc()
    layer = doc.layers[0].id
    history = History(doc, max_bytes=1)  # every older step is dropped
    history.do(SetProperties.of(doc, layer, name="A"))
    history.do(SetProperties.of(doc, layer, name="B"))
    history.undo()
    assert history.index == 0 and history.dropped
    history.set_clean_at(history.state())
    assert not doc.dirty
