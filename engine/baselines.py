"""The course's week 1 statistical forecasts of the validation period: every run's baselines."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.metrics import metrics
from engine.series import Series

MA_WINDOW = 30
DIFF_WINDOW = 50
SMOOTH_WINDOW = 10


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


def baselines(series: Series, period: int | None) -> tuple[list[Baseline], list[str]]:
    """The baselines that fit this series, and a note for each one skipped (and why)."""
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
            f"seasonal baselines: need {period + DIFF_WINDOW} training points for period "
            f"{period}, have {split}"
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
    return [Baseline(n, t, f, metrics(actual, f)) for n, t, f in made], skipped
