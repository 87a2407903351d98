"""The Keras model built from a spec has exactly the inferred shapes and parameter counts, and saves
to a .keras file that loads with safe_mode=True (no Lambda layers)."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from strategies import valid_stacks

from engine.errors import SeqlabError
from engine.presets import PRESETS
from engine.shapes import infer
from engine.specs import LSTM, Bidirectional, Dense, ExpandDims, ModelSpec, Scale

pytestmark = pytest.mark.tensorflow  # every test here builds Keras models


@pytest.fixture(scope="module")
def keras():
    import keras as keras_module

    return keras_module


def assert_matches_inference(model_spec, window, keras_model):
    report = infer(model_spec, batch=None, steps=window)
    assert report.ok, report.problems
    layers = keras_model.layers[1:]  # [0] is the input
    assert len(layers) == len(report.layers)
    for layer, inferred in zip(layers, report.layers, strict=True):
        assert tuple(layer.output.shape) == inferred.output_shape, inferred.label
        assert layer.count_params() == inferred.params, inferred.label
    assert keras_model.count_params() == report.total_params
    assert tuple(keras_model.output.shape) == report.output_shape


@pytest.mark.parametrize("name", [n for n in PRESETS if n != "quiz-q8"])
@pytest.mark.parametrize("window", [20, None])
def test_presets_match_inference(keras, name, window):
    from engine.keras_model import build_model

    model = build_model(PRESETS[name].model, window)
    assert_matches_inference(PRESETS[name].model, window, model)
    assert tuple(model.input.shape) == (None, window)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(stack=valid_stacks())
def test_random_valid_stacks_match_inference(keras, stack):
    from engine.keras_model import build_model

    model_spec, _ = stack
    assert_matches_inference(model_spec, 12, build_model(model_spec, 12))


def test_broken_stack_is_refused_with_the_explanation(keras):
    from engine.keras_model import build_model

    with pytest.raises(SeqlabError) as err:
        build_model(PRESETS["quiz-q8"].model, 20)
    assert "layer 2 (Bidirectional(LSTM 32)) does not return sequences" in str(err.value)
    assert "Fix: set return_sequences on layer 2." in str(err.value)


def test_no_lambda_layers(keras):
    from engine.keras_layers import SeqlabExpandDims, SeqlabScale
    from engine.keras_model import build_model

    model = build_model(PRESETS["course-rnn"].model, 20)
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in model.layers)
    assert isinstance(model.layers[1], SeqlabExpandDims)
    assert isinstance(model.layers[-1], SeqlabScale)
    assert model.layers[-1].get_config()["factor"] == 100.0
    x = np.arange(40, dtype="float32").reshape(2, 20)
    assert model.layers[1](x).shape == (2, 20, 1)
    np.testing.assert_allclose(model.layers[-1](x), x * 100.0)


LOAD_AND_PREDICT = """
import sys
import numpy as np
from engine.keras_model import load_model
model = load_model(sys.argv[1])
np.save(sys.argv[3], model.predict(np.load(sys.argv[2]), verbose=0))
"""


# Keras 3.15 saving weights under numpy 2.4 warns about numpy's __array__ copy keyword (not ours)
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_saved_model_loads_safely_in_a_fresh_process(keras, tmp_path, python_subprocess):
    from engine.keras_model import build_model

    spec = ModelSpec(
        (
            ExpandDims(),
            Bidirectional(LSTM(units=4, return_sequences=True), merge_mode="ave"),
            LSTM(units=3),
            Dense(units=1),
            Scale(factor=100.0),
        )
    )
    model = build_model(spec, 20)
    path = tmp_path / "model.keras"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        saved = json.loads(archive.read("config.json"))
    class_names = {layer["class_name"] for layer in saved["config"]["layers"]}
    assert "Lambda" not in class_names
    # the registered names are the file format: files saved before must still load
    assert {"seqlab>SeqlabExpandDims", "seqlab>SeqlabBidirectional", "seqlab>SeqlabScale"} <= {
        layer.get("registered_name") for layer in saved["config"]["layers"]
    }

    x = np.random.default_rng(0).normal(50, 20, size=(7, 20)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    done = python_subprocess(
        LOAD_AND_PREDICT, str(path), str(tmp_path / "x.npy"), str(tmp_path / "y.npy")
    )
    assert done.returncode == 0, done.stderr[-2000:]
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), model.predict(x, verbose=0))


def _bidirectional_pair(keras, layer, merge_mode, steps, features=3):
    """seqlab's Bidirectional and Keras's own around ``layer``, holding the same weights."""
    from engine.keras_layers import SeqlabBidirectional

    ours = SeqlabBidirectional(layer, merge_mode=merge_mode)
    theirs = keras.layers.Bidirectional(
        layer.__class__.from_config(layer.get_config()), merge_mode=merge_mode
    )
    ours.build((None, steps, features))
    theirs.build((None, steps, features))
    rng = np.random.default_rng(1)
    weights = [rng.normal(0, 0.5, w.shape).astype("float32") for w in ours.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    return ours, theirs


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "ave", "mul"])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_fused_bidirectional_lstm_equals_keras(keras, monkeypatch, merge_mode, return_sequences):
    """The one-loop Bidirectional LSTM gives Keras's outputs and gradients in training (to float
    rounding), and is the path actually taken; prediction is Keras's own."""
    import tensorflow as tf

    from engine import keras_layers

    calls = []
    fused = keras_layers._fused_bidirectional_lstm
    monkeypatch.setattr(
        keras_layers, "_fused_bidirectional_lstm", lambda *a: calls.append(1) or fused(*a)
    )
    layer = keras.layers.LSTM(5, return_sequences=return_sequences)
    ours, theirs = _bidirectional_pair(keras, layer, merge_mode, steps=7)
    x = tf.constant(np.random.default_rng(2).normal(0, 1, (4, 7, 3)).astype("float32"))

    def forward_and_gradients(bi):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = bi(x, training=True)  # the fused path is for training steps
            loss = tf.reduce_sum(tf.sin(y))
        return y, tape.gradient(loss, [x, *bi.trainable_variables])

    for jit in (False, True):  # eager, and XLA as training runs it
        run = tf.function(forward_and_gradients, jit_compile=True) if jit else forward_and_gradients
        (y_ours, g_ours), (y_theirs, g_theirs) = run(ours), run(theirs)
        np.testing.assert_allclose(y_ours, y_theirs, rtol=1e-5, atol=1e-6)
        for a, b in zip(g_ours, g_theirs, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert calls, "the fused path was not taken"
    calls.clear()
    np.testing.assert_array_equal(ours(x, training=False), theirs(x, training=False))
    assert not calls, "prediction takes Keras's own path"


def test_fused_bidirectional_takes_any_window_length(keras):
    from engine.keras_model import build_model

    model = build_model(PRESETS["course-lstm-2"].model, None)
    x = np.random.default_rng(3).normal(50, 10, (2, 9)).astype("float32")
    assert model(x, training=True).shape == (2, 1)


@pytest.mark.parametrize("cell", ["gru", "simple_rnn"])
def test_other_bidirectional_cells_take_keras_path(keras, monkeypatch, cell):
    from engine import keras_layers

    monkeypatch.setattr(keras_layers, "_fused_bidirectional_lstm", None)  # would fail if called
    layer = {"gru": keras.layers.GRU, "simple_rnn": keras.layers.SimpleRNN}[cell](4)
    ours, theirs = _bidirectional_pair(keras, layer, "concat", steps=5)
    x = np.random.default_rng(4).normal(0, 1, (2, 5, 3)).astype("float32")
    np.testing.assert_allclose(ours(x), theirs(x), rtol=1e-6)


def test_unroll_applies_to_simple_rnn_layers_only(keras):
    from engine.keras_model import build_model
    from engine.specs import GRU, SimpleRNN

    spec = ModelSpec(
        (
            ExpandDims(),
            SimpleRNN(units=4, return_sequences=True),
            Bidirectional(SimpleRNN(units=3, return_sequences=True)),
            GRU(units=3, return_sequences=True),
            LSTM(units=3),
            Dense(units=1),
        )
    )

    def unrolled(model):
        recurrent = [
            getattr(layer, "forward_layer", layer)
            for layer in model.layers
            if isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional))
        ]
        return [type(layer).__name__ for layer in recurrent if layer.unroll]

    keras.utils.set_random_seed(5)
    plain = build_model(spec, 12)
    keras.utils.set_random_seed(5)
    fast = build_model(spec, 12, unroll=True)
    assert unrolled(plain) == []
    assert unrolled(fast) == ["SimpleRNN", "SimpleRNN"]
    assert unrolled(build_model(spec, None, unroll=True)) == []  # needs a known window
    x = np.random.default_rng(6).normal(0, 1, (3, 12)).astype("float32")
    np.testing.assert_allclose(fast(x), plain(x), rtol=1e-6)


@pytest.mark.parametrize("horizon", [2, 7])
def test_direct_heads_match_inference(keras, horizon):
    from engine.keras_model import build_model

    spec = ModelSpec((ExpandDims(), LSTM(units=6), Dense(units=horizon)))
    model = build_model(spec, 12, outputs=horizon)
    report = infer(spec, batch=None, steps=12, outputs=horizon)
    assert report.ok and tuple(model.output.shape) == report.output_shape == (None, horizon)
    assert model.count_params() == report.total_params
    with pytest.raises(SeqlabError, match="a direct forecast needs"):
        build_model(spec, 12, outputs=horizon + 1)
