"""The course's own training pipeline, re-implemented for comparison only (benchmarks and tests).

As the week 3 labs do it (see ../shared/reference/course-facts.md §2): a tf.data pipeline that cuts
the windows again every epoch (``windowed_dataset``), ``Lambda`` layers for expand-dims and the
x100 scale, ``model.fit`` with Keras defaults (no XLA on a CPU), and ``model_forecast`` through
``model.predict`` in batches of 32. seqlab never imports this module; the benchmarks and the tests
(``from bench.course_pipeline import ...``) share this one copy.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def windowed_dataset(
    series: np.ndarray,
    window: int,
    batch_size: int,
    shuffle_buffer: int,
    seed: int | None = None,
    seq2seq: bool = False,
) -> Any:
    """The labs' windowed_dataset (DLAI order: shuffle the windows, then split, then batch).

    ``seed`` fixes the shuffle (the labs leave it to the global seed) so that tests can give
    seqlab and the course the same batches. ``seq2seq``: the week 4 labels, the window shifted on
    by one step, instead of the next value.
    """
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(series)
    ds = ds.window(window + 1, shift=1, drop_remainder=True)
    ds = ds.flat_map(lambda w: w.batch(window + 1))
    ds = ds.shuffle(shuffle_buffer, seed=seed)
    split = (lambda w: (w[:-1], w[1:])) if seq2seq else (lambda w: (w[:-1], w[-1]))
    ds = ds.map(split)
    return ds.batch(batch_size).prefetch(1)


def forecast_dataset(series: np.ndarray, window: int, batch_size: int = 32) -> Any:
    """What the labs' model_forecast predicts on: every window of ``window`` values, in order,
    batched, no labels."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(series)
    ds = ds.window(window, shift=1, drop_remainder=True)
    ds = ds.flat_map(lambda w: w.batch(window))
    return ds.batch(batch_size).prefetch(1)


def model_forecast(model: Any, series: np.ndarray, window: int, batch_size: int = 32) -> np.ndarray:
    """The labs' model_forecast: windows via tf.data, then ``model.predict`` in batches."""
    return model.predict(forecast_dataset(series, window, batch_size), verbose=0)


def course_forecast(model: Any, values: np.ndarray, split_time: int, window: int) -> np.ndarray:
    """The validation forecast as the labs slice it: ``series[split - window:-1]``, squeezed;
    sequence-to-sequence output keeps the last step (``[:, -1, 0]``)."""
    out = model_forecast(model, values[split_time - window : -1], window)
    return out[:, -1, 0] if out.ndim == 3 else out.squeeze(axis=-1)


def course_model(kind: str) -> Any:
    """The course's models with their Lambda layers: 'rnn' (SimpleRNN 40 x2) or 'lstm-N'."""
    import keras
    import tensorflow as tf

    layers: list[Any] = [
        keras.Input(shape=(None,)),
        keras.layers.Lambda(lambda x: tf.expand_dims(x, axis=-1)),
    ]
    if kind == "rnn":
        layers += [
            keras.layers.SimpleRNN(40, return_sequences=True),
            keras.layers.SimpleRNN(40),
        ]
    else:
        n = int(kind.split("-")[1])
        layers += [
            keras.layers.Bidirectional(keras.layers.LSTM(32, return_sequences=i < n - 1))
            for i in range(n)
        ]
    layers += [keras.layers.Dense(1), keras.layers.Lambda(lambda x: x * 100.0)]
    return keras.Sequential(layers)


def compile_course(model: Any, loss: str, learning_rate: float) -> None:
    """The course's compile: SGD with momentum 0.9, Huber or MSE, the MAE metric."""
    import keras

    model.compile(
        loss=keras.losses.Huber() if loss == "huber" else "mse",
        optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9),
        metrics=["mae"],
    )
