"""Model spec -> Keras model. The only place (with training) that imports TensorFlow, lazily.

The course's two ``Lambda`` layers become registered, serializable layers (``ExpandDims`` and
``Scale``), so a saved ``.keras`` file loads with ``safe_mode=True``: no pickled Python lambdas.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from engine.errors import SeqlabError
from engine.shapes import infer
from engine.specs import (
    GRU,
    LSTM,
    Bidirectional,
    Conv1D,
    Dense,
    Dropout,
    ExpandDims,
    ModelSpec,
    Scale,
    SimpleRNN,
)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


@cache
def custom_layers() -> dict[str, type]:
    """Defines and registers the seqlab layers (once; needs Keras, hence not at import time)."""
    import keras

    @keras.saving.register_keras_serializable(package="seqlab")
    class SeqlabExpandDims(keras.layers.Layer):
        """(batch, steps) -> (batch, steps, 1): the course's ``Lambda(expand_dims)``."""

        def call(self, inputs):
            return keras.ops.expand_dims(inputs, axis=-1)

        def compute_output_shape(self, input_shape):
            return (*input_shape, 1)

    @keras.saving.register_keras_serializable(package="seqlab")
    class SeqlabScale(keras.layers.Layer):
        """Multiplies by a constant: the course's ``Lambda(x * 100.0)``."""

        def __init__(self, factor: float = 100.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = float(factor)

        def call(self, inputs):
            return inputs * self.factor

        def compute_output_shape(self, input_shape):
            return input_shape

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    @keras.saving.register_keras_serializable(package="seqlab")
    class SeqlabBidirectional(keras.layers.Bidirectional):
        """Keras's ``Bidirectional``, with both directions of an LSTM advanced in one loop.

        Written here because Keras runs a Bidirectional LSTM without cuDNN as two recurrent
        loops, one per direction, each multiplying its input by the kernel inside every step
        (Keras 3 leaves its fused bidirectional hook unimplemented on TensorFlow). Under XLA on a
        CPU those loops are most of an epoch. Here the input projection of every step and both
        directions is one matmul before the loop, and each step advances both directions with
        one batched matmul: the same weights and the same arithmetic order, so the outputs
        equal Keras's to float rounding (tests/test_keras_model.py), and course-lstm-2 epochs
        run ~1.2-1.3x faster (bench/bench_training.py). Anything else (masks, initial states,
        dropout, other cells) takes Keras's own path.
        """

        def call(self, sequences, initial_state=None, mask=None, training=None):
            # Training only: predicting hundreds of windows at once, outside XLA, runs faster
            # as Keras's two loops side by side (measured: 17.6 against 45.8 ms for 461
            # windows of course-lstm-2), and a forecast then matches Keras's exactly.
            if training and mask is None and initial_state is None and self._fusable():
                return _fused_bidirectional_lstm(self, sequences)
            return super().call(sequences, initial_state, mask, training)

        def _fusable(self) -> bool:
            fwd, bwd = self.forward_layer, self.backward_layer
            return (
                type(fwd) is keras.layers.LSTM
                and type(bwd) is keras.layers.LSTM
                and not (self.stateful or self.return_state or fwd.unroll)
                and self.merge_mode in ("concat", "sum", "ave", "mul")
                and all(
                    c.use_bias and not c.dropout and not c.recurrent_dropout
                    for c in (fwd.cell, bwd.cell)
                )
                and fwd.cell.activation is bwd.cell.activation
                and fwd.cell.recurrent_activation is bwd.cell.recurrent_activation
            )

    return {
        "ExpandDims": SeqlabExpandDims,
        "Scale": SeqlabScale,
        "Bidirectional": SeqlabBidirectional,
    }


def _fused_bidirectional_lstm(layer: Any, sequences: Any) -> Any:
    """Both directions of a Bidirectional LSTM in one ``tf.while_loop``; see SeqlabBidirectional.

    Direction k (0 forward, 1 backward over the reversed sequence) follows Keras's LSTMCell
    (implementation 2) exactly: z = x·W + h·U + b, gates i, f, c̃, o in that order.
    """
    import tensorflow as tf

    fwd, bwd = layer.forward_layer.cell, layer.backward_layer.cell
    act, rec_act = fwd.activation, fwd.recurrent_activation

    def both(name: str) -> Any:
        return tf.stack([tf.convert_to_tensor(getattr(c, name)) for c in (fwd, bwd)])

    kernel, recurrent, bias = both("kernel"), both("recurrent_kernel"), both("bias")[:, None, :]
    x = tf.cast(sequences, layer.compute_dtype)
    steps = x.shape[1] if x.shape[1] is not None else tf.shape(x)[1]
    directions = tf.stack([x, tf.reverse(x, axis=[1])])  # (2, batch, steps, features)
    projected = tf.einsum("kbtf,kfg->tkbg", directions, kernel)  # (steps, 2, batch, 4·units)
    inputs = tf.TensorArray(x.dtype, size=steps).unstack(projected)
    zeros = tf.zeros([2, tf.shape(x)[0], fwd.units], x.dtype)

    keep = layer.return_sequences  # else no outputs array: its gradient costs two copies a step

    def step(t, h, c, *outputs):
        z = inputs.read(t) + tf.matmul(h, recurrent) + bias
        z_i, z_f, z_c, z_o = tf.split(z, 4, axis=-1)
        c = rec_act(z_f) * c + rec_act(z_i) * act(z_c)
        h = rec_act(z_o) * act(c)
        return (t + 1, h, c, *(o.write(t, h) for o in outputs))

    _, h, _, *outputs = tf.while_loop(
        lambda t, *_: t < steps,
        step,
        (0, zeros, zeros, *([tf.TensorArray(x.dtype, size=steps)] if keep else [])),
        maximum_iterations=steps,
    )
    if keep:
        out = tf.transpose(outputs[0].stack(), [1, 2, 0, 3])  # (2, batch, steps, units)
        y, y_rev = out[0], tf.reverse(out[1], axis=[1])
    else:
        y, y_rev = h[0], h[1]
    if layer.merge_mode == "concat":
        return tf.concat([y, y_rev], axis=-1)
    if layer.merge_mode == "sum":
        return y + y_rev
    if layer.merge_mode == "ave":
        return (y + y_rev) / 2
    return y * y_rev


def _keras_layer(spec: Any, name: str, unroll: bool) -> Any:
    import keras

    layers = custom_layers()
    if isinstance(spec, ExpandDims):
        return layers["ExpandDims"](name=name)
    if isinstance(spec, Scale):
        return layers["Scale"](factor=spec.factor, name=name)
    if isinstance(spec, Bidirectional):
        inner = _keras_layer(spec.layer, f"{name}_inner", unroll)
        return layers["Bidirectional"](inner, merge_mode=spec.merge_mode, name=name)
    recurrent = {SimpleRNN: keras.layers.SimpleRNN, LSTM: keras.layers.LSTM, GRU: keras.layers.GRU}
    if type(spec) in recurrent:
        return recurrent[type(spec)](
            spec.units,
            activation=spec.activation,
            return_sequences=spec.return_sequences,
            unroll=unroll and isinstance(spec, SimpleRNN),
            name=name,
        )
    if isinstance(spec, Conv1D):
        return keras.layers.Conv1D(
            spec.filters,
            spec.kernel_size,
            strides=spec.strides,
            padding=spec.padding,
            activation=spec.activation,
            name=name,
        )
    if isinstance(spec, Dense):
        return keras.layers.Dense(spec.units, activation=spec.activation, name=name)
    if isinstance(spec, Dropout):
        return keras.layers.Dropout(spec.rate, name=name)
    raise SeqlabError(f"cannot build layer of kind {getattr(spec, 'kind', spec)!r}")


def build_model(model: ModelSpec, window: int | None = None, unroll: bool = False) -> Any:
    """Builds the (uncompiled) Keras model for windows of ``window`` steps (None: any length).

    ``unroll`` unrolls the SimpleRNN layers (Keras's ``unroll=True``; needs a known window): the
    trainer asks for it for short windows under XLA, where it makes epochs ~2.5x faster (see
    engine/training.py). LSTM and GRU are never unrolled: measured at window 20, they took 33-40 s
    to compile (GRU 78 s at window 40, and slower epochs).

    Refuses a stack the shape inference finds broken, with the same explanation the UI shows.
    """
    report = infer(model, steps=window)
    if report.problems:
        raise SeqlabError("the model cannot be built: " + " ".join(map(str, report.problems)))
    import keras

    inputs = keras.Input(shape=(window,), name="window")
    x = inputs
    for i, spec in enumerate(model.layers):
        x = _keras_layer(spec, f"{i + 1:02d}_{spec.kind}", unroll and window is not None)(x)
    return keras.Model(inputs, x, name="seqlab")


def load_model(path: str | os.PathLike) -> Any:
    """Loads a saved ``.keras`` model with ``safe_mode=True`` (seqlab layers registered first)."""
    import keras

    custom_layers()
    return keras.models.load_model(path, safe_mode=True)
