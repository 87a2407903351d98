"""Forecast error metrics (numpy), as the course defines them: errors = forecast - actual."""

from __future__ import annotations

import numpy as np


def metrics(actual: np.ndarray, forecast: np.ndarray) -> dict[str, float]:
    """MAE, MSE, RMSE and sMAPE (percent); MAPE (percent) only when no actual value is zero."""
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
    return out
