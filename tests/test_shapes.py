"""Shape and parameter inference without TensorFlow, the problems it explains and their fixes."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import any_layer, valid_stacks

from engine.presets import PRESETS
from engine.shapes import (
    SEQ2SEQ,
    SEQ2VEC,
    Fix,
    apply_fixes,
    fmt_shape,
    infer,
)
from engine.specs import (
    GRU,
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

COURSE_TOTALS = {
    "course-rnn": 4961,
    "course-lstm-1": 8769,
    "course-lstm-2": 33601,
    "course-lstm-3": 58433,
    "course-conv-lstm": 66369,
}


@pytest.mark.parametrize(("name", "total"), COURSE_TOTALS.items())
@pytest.mark.parametrize(("batch", "steps"), [(None, 20), (128, 20), (1, None), (None, None)])
def test_preset_totals_match_the_course(name, total, batch, steps):
    report = infer(PRESETS[name].model, batch=batch, steps=steps)
    assert report.ok, report.problems
    assert report.total_params == total
    assert report.mode == SEQ2VEC
    assert report.output_shape == (batch, 1)


def test_course_rnn_layer_by_layer():
    report = infer(PRESETS["course-rnn"].model, batch=128, steps=20)
    assert [(r.output_shape, r.params) for r in report.layers] == [
        ((128, 20, 1), 0),
        ((128, 20, 40), 1680),
        ((128, 40), 3240),
        ((128, 1), 41),
        ((128, 1), 0),
    ]
    assert report.input_shape == (128, 20)
    assert [r.input_shape for r in report.layers[1:]] == [
        r.output_shape for r in report.layers[:-1]
    ]


def test_bilstm_and_conv_params_match_the_course():
    lstm3 = infer(PRESETS["course-lstm-3"].model, steps=20)
    assert [r.params for r in lstm3.layers] == [0, 8704, 24832, 24832, 65, 0]
    conv = infer(PRESETS["course-conv-lstm"].model, steps=20)
    assert [r.params for r in conv.layers] == [0, 256, 33024, 33024, 65, 0]


def test_lecture_example_simple_rnn_on_4_30_1():
    report = infer(ModelSpec((SimpleRNN(units=3, return_sequences=True),)), 4, 30, features=1)
    layer = report.layers[0]
    assert layer.input_shape == (4, 30, 1)
    assert layer.output_shape == (4, 30, 3)
    assert layer.params == 3 * (1 + 3 + 1)
    assert fmt_shape(layer.output_shape) == "(4, 30, 3)"


def test_unknown_steps_are_none():
    report = infer(PRESETS["course-rnn"].model, batch=32, steps=None)
    assert [r.output_shape for r in report.layers] == [
        (32, None, 1),
        (32, None, 40),
        (32, 40),
        (32, 1),
        (32, 1),
    ]
    assert fmt_shape(report.layers[0].output_shape) == "(32, None, 1)"
    assert fmt_shape(None) == "?"


def test_gru_conv_dense_dropout_scale_params():
    model = ModelSpec(
        (
            ExpandDims(),
            Conv1D(filters=8, kernel_size=5, strides=2, padding="valid"),
            GRU(units=4, return_sequences=True),
            Dense(units=3),
            Dropout(rate=0.1),
            Bidirectional(GRU(units=2), merge_mode="sum"),
            Dense(units=1),
            Scale(factor=2.0),
        )
    )
    report = infer(model, batch=2, steps=21)
    assert report.ok
    assert [(r.output_shape, r.params) for r in report.layers] == [
        ((2, 21, 1), 0),
        ((2, 9, 8), 5 * 1 * 8 + 8),  # (21 - 5) // 2 + 1 = 9 steps
        ((2, 9, 4), 3 * 4 * (8 + 4 + 2)),  # Keras 3 GRU: reset_after, two biases
        ((2, 9, 3), 4 * 3 + 3),  # Dense at every step
        ((2, 9, 3), 0),
        ((2, 2), 2 * 3 * 2 * (3 + 2 + 2)),  # 'sum' keeps the width
        ((2, 1), 3),
        ((2, 1), 0),
    ]


@pytest.mark.parametrize(
    ("padding", "steps", "strides", "out"),
    [("causal", 20, 1, 20), ("same", 20, 3, 7), ("causal", 20, 3, 7), ("valid", 20, 3, 6)],
)
def test_conv_steps(padding, steps, strides, out):
    conv = Conv1D(filters=2, kernel_size=5, strides=strides, padding=padding)
    report = infer(ModelSpec((ExpandDims(), conv)), steps=steps)
    assert report.layers[1].output_shape == (None, out, 2)


# --- the quiz's question 8 and other stacks that cannot work -------------------------------------


def test_quiz_q8_names_both_layers_why_and_the_fix():
    model = PRESETS["quiz-q8"].model
    report = infer(model, batch=32, steps=20)
    assert not report.ok and report.mode is None
    [problem] = report.problems
    assert problem.index == 2
    assert problem.message.startswith("Layer 3 (Bidirectional(LSTM 32)) receives (32, 64)")
    assert "because layer 2 (Bidirectional(LSTM 32)) does not return sequences" in problem.message
    assert "one vector per window, not a sequence" in problem.message
    assert problem.fix == Fix("set_return_sequences", 1, "set return_sequences on layer 2")
    assert str(problem).endswith("Fix: set return_sequences on layer 2.")

    fixed = apply_fixes(model)
    assert fixed.layers[1] == Bidirectional(LSTM(units=32, return_sequences=True))
    assert fixed == PRESETS["course-lstm-2"].model
    after = infer(fixed, batch=32, steps=20)
    assert after.ok and after.total_params == 33601 and after.mode == SEQ2VEC


def test_plain_recurrent_layers_without_return_sequences():
    model = ModelSpec((ExpandDims(), SimpleRNN(units=5), GRU(units=4), Dense(units=1)))
    [problem] = infer(model, steps=20).problems
    assert "Layer 3 (GRU 4) receives (None, 5)" in problem.message
    assert "layer 2 (SimpleRNN 5) does not return sequences" in problem.message
    assert apply_fixes(model).layers[1] == SimpleRNN(units=5, return_sequences=True)
    assert infer(apply_fixes(model), steps=20).ok


def test_conv_after_collapsed_recurrent_layer():
    model = ModelSpec((ExpandDims(), LSTM(units=4), Conv1D(filters=2), LSTM(units=3), Dense()))
    problems = infer(model, steps=20).problems
    assert problems[0].message.startswith("Layer 3 (Conv1D 2 k3 s1 causal) receives (None, 4)")
    assert problems[0].fix.action == "set_return_sequences"
    assert infer(apply_fixes(model), steps=20).ok


def test_missing_expand_dims():
    model = ModelSpec((LSTM(units=4), Dense(units=1)))
    [problem] = infer(model, steps=20).problems
    assert "Layer 1 (LSTM 4) receives (None, 20): plain values with no feature axis" in str(problem)
    assert problem.fix == Fix("insert_expand_dims", 0, "insert ExpandDims as layer 1")
    fixed = apply_fixes(model)
    assert fixed.layers[0] == ExpandDims()
    assert infer(fixed, steps=20).total_params == 4 * 4 * (1 + 4 + 1) + 5


def test_expand_dims_in_the_wrong_place():
    model = ModelSpec((ExpandDims(), LSTM(units=2, return_sequences=True), ExpandDims(), Dense()))
    [problem] = infer(model, steps=20).problems
    assert "Layer 3 (ExpandDims) receives (None, 20, 2), which already has a feature axis" in (
        problem.message
    )
    assert problem.fix.action == "remove_layer"
    assert infer(apply_fixes(model), steps=20).ok


def test_more_than_one_value_per_prediction():
    model = ModelSpec((ExpandDims(), LSTM(units=2), Dense(units=3)))
    [problem] = infer(model, steps=20).problems
    assert "ends with 3 values per prediction" in problem.message
    assert apply_fixes(model).layers[-1] == Dense(units=1)
    assert infer(apply_fixes(model), steps=20).ok


def test_valid_conv_too_short():
    conv = Conv1D(filters=2, kernel_size=9, padding="valid")
    model = ModelSpec((ExpandDims(), conv, LSTM(units=2), Dense()))
    [problem] = infer(model, steps=8).problems
    assert "needs at least 9 steps with 'valid' padding but receives 8" in problem.message
    assert infer(model, steps=9).ok


@pytest.mark.parametrize(
    "conv", [Conv1D(filters=2, strides=2), Conv1D(filters=2, kernel_size=3, padding="valid")]
)
def test_seq2seq_output_must_keep_every_step(conv):
    """Sequence-to-sequence labels have one value per input step; fewer output steps can't train."""
    model = ModelSpec((ExpandDims(), conv, LSTM(units=2, return_sequences=True), Dense()))
    report = infer(model, steps=20)
    [problem] = report.problems
    assert problem.message.startswith("The model outputs ")
    assert "steps per window but sequence-to-sequence labels have 20" in problem.message
    assert infer(model, steps=None).ok  # unknown steps: nothing to compare yet
    collapsed = ModelSpec((ExpandDims(), conv, LSTM(units=2), Dense()))
    assert infer(collapsed, steps=20).ok  # sequence-to-vector: one label per window


