"""Validation forecasts: one traced prediction over every window at once (TensorFlow, lazily).

The course's ``model_forecast`` rebuilds a tf.data window pipeline and runs ``model.predict`` in
batches of 32 each time. Here the windows are cut once with numpy and fed to a ``tf.function``
traced once per model for any number of windows, which is what makes it much faster (see README,
Speed; bench/bench_training.py measures it). The values are the same to float32 rounding.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from engine.scaling import Scaler
from engine.series import Series
from engine.windows import forecast_windows

CHUNK = 8192  # windows per call: bounds memory on long series; the course's 461 take one call

_PREDICTORS: weakref.WeakKeyDictionary[Any, Callable[[np.ndarray], np.ndarray]] = (
    weakref.WeakKeyDictionary()
)


def predictor(model: Any) -> Callable[[np.ndarray], np.ndarray]:
    """The cached prediction function of a Keras model: windows (n, w) -> its outputs, whole
    ((n, 1), or (n, w, 1) for sequence-to-sequence models), in the model's units."""
    cached = _PREDICTORS.get(model)
    if cached is not None:
        return cached
    import tensorflow as tf

    window = model.input_shape[1]

    @tf.function(input_signature=[tf.TensorSpec((None, window), tf.float32)])
    def predict(windows):
        return model(windows, training=False)

    def run(windows: np.ndarray) -> np.ndarray:
        windows = np.asarray(windows, dtype="float32")
        parts = [predict(windows[i : i + CHUNK]).numpy() for i in range(0, len(windows), CHUNK)]
        if parts:
            return np.concatenate(parts)
        return np.empty((0, *model.output_shape[1:]), dtype="float32")

    _PREDICTORS[model] = run
    return run


def forecaster(model: Any) -> Callable[[np.ndarray], np.ndarray]:
    """Windows (n, w) -> one forecast each (n,), in the model's units.

    Sequence-to-sequence models (output (n, w, 1)) forecast with their last step, as the
    course's ``[:, -1, 0]`` slice does; sequence-to-vector models (output (n, 1)) with their one
    value.
    """
    predict = predictor(model)
    seq2seq = len(model.output_shape) == 3
    return lambda windows: predict(windows)[:, -1, 0] if seq2seq else predict(windows)[:, 0]


def validation_forecast(
    model: Any, series: Series, window: int, scaler: Scaler | None = None
) -> np.ndarray:
    """One forecast per validation point, each from the ``window`` values before it, in the
    series' units: a model trained on normalised values (``scaler``) sees them as it was
    trained, in float32 and relative to each window's last value for "last" (engine.scaling),
    and its forecasts are turned back the same way."""
    scaler = scaler or Scaler()
    values = scaler.transform(series.values).astype("float32")
    windows, ref = scaler.relative_inputs(forecast_windows(values, series.split_time, window))
    return scaler.inverse(scaler.absolute(forecaster(model)(windows), ref))
