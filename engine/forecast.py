"""Forecasts from a trained model: one step, H steps from many origins at once, past the end.

The course's ``model_forecast`` rebuilds a tf.data window pipeline and runs ``model.predict`` in
batches of 32 each time. Here the windows are cut once with numpy and fed to a ``tf.function``
traced once per model for any number of windows, which is what makes it much faster (see README,
Speed; bench/bench_training.py measures it). The values are the same to float32 rounding.

A multi-step forecast (``Forecaster.paths``) is batched across origins: every origin's window
advances together, one compiled call per step (per ``horizon`` steps for a direct model), never
a Python loop over origins. Beyond what one call gives, the model is fed its own forecasts
(recursive). ``report`` gathers what a finished run shows: the validation forecast's interval
band and coverage (engine.intervals, calibrated on the holdout slice), the rolling-origin
backtest against the naive and seasonal naive forecasts, and the forecast past the end.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.baselines import naive_paths, seasonal_naive_paths
from engine.events import Backtest, FutureForecast
from engine.intervals import covered, min_errors, step_widths
from engine.scaling import Scaler
from engine.series import Series
from engine.specs import ForecastSpec
from engine.windows import origin_windows

CHUNK = 8192  # windows per call: bounds memory on long series; the course's 461 take one call

_PREDICTORS: weakref.WeakKeyDictionary[Any, Callable[[np.ndarray], np.ndarray]] = (
    weakref.WeakKeyDictionary()
)


def predictor(model: Any) -> Callable[[np.ndarray], np.ndarray]:
    """The cached prediction function of a Keras model: windows (n, w) -> its outputs, whole
    ((n, k), or (n, w, 1) for sequence-to-sequence models), in the model's units."""
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


@dataclass(frozen=True, eq=False)
class Forecaster:
    """A trained model with the scaler it was trained with: forecasts in the series' units.

    A sequence-to-sequence model forecasts with its last step (the course's ``[:, -1, 0]``), a
    sequence-to-vector one with its outputs: one value, or ``horizon`` for a direct model.
    """

    model: Any
    scaler: Scaler

    @property
    def window(self) -> int:
        return int(self.model.input_shape[1])

    @property
    def steps_per_call(self) -> int:
        """Steps one prediction gives: a direct model's horizon, else 1."""
        shape = self.model.output_shape
        return 1 if len(shape) == 3 else int(shape[-1])

    def block(self, windows: np.ndarray) -> np.ndarray:
        """Windows (n, w) in transformed units -> the next ``steps_per_call`` values (n, k), in
        transformed units (relative windows made and undone here, for "last")."""
        rel, ref = self.scaler.relative_inputs(windows)
        out = predictor(self.model)(rel)
        out = out[:, -1, :] if out.ndim == 3 else out
        return np.asarray(self.scaler.absolute(out, ref), dtype="float64")

    def paths(self, values: np.ndarray, origins: np.ndarray, steps: int) -> np.ndarray:
        """(n, steps): from each origin o (forecasting values[o], values[o + 1], ...) with the
        ``window`` values before it, ``steps`` values ahead, in the series' units; all origins
        advance together, the model fed its own forecasts beyond one call."""
        t = self.scaler.transform(values).astype("float32")
        current = origin_windows(t, np.asarray(origins, dtype="int64"), self.window)
        out = np.empty((len(current), steps), dtype="float64")
        done = 0
        while done < steps:
            ahead = self.block(current)
            take = min(ahead.shape[1], steps - done)
            out[:, done : done + take] = ahead[:, :take]
            done += take
            if done < steps:
                grown = np.concatenate([current, ahead.astype("float32")], axis=1)
                current = np.ascontiguousarray(grown[:, -self.window :])
        return np.asarray(self.scaler.inverse(out), dtype="float64")


def validation_forecast(
    model: Any, series: Series, window: int, scaler: Scaler | None = None
) -> np.ndarray:
    """One forecast per validation point, each from the ``window`` values before it, in the
    series' units: a model trained on normalised values (``scaler``) sees them as it was
    trained, in float32 and relative to each window's last value for "last" (engine.scaling),
    and its forecasts are turned back the same way."""
    fc = Forecaster(model, scaler or Scaler())
    if fc.window != window:
        raise ValueError(f"the model takes windows of {fc.window}, not {window}")
    origins = np.arange(series.split_time, len(series))
    return fc.paths(series.values, origins, 1)[:, 0]


@dataclass(frozen=True)
class ForecastReport:
    """What a trained model shows beyond its one-step MAE (``report``)."""

    widths: np.ndarray  # interval half-widths per step ahead, from the holdout slice (may be empty)
    level: float
    lower: np.ndarray | None  # the one-step band over the validation period
    upper: np.ndarray | None
    coverage: float | None  # share of validation points inside it
    backtest: Backtest | None
    future: FutureForecast
    notes: tuple[str, ...]  # why there is no band or no backtest, when there is not