def test_dense_on_raw_windows_of_unknown_length():
    model = ModelSpec((Dense(units=3), Dense(units=1)))
    assert infer(model, steps=20).total_params == 20 * 3 + 3 + 4
    [problem] = infer(model, steps=None).problems
    assert "a Dense layer needs a known number of features" in problem.message


def test_seq2seq_labelling():
    seq = ModelSpec(
        (
            ExpandDims(),
            LSTM(units=8, return_sequences=True),
            LSTM(units=8, return_sequences=True),
            Dense(units=1),
        )
    )
    report = infer(seq, batch=16, steps=20)
    assert report.ok and report.mode == SEQ2SEQ
    assert report.output_shape == (16, 20, 1)  # Dense applied at every step
    assert report.layers[-1].params == 9
    last_off = dataclasses.replace(seq.layers[2], return_sequences=False)
    vec = infer(ModelSpec((*seq.layers[:2], last_off, Dense(units=1))), batch=16, steps=20)
    assert vec.ok and vec.mode == SEQ2VEC and vec.output_shape == (16, 1)


def test_no_layers():
    report = infer(ModelSpec(()), steps=20)
    assert not report.ok and report.total_params is None and report.mode is None
    assert report.problems[0].message == "The model has no layers. Add at least one, e.g. Dense 1."


