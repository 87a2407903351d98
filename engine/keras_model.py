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

    return {"ExpandDims": SeqlabExpandDims, "Scale": SeqlabScale}


def _keras_layer(spec: Any, name: str) -> Any:
    import keras

    layers = custom_layers()
    if isinstance(spec, ExpandDims):
        return layers["ExpandDims"](name=name)
    if isinstance(spec, Scale):
        return layers["Scale"](factor=spec.factor, name=name)
    if isinstance(spec, Bidirectional):
        inner = _keras_layer(spec.layer, f"{name}_inner")
        return keras.layers.Bidirectional(inner, merge_mode=spec.merge_mode, name=name)
    recurrent = {SimpleRNN: keras.layers.SimpleRNN, LSTM: keras.layers.LSTM, GRU: keras.layers.GRU}
    if type(spec) in recurrent:
        return recurrent[type(spec)](
            spec.units,
            activation=spec.activation,
            return_sequences=spec.return_sequences,
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


def build_model(model: ModelSpec, window: int | None = None) -> Any:
    """Builds the (uncompiled) Keras model for windows of ``window`` steps (None: any length).

    Refuses a stack the shape inference finds broken, with the same explanation the UI shows.
    """
    report = infer(model, steps=window)
    if report.problems:
        raise SeqlabError("the model cannot be built: " + " ".join(map(str, report.problems)))
    import keras

    inputs = keras.Input(shape=(window,), name="window")
    x = inputs
    for i, spec in enumerate(model.layers):
        x = _keras_layer(spec, f"{i + 1:02d}_{spec.kind}")(x)
    return keras.Model(inputs, x, name="seqlab")


def load_model(path: str | os.PathLike) -> Any:
    """Loads a saved ``.keras`` model with ``safe_mode=True`` (seqlab layers registered first)."""
    import keras

    custom_layers()
    return keras.models.load_model(path, safe_mode=True)