def holdout_widths(
    fc: Forecaster, series: Series, fit_end: int, steps: int, level: float
) -> np.ndarray:
    """Conformal half-widths for steps 1..``steps`` from forecasts made at every origin of the
    holdout slice (``fit_end`` to the split), each scored only on points inside the slice."""
    split = series.split_time
    origins = np.arange(fit_end, split)
    reach = min(steps, len(origins))
    if reach < 1:
        return np.empty(0)
    pred = fc.paths(series.values, origins, reach)
    v = series.values.astype("float64")
    errors = []
    for h in range(reach):
        inside = origins + h < split
        errors.append(v[origins[inside] + h] - pred[inside, h])
    return step_widths(errors, level)


def backtest(
    fc: Forecaster,
    series: Series,
    horizon: int,
    period: int | None,
    widths: np.ndarray,
    level: float | None,
) -> Backtest | None:
    """The rolling-origin backtest: ``horizon`` steps from every validation origin whose steps
    all lie in the validation period (no refitting); None when the period is shorter."""
    n, split = len(series), series.split_time
    origins = np.arange(split, n - horizon + 1)
    if not len(origins):
        return None
    v = series.values.astype("float64")
    actual = v[origins[:, None] + np.arange(horizon)[None, :]]
    pred = fc.paths(series.values, origins, horizon)

    def mae(forecast: np.ndarray) -> tuple[float, ...]:
        return tuple(float(e) for e in np.mean(np.abs(forecast - actual), axis=0))

    seasonal: tuple[float, ...] = ()
    if period is not None and period * math.ceil(horizon / period) <= split:
        seasonal = mae(seasonal_naive_paths(v, origins, horizon, period))
    reach = min(len(widths), horizon)
    coverage = tuple(covered(actual[:, h], pred[:, h], widths[h]) for h in range(reach))
    return Backtest(
        horizon=horizon,
        origins=len(origins),
        model=mae(pred),
        naive=mae(naive_paths(v, origins, horizon)),
        seasonal=seasonal,
        coverage=coverage,
        level=level if coverage else None,
    )


def future_forecast(
    fc: Forecaster, series: Series, steps: int, widths: np.ndarray, level: float
) -> FutureForecast:
    """``steps`` values past the last point of the series, with the band where it reaches."""
    n = len(series)
    values = fc.paths(series.values, np.array([n]), steps)[0]
    k = min(len(widths), steps)
    notes = []
    per_call = fc.steps_per_call
    if steps > per_call:
        how = "is fed its own forecasts" if per_call == 1 else f"forecasts {per_call} at a time"
        notes.append(f"steps {per_call + 1} to {steps} are recursive: the model {how}")
    if 0 < k < steps:
        notes.append(
            f"the {level:.0%} interval reaches step {k}: the holdout slice has too few "
            "forecasts further ahead to calibrate it"
        )
    dates = series.dates.future(steps) if series.dates is not None else ()
    return FutureForecast(
        time=tuple(float(t) for t in range(n, n + steps)),
        values=tuple(float(x) for x in values),
        lower=tuple(float(x) for x in values[:k] - widths[:k]),
        upper=tuple(float(x) for x in values[:k] + widths[:k]),
        level=level if k else None,
        dates=tuple(dates),
        notes=tuple(notes),
    )


def report(
    fc: Forecaster,
    series: Series,
    spec: ForecastSpec,
    fit_end: int,
    period: int | None,
    one_step: np.ndarray,
    future_steps: int | None = None,
    backtest_horizon: int | None = None,
) -> ForecastReport:
    """The interval band and coverage of the validation forecast ``one_step``, the backtest
    (when the horizon is above 1) and the forecast past the end, for a trained model.

    The band is calibrated on the holdout slice (``fit_end`` to the split) far enough ahead for
    the horizon and the future; without a holdout slice there is none, and a note says why.
    """
    steps = future_steps or spec.future
    horizon = backtest_horizon or spec.horizon
    held = series.split_time - fit_end
    notes: list[str] = []
    widths = np.empty(0)
    if held == 0:
        notes.append("no interval: train.holdout is 0, and intervals are calibrated on it")
    elif held < min_errors(spec.level):
        notes.append(
            f"no interval: the holdout slice has {held} points, and a {spec.level:.0%} interval "
            f"needs at least {min_errors(spec.level)}"
        )
    else:
        widths = holdout_widths(fc, series, fit_end, max(steps, horizon), spec.level)
    lower = upper = None
    coverage = None
    if len(widths):
        lower, upper = one_step - widths[0], one_step + widths[0]
        coverage = covered(series.valid, one_step, widths[0])
    tested = None
    if horizon > 1:
        tested = backtest(fc, series, horizon, period, widths, spec.level)
        if tested is None:
            notes.append(
                f"no backtest: the validation period has {len(series.valid)} points, fewer "
                f"than forecast.horizon ({horizon})"
            )
    future = future_forecast(fc, series, steps, widths, spec.level)
    return ForecastReport(widths, spec.level, lower, upper, coverage, tested, future, tuple(notes))
