"""Statistical forecasts of the validation period, every run's baselines (numpy only).

The course's week 1 baselines (naive, moving average, seasonal differencing) and seqlab's ladder
rungs beyond them: seasonal naive and a linear autoregression on the window, the honest "is the
network worth it" baseline. Each forecasts validation point t from values before t, and nothing
is fitted on the validation period.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.metrics import metrics
from engine.series import Series
from engine.specs import WindowSpec

MA_WINDOW = 30
DIFF_WINDOW = 50
SMOOTH_WINDOW = 10
DEFAULT_WINDOW: int = WindowSpec().window


def moving_average_forecast(values: np.ndarray, window: int) -> np.ndarray:
    """forecast[i] = mean(values[i : i + window]), which forecasts values[i + window]."""
    v = np.asarray(values, dtype="float64")
    sums = np.cumsum(np.concatenate([[0.0], v]))
    return (sums[window:] - sums[:-window])[: len(v) - window] / window


@dataclass(frozen=True)
class Baseline:
    name: str
    title: str
    forecast: np.ndarray
    metrics: dict[str, float]


def naive_forecast(series: Series) -> np.ndarray:
    """Each validation value forecast as the one before it."""
    return series.values[series.split_time - 1 : -1].astype("float64")


def seasonal_naive_forecast(series: Series, period: int) -> np.ndarray:
    """Each validation value forecast as the value one period before it."""
    v, split = series.values.astype("float64"), series.split_time
    if not 1 <= period <= split:
        raise ValueError(
            f"seasonal naive: period {period} must be from 1 to the {split} training points"
        )
    return v[split - period : len(v) - period]


def naive_paths(values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """(n, horizon): from each origin, the last value before it repeated ``horizon`` times."""
    v = np.asarray(values, dtype="float64")
    last = v[np.asarray(origins, dtype="int64") - 1]
    return np.repeat(last[:, None], horizon, axis=1)


def seasonal_naive_paths(
    values: np.ndarray, origins: np.ndarray, horizon: int, period: int
) -> np.ndarray:
    """(n, horizon): step h from origin o is the value of the last season before o at the same
    phase, ``v[o + h - 1 - period * ceil(h / period)]``, so nothing at or after o is used."""
    v = np.asarray(values, dtype="float64")
    h = np.arange(1, horizon + 1)
    lag = period * np.ceil(h / period).astype("int64")
    index = np.asarray(origins, dtype="int64")[:, None] + h[None, :] - 1 - lag[None, :]
    if index.size and index.min() < 0:
        raise ValueError(f"seasonal naive: period {period} reaches before the first value")
    return v[index]


def linear_ar_fit(series: Series, window: int) -> tuple[np.ndarray, float]:
    """Weights (oldest value first) and intercept of v[t] ~ w . v[t - window : t] + b.

    Least squares over the training windows only (every target before split_time), so the
    validation period never shapes the fit. Solved on standardised values, for conditioning on
    series far from zero, and returned in the series' units.
    """
    train = series.train.astype("float64")
    if len(train) <= window:
        raise ValueError(
            f"linear autoregression: window {window} needs more than {window} training points, "
            f"has {len(train)}"
        )
    mean, std = float(train.mean()), float(train.std()) or 1.0
    z = (train - mean) / std
    inputs = np.lib.stride_tricks.sliding_window_view(z, window)[:-1]
    design = np.column_stack([inputs, np.ones(len(inputs))])
    solution = np.linalg.lstsq(design, z[window:], rcond=None)[0]
    weights = solution[:-1]
    return weights, mean * (1 - float(weights.sum())) + std * float(solution[-1])


def linear_ar_forecast(series: Series, window: int) -> np.ndarray:
    """Each validation value forecast from the ``window`` values before it, as the network does."""
    weights, intercept = linear_ar_fit(series, window)
    v, split = series.values.astype("float64"), series.split_time
    inputs = np.lib.stride_tricks.sliding_window_view(v[split - window : -1], window)
    return inputs @ weights + intercept


def ladder(series: Series, window: int, period: int | None) -> dict[str, float]:
    """Every run's yardsticks: the naive forecast's metrics, linear AR and seasonal naive.

    Keys naive_mae, naive_mse, naive_rmse, naive_smape, naive_mase, linear_mae, linear_mase, and
    snaive_mae, snaive_mase when the series has a period the training part covers. All MASEs
    share one lag-1 scale (``engine.metrics.mase``). Needs more than ``window`` training points.
    """
    actual, train = series.valid, series.train
    naive = metrics(actual, naive_forecast(series), train)
    out = {f"naive_{k}": naive[k] for k in ("mae", "mse", "rmse", "smape", "mase")}
    linear = metrics(actual, linear_ar_forecast(series, window), train)
    out |= {"linear_mae": linear["mae"], "linear_mase": linear["mase"]}
    if period is not None and period <= series.split_time:
        snaive = metrics(actual, seasonal_naive_forecast(series, period), train)
        out |= {"snaive_mae": snaive["mae"], "snaive_mase": snaive["mase"]}
    return out


def baselines(
    series: Series, period: int | None, window: int = DEFAULT_WINDOW
) -> tuple[list[Baseline], list[str]]:
    """The baselines that fit this series, and a note for each one skipped (and why).

    ``window``: the linear autoregression's inputs (give the experiment's ``window.window``).
    """
    v, split = series.values.astype("float64"), series.split_time
    actual = series.valid
    made: list[tuple[str, str, np.ndarray]] = [
        ("naive", "Naive (previous value)", naive_forecast(series))
    ]
    skipped: list[str] = []
    if split >= MA_WINDOW:
        made.append(
            (
                f"ma{MA_WINDOW}",
                f"Moving average ({MA_WINDOW})",
                moving_average_forecast(v, MA_WINDOW)[split - MA_WINDOW :],
            )
        )
    else:
        skipped.append(f"moving average: needs {MA_WINDOW} training points, has {split}")
    half = SMOOTH_WINDOW // 2
    if period is None:
        skipped.append("seasonal baselines: the series has no period")
    elif split - period - DIFF_WINDOW < 0:
        skipped.append(
            f"seasonal difference baselines: need {period + DIFF_WINDOW} training points for "
            f"period {period}, have {split}"
        )
    else:
        diff = v[period:] - v[:-period]
        diff_ma = moving_average_forecast(diff, DIFF_WINDOW)[split - period - DIFF_WINDOW :]
        past = v[split - period : -period]
        made.append(("diff_past", "Seasonal diff + MA50 + past", past + diff_ma))
        if period < half:
            # the centred window around t - period would reach past t - 1 (values not yet seen)
            skipped.append(
                f"smoothed seasonal baseline: needs a period of at least {half}, has {period}"
            )
        else:
            # forecast(t) uses mean(v[t - period - half : t - period + half]), as the course does
            smooth = moving_average_forecast(
                v[split - period - half : len(v) - period + half], SMOOTH_WINDOW
            )
            made.append(("diff_smooth", "Seasonal diff + MA50 + smoothed past", smooth + diff_ma))
    if period is not None:
        if period <= split:
            made.append(
                (
                    "snaive",
                    "Seasonal naive (one period ago)",
                    seasonal_naive_forecast(series, period),
                )
            )
        else:
            skipped.append(f"seasonal naive: needs {period} training points, has {split}")
    if split > window:
        made.append(
            (
                "linear",
                f"Linear autoregression (window {window})",
                linear_ar_forecast(series, window),
            )
        )
    else:
        skipped.append(
            f"linear autoregression: needs more than {window} training points, has {split}"
        )
    train = series.train
    return [Baseline(n, t, f, metrics(actual, f, train)) for n, t, f in made], skipped
