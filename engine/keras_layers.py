"""seqlab's own Keras layers, registered for saving; importing this module registers them.

The course's two ``Lambda`` layers become ``SeqlabExpandDims`` and ``SeqlabScale``, so a saved
``.keras`` file loads with ``safe_mode=True`` (no pickled Python lambdas); ``SeqlabBidirectional``
trains a Bidirectional LSTM in one loop. Saved files name each layer ``seqlab>ClassName``: the
class names and the package are part of the file format and must not change.

This module imports Keras at its top: import it only where TensorFlow is needed (the model
builder and loader in engine.keras_model, training), never at the app's or the CLI's start.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="seqlab")
class SeqlabExpandDims(keras.layers.Layer):
    """(batch, steps) -> (batch, steps, 1): the course's ``Lambda(expand_dims)``."""

    def call(self, inputs: Any) -> Any:
        return keras.ops.expand_dims(inputs, axis=-1)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return (*input_shape, 1)


@keras.saving.register_keras_serializable(package="seqlab")
class SeqlabScale(keras.layers.Layer):
    """Multiplies by a constant: the course's ``Lambda(x * 100.0)``."""

    def __init__(self, factor: float = 100.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.factor = float(factor)

    def call(self, inputs: Any) -> Any:
        return inputs * self.factor

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor}


@keras.saving.register_keras_serializable(package="seqlab")
class SeqlabBidirectional(keras.layers.Bidirectional):
    """Keras's ``Bidirectional``, with both directions of an LSTM advanced in one loop.

    Keras runs a Bidirectional LSTM without cuDNN as two recurrent loops, one per direction, each
    multiplying its input by the kernel inside every step (Keras 3 leaves its fused bidirectional
    hook unimplemented on TensorFlow); under XLA on a CPU those loops are most of an epoch. Here
    the input projection of every step and both directions is one matmul before the loop, and
    each step advances both directions with one batched matmul: the same weights and the same
    arithmetic order, so the outputs equal Keras's to float rounding (tests/test_keras_model.py),
    and epochs are faster (see README, Speed; bench/bench_training.py). Anything else (masks,
    initial states, dropout, other cells) takes Keras's own path.
    """

    def call(
        self,
        sequences: Any,
        initial_state: Any = None,
        mask: Any = None,
        training: bool | None = None,
    ) -> Any:
        # Training only: predicting hundreds of windows at once, outside XLA, is faster as
        # Keras's two loops side by side (see README, Speed), and a forecast then matches
        # Keras's exactly.
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


def _fused_bidirectional_lstm(layer: Any, sequences: Any) -> Any:
    """Both directions of a Bidirectional LSTM in one ``tf.while_loop``; see SeqlabBidirectional.

    Direction k (0 forward, 1 backward over the reversed sequence) follows Keras's LSTMCell
    (implementation 2) exactly: z = x·W + h·U + b, gates i, f, c̃, o in that order.
    """
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

    def step(t: Any, h: Any, c: Any, *outputs: Any) -> tuple[Any, ...]:
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
