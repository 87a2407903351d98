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

from engine.series import Series
from engine.windows import forecast_windows

CHUNK = 8192  # windows per call: bounds memory on long series; the course's 461 take one call

_FORECASTERS: weakref.WeakKeyDictionary[Any, Callable[[np.ndarray], np.ndarray]] = (
    weakref.WeakKeyDictionary()
)


def forecaster(model: Any) -> Callable[[np.ndarray], np.ndarray]:
    """The cached prediction function of a Keras model: windows (n, w) -> one value each (n,).

    Sequence-to-sequence models (output (n, w, 1)) forecast with their last step, as the
    course's ``[:, -1, 0]`` slice does; sequence-to-vector models (output (n, 1)) with their one
    value.
    """
    cached = _FORECASTERS.get(model)
    if cached is not None:
        return cached
    import tensorflow as tf

    window = model.input_shape[1]
    seq2seq = len(model.output_shape) == 3

    @tf.function(input_signature=[tf.TensorSpec((None, window), tf.float32)])
    def predict(windows):
        out = model(windows, training=False)
        return out[:, -1, 0] if seq2seq else out[:, 0]

    def run(windows: np.ndarray) -> np.ndarray:
        windows = np.asarray(windows, dtype="float32")
        parts = [predict(windows[i : i + CHUNK]).numpy() for i in range(0, len(windows), CHUNK)]
        return np.concatenate(parts) if parts else np.empty(0, dtype="float32")

    _FORECASTERS[model] = run
    return run


def validation_forecast(model: Any, series: Series, window: int) -> np.ndarray:
    """One forecast per validation point, each from the ``window`` values before it."""
    return forecaster(model)(forecast_windows(series.values, series.split_time, window))