@pytest.mark.parametrize(
    ("layer", "path", "allowed"),
    [
        (Dense(units=0), "model.layers[1].units", "a whole number from 1 to 65,536"),
        (LSTM(units=-2), "model.layers[1].units", "a whole number from 1 to 4,096"),
        (SimpleRNN(units=0), "model.layers[1].units", "a whole number from 1 to 4,096"),
        (Conv1D(filters=0), "model.layers[1].filters", "a whole number from 1 to 4,096"),
        (Conv1D(kernel_size=0), "model.layers[1].kernel_size", "a whole number from 1 to 1,024"),
        (Conv1D(strides=-1), "model.layers[1].strides", "a whole number from 1 to 1,024"),
        (Bidirectional(GRU(units=0)), "model.layers[1].layer.units", "from 1 to 4,096"),
        (Dropout(rate=1.0), "model.layers[1].rate", "a number from 0 to 0.95"),
    ],
)
def test_non_positive_sizes_are_reported(layer, path, allowed):
    report = infer(ModelSpec((ExpandDims(), layer, Dense())), batch=4, steps=20)
    assert not report.ok and report.total_params is None
    [problem] = report.problems
    assert problem.index == 1
    assert problem.message.startswith("Layer 2 (")
    assert f"{path} = " in problem.message and allowed in problem.message


@dataclasses.dataclass(frozen=True)
class Flatten:
    kind = "flatten"


@pytest.mark.parametrize("layer", ["lstm", 42, Flatten(), Recurrent()])
def test_unknown_kinds(layer):
    report = infer(ModelSpec((ExpandDims(), layer, Dense())), steps=20)
    assert not report.ok
    [problem] = report.problems
    assert problem.index == 1
    assert problem.message.startswith("Layer 2 is of unknown kind ")
    assert "allowed: expand_dims, simple_rnn, lstm, gru" in problem.message


@pytest.mark.parametrize("inner", [Dense(units=2), Conv1D(), Bidirectional(LSTM()), "lstm"])
def test_bidirectional_around_a_non_recurrent_layer(inner):
    report = infer(ModelSpec((ExpandDims(), Bidirectional(inner), Dense())), steps=20)
    [problem] = report.problems
    assert problem.index == 1
    assert "in Bidirectional, which only wraps SimpleRNN, LSTM or GRU" in problem.message


# --- properties ---------------------------------------------------------------------------------


@settings(max_examples=300)
@given(
    layers=st.lists(any_layer, max_size=7),
    batch=st.one_of(st.none(), st.integers(1, 512)),
    steps=st.one_of(st.none(), st.integers(1, 64)),
)
def test_any_stack_gets_a_report_not_an_exception(layers, batch, steps):
    model = ModelSpec(tuple(layers))
    report = infer(model, batch=batch, steps=steps)
    assert len(report.layers) == len(layers)
    assert report.ok == (not report.problems)
    if report.ok:
        assert report.mode in (SEQ2VEC, SEQ2SEQ)
        assert report.total_params == sum(r.params for r in report.layers)
        assert all(r.output_shape[0] == batch for r in report.layers)
        for before, after in zip(report.layers, report.layers[1:], strict=False):
            assert after.input_shape == before.output_shape
    for problem in report.problems:
        assert problem.message and (problem.index is None or 0 <= problem.index <= len(layers))
    # applying every fix leaves no problem that has a fix (what is left needs a person)
    fixed = apply_fixes(model, batch, steps)
    assert all(p.fix is None for p in infer(fixed, batch, steps).problems)


