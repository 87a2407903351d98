"""Layer-stack edits (engine.stack_edits), without Textual: what each does, and how they undo."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import any_layer

from engine import stack_edits
from engine.errors import EditError
from engine.shapes import Fix
from engine.specs import (
    GRU,
    LAYER_KINDS,
    LSTM,
    Bidirectional,
    Conv1D,
    Dense,
    Dropout,
    ExpandDims,
    ModelSpec,
    Recurrent,
    Scale,
    SimpleRNN,
)
from engine.stack_edits import Edit

COURSE = ModelSpec(
    (
        ExpandDims(),
        SimpleRNN(units=40, return_sequences=True),
        SimpleRNN(units=40),
        Dense(units=1),
        Scale(),
    )
)
NOT_RECURRENT = [ExpandDims(), Conv1D(), Dense(), Dropout(), Scale(), Bidirectional(Dense())]

stacks = st.lists(any_layer, min_size=1, max_size=6).map(lambda layers: ModelSpec(tuple(layers)))
recurrent_cells = st.one_of(
    st.builds(SimpleRNN, units=st.integers(1, 64), return_sequences=st.booleans()),
    st.builds(LSTM, units=st.integers(1, 64), return_sequences=st.booleans()),
    st.builds(GRU, units=st.integers(1, 64), return_sequences=st.booleans()),
)


@st.composite
def stack_and_index(draw: st.DrawFn) -> tuple[ModelSpec, int]:
    model = draw(stacks)
    return model, draw(st.integers(0, len(model.layers) - 1))


def with_layer(layer: Any) -> ModelSpec:
    """A stack with ``layer`` second (index 1)."""
    return ModelSpec((ExpandDims(), layer, Dense()))


# --- convert ------------------------------------------------------------------------------------


def test_convert_between_recurrent_kinds_keeps_every_setting():
    model = with_layer(SimpleRNN(units=12, activation="relu", return_sequences=True))
    edit = stack_edits.convert(model, 1, "gru")
    assert edit == Edit(with_layer(GRU(units=12, activation="relu", return_sequences=True)), 1)


def test_convert_keeps_units_but_not_a_recurrent_activation():
    edit = stack_edits.convert(with_layer(LSTM(units=7, activation="relu")), 1, "dense")
    assert edit.model.layers[1] == Dense(units=7)  # Dense's own default activation: linear


def test_convert_inside_bidirectional():
    model = with_layer(Bidirectional(LSTM(units=9), merge_mode="sum"))
    wrapped = stack_edits.convert(model, 1, "gru").model.layers[1]
    assert wrapped == Bidirectional(GRU(units=9), merge_mode="sum")
    # a kind Bidirectional cannot wrap comes out bare
    assert stack_edits.convert(model, 1, "dense").model.layers[1] == Dense(units=9)


def test_convert_to_the_same_kind_changes_nothing():
    model = with_layer(Bidirectional(LSTM(units=9)))
    assert stack_edits.convert(model, 1, "lstm") == Edit(model, 1)


def test_convert_without_shared_fields_gives_the_defaults():
    assert stack_edits.convert(with_layer(Conv1D()), 1, "dense").model.layers[1] == Dense()
    assert stack_edits.convert(with_layer(Dense()), 1, "expand_dims").model.layers[1] == (
        ExpandDims()
    )


def test_convert_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="unknown layer kind 'flatten'"):
        stack_edits.convert(COURSE, 1, "flatten")


@given(
    layer=st.one_of(
        recurrent_cells,
        st.builds(Dense, units=st.integers(1, 64)),
        recurrent_cells.map(Bidirectional),
    ),
    kind=st.sampled_from(["simple_rnn", "lstm", "gru", "dense"]),
)
def test_convert_keeps_units(layer, kind):
    before = layer.layer if isinstance(layer, Bidirectional) else layer
    after = stack_edits.convert(with_layer(layer), 1, kind).model.layers[1]
    after = after.layer if isinstance(after, Bidirectional) else after
    assert after.kind == kind and after.units == before.units


# --- return_sequences and Bidirectional ---------------------------------------------------------


def test_toggle_return_sequences():
    edit = stack_edits.toggle_return_sequences(COURSE, 2)
    assert edit.model.layers[2] == SimpleRNN(units=40, return_sequences=True)
    assert edit.selected == 2
    wrapped = with_layer(Bidirectional(LSTM(units=3), merge_mode="ave"))
    flipped = stack_edits.toggle_return_sequences(wrapped, 1).model.layers[1]
    assert flipped == Bidirectional(LSTM(units=3, return_sequences=True), merge_mode="ave")


@pytest.mark.parametrize("layer", NOT_RECURRENT + [Recurrent()])
def test_return_sequences_only_on_recurrent_layers(layer):
    with pytest.raises(EditError) as err:
        stack_edits.toggle_return_sequences(with_layer(layer), 1)
    assert str(err.value) == "return_sequences applies to SimpleRNN, LSTM and GRU layers."


@pytest.mark.parametrize("index", [0, 5, -1])
def test_return_sequences_needs_a_layer(index):
    with pytest.raises(EditError, match="return_sequences applies to"):
        stack_edits.toggle_return_sequences(ModelSpec((Dense(),)), index)
    with pytest.raises(EditError):
        stack_edits.toggle_return_sequences(ModelSpec(), 0)


def test_wrap_and_unwrap_bidirectional():
    wrapped = stack_edits.toggle_bidirectional(COURSE, 1)
    assert wrapped == Edit(
        dataclasses.replace(
            COURSE,
            layers=(
                ExpandDims(),
                Bidirectional(SimpleRNN(units=40, return_sequences=True)),
                *COURSE.layers[2:],
            ),
        ),
        1,
    )
    assert stack_edits.toggle_bidirectional(wrapped.model, 1) == Edit(COURSE, 1)
    # asking for what already is changes nothing
    assert stack_edits.set_bidirectional(COURSE, 1, False) == Edit(COURSE, 1)
    assert stack_edits.set_bidirectional(wrapped.model, 1, True) == wrapped


@pytest.mark.parametrize("layer", NOT_RECURRENT)
def test_bidirectional_only_wraps_recurrent_layers(layer):
    for edit in (
        lambda m: stack_edits.toggle_bidirectional(m, 1),
        lambda m: stack_edits.set_bidirectional(m, 1, True),
    ):
        with pytest.raises(EditError) as err:
            edit(with_layer(layer))
        assert str(err.value) == "Bidirectional wraps SimpleRNN, LSTM and GRU layers."


@given(cell=recurrent_cells, merge=st.sampled_from(["concat", "sum", "mul", "ave"]))
def test_toggles_twice_are_identity(cell, merge):
    for layer in (cell, Bidirectional(cell, merge_mode=merge)):
        model = with_layer(layer)
        once = stack_edits.toggle_return_sequences(model, 1)
        assert once.model != model
        assert stack_edits.toggle_return_sequences(once.model, 1) == Edit(model, 1)
    model = with_layer(cell)
    wrapped = stack_edits.toggle_bidirectional(model, 1)
    assert wrapped.model.layers[1] == Bidirectional(cell)
    assert stack_edits.toggle_bidirectional(wrapped.model, 1) == Edit(model, 1)


# --- fields -------------------------------------------------------------------------------------


def test_set_fields():
    edit = stack_edits.set_fields(COURSE, 1, {"units": 64, "activation": "relu"})
    assert edit.model.layers[1] == SimpleRNN(units=64, activation="relu", return_sequences=True)
    wrapped = with_layer(Bidirectional(LSTM()))
    edit = stack_edits.set_fields(wrapped, 1, {"units": 5}, {"merge_mode": "sum"})
    assert edit == Edit(with_layer(Bidirectional(LSTM(units=5), merge_mode="sum")), 1)


# --- insert, remove, move -----------------------------------------------------------------------


def test_insert_selects_the_new_layer():
    edit = stack_edits.insert(COURSE, 3, "lstm")
    assert edit.model.layers[3] == LSTM() and len(edit.model.layers) == 6 and edit.selected == 3
    assert stack_edits.insert(ModelSpec(), 0, "dense") == Edit(ModelSpec((Dense(),)), 0)
    appended = stack_edits.insert(COURSE, 5, "dropout")
    assert appended.model.layers[-1] == Dropout()


def test_insert_bidirectional_gives_the_default_wrapper():
    assert stack_edits.insert(COURSE, 0, "bidirectional").model.layers[0] == Bidirectional(
        LSTM(units=32)
    )


@pytest.mark.parametrize("at", [-1, 6])
def test_insert_outside_the_stack_is_refused(at):
    with pytest.raises(IndexError):
        stack_edits.insert(COURSE, at, "dense")


def test_remove_selects_the_next_layer_or_the_last():
    edit = stack_edits.remove(COURSE, 1)
    assert edit.model.layers == (ExpandDims(), *COURSE.layers[2:]) and edit.selected == 1
    last = stack_edits.remove(COURSE, 4)
    assert last.model.layers == COURSE.layers[:4] and last.selected == 3
    assert stack_edits.remove(ModelSpec((Dense(),)), 0) == Edit(ModelSpec(), 0)
    with pytest.raises(IndexError):
        stack_edits.remove(ModelSpec(), 0)


def test_move_up_and_down():
    up = stack_edits.move(COURSE, 2, -1)
    assert up.model.layers[1:3] == (COURSE.layers[2], COURSE.layers[1]) and up.selected == 1
    down = stack_edits.move(COURSE, 0, 1)
    assert down.model.layers[:2] == (COURSE.layers[1], ExpandDims()) and down.selected == 1


@pytest.mark.parametrize(("index", "delta"), [(0, -1), (4, 1), (0, 9), (3, -4)])
def test_move_past_an_end_changes_nothing(index, delta):
    assert stack_edits.move(COURSE, index, delta) == Edit(COURSE, index)
    assert stack_edits.move(ModelSpec(), 0, 1) == Edit(ModelSpec(), 0)


@given(picked=stack_and_index(), delta=st.integers(-6, 6))
def test_move_then_move_back_is_identity(picked, delta):
    model, index = picked
    moved = stack_edits.move(model, index, delta)
    assert sorted(map(repr, moved.model.layers)) == sorted(map(repr, model.layers))
    assert moved.model.layers[moved.selected] == model.layers[index]
    back = stack_edits.move(moved.model, moved.selected, index - moved.selected)
    assert back == Edit(model, index)


@given(model=stacks, data=st.data(), kind=st.sampled_from(list(LAYER_KINDS)))
def test_insert_then_remove_is_identity(model, data, kind):
    at = data.draw(st.integers(0, len(model.layers)))
    inserted = stack_edits.insert(model, at, kind)
    assert inserted.model.layers[at] == LAYER_KINDS[kind]()
    assert stack_edits.remove(inserted.model, at).model == model


# --- fixes --------------------------------------------------------------------------------------


def test_apply_fix_selects_the_fixed_layer():
    model = ModelSpec((ExpandDims(), SimpleRNN(), SimpleRNN(), Dense()))
    fix = Fix("set_return_sequences", 1, "set return_sequences on layer 2")
    edit = stack_edits.apply_fix(model, fix)
    assert edit.model.layers[1] == SimpleRNN(return_sequences=True) and edit.selected == 1
    appended = stack_edits.apply_fix(model, Fix("append_dense", 4, "add Dense 1 at the end"))
    assert appended.model.layers[-1] == Dense(units=1) and appended.selected == 4
    removed = stack_edits.apply_fix(ModelSpec((Dense(),)), Fix("remove_layer", 0, "remove"))
    assert removed == Edit(ModelSpec(), 0)


@given(picked=stack_and_index())
def test_edits_never_touch_other_layers(picked):
    model, index = picked
    for edit in (
        stack_edits.toggle_return_sequences,
        stack_edits.toggle_bidirectional,
        lambda m, i: stack_edits.convert(m, i, "dense"),
    ):
        try:
            done = edit(model, index)
        except EditError:
            continue
        others = [x for i, x in enumerate(model.layers) if i != index]
        assert [x for i, x in enumerate(done.model.layers) if i != index] == others
        assert done.selected == index
