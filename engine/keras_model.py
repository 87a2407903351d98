"""Model spec -> Keras model for training; the trained model -> a portable one; loading either.

Training uses seqlab's registered layers (engine.keras_layers): the course's ``Lambda`` layers
without pickled lambdas, and a Bidirectional LSTM that trains in one loop. What a run saves is
``portable_model``: only Keras's own layers, the normalisation inside, so ``model.keras`` loads
with plain ``keras.saving.load_model(path)`` wherever Keras is installed, seqlab or not, and takes
and returns values in the series' units. Keras is imported inside the functions, so importing
this module loads no TensorFlow.
"""

from __future__ import annotations

import os
from typing import Any

from engine.errors import SeqlabError
from engine.scaling import Scaler
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
    (engine.fit_settings.UNROLL_MAX_STEPS). LSTM and GRU are never unrolled: their unrolled
    steps take far too long to compile, and their epochs get slower (see README, Speed).

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


def portable_model(trained: Any, model: ModelSpec, scaler: Scaler) -> Any:
    """The trained model with its weights, rebuilt from Keras's own layers, in series units.

    Windows (batch, window) of raw values go in; the model's outputs come out in the series'
    units: (batch, k) values, or (batch, window, 1) for a sequence-to-sequence model. Inside, in
    order: ``normalise`` (``Rescaling``: (x - offset) / scale, the scale a power of two so this
    is exactly engine.scaling's arithmetic in float32), for "last" ``relative`` (each window minus
    its last value, picked by ``Cropping1D``), the layers of the spec under their training names
    (``Reshape`` for ExpandDims, ``Rescaling`` for Scale, Keras's ``Bidirectional`` for seqlab's,
    no unrolling), then the last value added back (``absolute``) and ``denormalise``.
    """
    import keras

    trained_layers = _layers_by_name(trained)
    window = int(trained.input_shape[1])
    inputs = keras.Input(shape=(window,), name="window")
    x = inputs
    if scaler.kind != "none":
        s = scaler.scale
        x = keras.layers.Rescaling(1 / s, offset=-scaler.offset / s, name="normalise")(x)
    last: tuple[Any, Any] | None = None  # each window's last value: (b, 1, 1) and (b, 1)
    if scaler.kind == "last":
        steps = keras.layers.Reshape((window, 1), name="steps")(x)
        picked = keras.layers.Cropping1D((window - 1, 0), name="last_step")(steps)
        last = (picked, keras.layers.Flatten(name="last_value")(picked))
        x = keras.layers.Subtract(name="relative")([x, last[1]])
    for i, spec in enumerate(model.layers):
        name = f"{i + 1:02d}_{spec.kind}"
        layer = _portable_layer(spec, name, x)
        x = layer(x)
        layer.set_weights(trained_layers[name].get_weights())
    if last is not None:
        x = keras.layers.Add(name="absolute")([x, last[0] if len(x.shape) == 3 else last[1]])
    if scaler.kind != "none":
        x = keras.layers.Rescaling(scaler.scale, offset=scaler.offset, name="denormalise")(x)
    return keras.Model(inputs, x, name="seqlab")


def _layers_by_name(model: Any) -> dict[str, Any]:
    """Every layer of a model by name, those of models nested in it included."""
    found: dict[str, Any] = {}
    for layer in model.layers:
        found[layer.name] = layer
        if hasattr(layer, "layers"):
            found.update(_layers_by_name(layer))
    return found


def _portable_layer(spec: Any, name: str, x: Any) -> Any:
    """The Keras layer of one spec for the portable model (``x``: its input)."""
    import keras

    if isinstance(spec, ExpandDims):
        return keras.layers.Reshape((*x.shape[1:], 1), name=name)
    if isinstance(spec, Scale):
        return keras.layers.Rescaling(spec.factor, name=name)
    if isinstance(spec, Bidirectional):
        inner = _keras_layer(spec.layer, f"{name}_inner", unroll=False)
        return keras.layers.Bidirectional(inner, merge_mode=spec.merge_mode, name=name)
    return _keras_layer(spec, name, unroll=False)


def load_model(path: str | os.PathLike[str]) -> Any:
    """Loads a saved ``.keras`` model with ``safe_mode=True``. Portable models need nothing
    more; seqlab's layers are registered first for run folders saved before them."""
    import keras

    from engine import keras_layers  # noqa: F401  (importing it registers the layers)

    return keras.models.load_model(path, safe_mode=True)
