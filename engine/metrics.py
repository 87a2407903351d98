"""Forecast error metrics (numpy), as the course defines them: errors = forecast - actual."""

from __future__ import annotations

import numpy as np


def mase(actual: np.ndarray, forecast: np.ndarray, train_values: np.ndarray, m: int = 1) -> float:
    """Mean absolute scaled error (Hyndman & Koehler 2006): MAE / in-sample lag-``m`` naive MAE.

    The scale is the mean of ``|train[t] - train[t - m]|`` over the training values only, so
    every forecast of one series shares one denominator and MASE < 1 means "better, on average,
    than the one-step naive forecast did in sample". seqlab scales with lag 1 (``m = 1``, the
    standard for non-seasonal MASE) everywhere, so the MASEs of runs and baselines compare.
    NaN when the scale is undefined (at most ``m`` training values, or none varies at lag m).
    """
    a = np.asarray(actual, dtype="float64")
    f = np.asarray(forecast, dtype="float64")
    t = np.asarray(train_values, dtype="float64")
    if a.shape != f.shape:
        raise ValueError(f"actual has shape {a.shape} but forecast has {f.shape}")
    if m < 1:
        raise ValueError(f"the naive lag m must be at least 1, not {m}")
    scale = float(np.mean(np.abs(t[m:] - t[:-m]))) if len(t) > m else 0.0
    if scale == 0.0:
        return float("nan")
    return float(np.mean(np.abs(f - a))) / scale


def metrics(
    actual: np.ndarray, forecast: np.ndarray, train: np.ndarray | None = None
) -> dict[str, float]:
    """MAE, MSE, RMSE and sMAPE (percent); MAPE (percent) only when no actual value is zero.

    With the training values (``train``), also MASE (lag 1, see ``mase``).
    """
    a = np.asarray(actual, dtype="float64")
    f = np.asarray(forecast, dtype="float64")
    if a.shape != f.shape:
        raise ValueError(f"actual has shape {a.shape} but forecast has {f.shape}")
    errors = f - a
    mse = float(np.mean(errors**2))
    denom = np.abs(a) + np.abs(f)
    ratio = np.divide(2 * np.abs(errors), denom, out=np.zeros_like(denom), where=denom > 0)
    out = {
        "mae": float(np.mean(np.abs(errors))),
        "mse": mse,
        "rmse": float(np.sqrt(mse)),
        "smape": float(100 * np.mean(ratio)),
    }
    if np.all(a != 0):
        out["mape"] = float(100 * np.mean(np.abs(errors / a)))
    if train is not None:
        out["mase"] = mase(a, f, train)
    return out
