"""Model spec -> Keras model, and loading a saved model.

The course's ``Lambda`` layers are built as seqlab's registered layers (engine.keras_layers), so
a saved ``.keras`` file loads with ``safe_mode=True``: no pickled Python lambdas. Keras is imported
inside the functions, so importing this module loads no TensorFlow.
"""

from __future__ import annotations

import os
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


def _keras_layer(spec: Any, name: str, unroll: bool) -> Any:
    import keras

    from engine import keras_layers

    if isinstance(spec, ExpandDims):
        return keras_layers.SeqlabExpandDims(name=name)
    if isinstance(spec, Scale):
        return keras_layers.SeqlabScale(factor=spec.factor, name=name)
    if isinstance(spec, Bidirectional):
        inner = _keras_layer(spec.layer, f"{name}_inner", unroll)
        return keras_layers.SeqlabBidirectional(inner, merge_mode=spec.merge_mode, name=name)
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


def build_model(
    model: ModelSpec, window: int | None = None, unroll: bool = False, outputs: int = 1
) -> Any:
    """Builds the (uncompiled) Keras model for windows of ``window`` steps (None: any length).

    ``unroll`` unrolls the SimpleRNN layers (Keras's ``unroll=True``; needs a known window): the
    trainer asks for it for short windows under XLA, where it makes epochs much faster
    (engine.training.UNROLL_MAX_STEPS). LSTM and GRU are never unrolled: their unrolled steps take
    far too long to compile, and their epochs get slower (see README, Speed).

    Refuses a stack the shape inference finds broken, with the same explanation the UI shows;
    ``outputs`` is the values per prediction (a direct forecast's horizon, else 1).
    """
    report = infer(model, steps=window, outputs=outputs)
    if report.problems:
        raise SeqlabError("the model cannot be built: " + " ".join(map(str, report.problems)))
    import keras

    inputs = keras.Input(shape=(window,), name="window")
    x = inputs
    for i, spec in enumerate(model.layers):
        x = _keras_layer(spec, f"{i + 1:02d}_{spec.kind}", unroll and window is not None)(x)
    return keras.Model(inputs, x, name="seqlab")


def load_model(path: str | os.PathLike[str]) -> Any:
    """Loads a saved ``.keras`` model with ``safe_mode=True`` (seqlab layers registered first)."""
    import keras

    from engine import keras_layers  # noqa: F401  (importing it registers the layers)

    return keras.models.load_model(path, safe_mode=True)