@settings(max_examples=200)
@given(stack=valid_stacks(), batch=st.integers(1, 256), steps=st.integers(1, 64))
def test_valid_stacks_are_valid_for_any_batch_and_steps(stack, batch, steps):
    model, mode = stack
    report = infer(model, batch=batch, steps=steps)
    assert report.ok, report.problems
    assert report.mode == mode
    assert report.output_shape == ((batch, 1) if mode == SEQ2VEC else (batch, steps, 1))
    # parameter counts depend on neither the batch size nor the number of steps
    unknown = infer(model, batch=None, steps=None)
    assert unknown.ok and [r.params for r in unknown.layers] == [r.params for r in report.layers]
    assert unknown.output_shape == ((None, 1) if mode == SEQ2VEC else (None, None, 1))


@settings(max_examples=200)
@given(stack=valid_stacks(), steps=st.integers(1, 40), data=st.data())
def test_dropping_return_sequences_is_explained_and_fixed(stack, steps, data):
    """Turn off return_sequences on a recurrent layer that feeds another: the problem names the
    earlier layer, and apply_fixes restores the original stack."""
    model, _ = stack
    layers = list(model.layers)
    recurrent = [
        i for i, layer in enumerate(layers) if isinstance(layer, (Recurrent, Bidirectional))
    ]
    feeding = recurrent[:-1]  # each has a later recurrent layer
    if not feeding:
        return
    i = data.draw(st.sampled_from(feeding))
    if isinstance(layers[i], Bidirectional):
        layers[i] = dataclasses.replace(
            layers[i], layer=dataclasses.replace(layers[i].layer, return_sequences=False)
        )
    else:
        layers[i] = dataclasses.replace(layers[i], return_sequences=False)
    broken = ModelSpec(tuple(layers))
    report = infer(broken, steps=steps)
    first = report.problems[0]
    assert first.fix.action == "set_return_sequences" and first.fix.index == i
    assert f"because layer {i + 1} (" in first.message
    assert apply_fixes(broken, steps=steps) == model


def test_a_direct_forecast_needs_a_last_dense_of_horizon_units_with_a_one_key_fix():
    model = ModelSpec((ExpandDims(), LSTM(units=4), Dense(units=1)))
    [problem] = infer(model, steps=20, outputs=5).problems
    assert "ends with 1 values per prediction, but a direct forecast needs 5" in problem.message
    assert problem.fix is not None and problem.fix.action == "set_dense_units"
    assert problem.index == 2 and "set layer 3 to Dense 5" in problem.fix.description
    fixed = apply_fixes(model, steps=20, outputs=5)
    assert fixed.layers[-1] == Dense(units=5)
    report = infer(fixed, steps=20, outputs=5)
    assert report.ok and report.output_shape == (None, 5)
    # a one-step model with a 5-unit head gets the old problem and fix
    assert infer(fixed, steps=20).problems[0].fix.action == "append_dense"


def test_a_direct_forecast_after_a_non_dense_layer_appends_one():
    model = ModelSpec((ExpandDims(), LSTM(units=4), Dense(units=1), Scale()))
    [problem] = infer(model, steps=20, outputs=3).problems
    assert problem.fix is not None and problem.fix.action == "append_dense"
    assert apply_fixes(model, steps=20, outputs=3).layers[-1] == Dense(units=3)


def test_a_direct_forecast_needs_a_sequence_to_vector_model():
    model = ModelSpec((ExpandDims(), LSTM(units=4, return_sequences=True), Dense(units=3)))
    problems = infer(model, steps=20, outputs=3).problems
    assert any("needs one vector per window" in p.message for p in problems)


def test_the_experiment_decides_the_outputs():
    from engine.shapes import forecast_outputs, infer_experiment
    from engine.specs import Experiment, ForecastSpec

    direct = ForecastSpec(horizon=4, strategy="direct")
    assert forecast_outputs(direct) == 4
    assert forecast_outputs(ForecastSpec(horizon=4)) == 1  # recursive: a one-step model
    exp = Experiment(
        model=ModelSpec((ExpandDims(), LSTM(units=4), Dense(units=4))), forecast=direct
    )
    assert infer_experiment(exp).ok
