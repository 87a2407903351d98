"""Prediction intervals by split conformal prediction on the holdout slice (numpy only).

The model's absolute errors on the holdout slice, one set per step ahead, calibrate the band: with
``n`` errors at step ``h`` and level ``1 - a``, the half-width is the ``ceil((n + 1)(1 - a))``-th
smallest error, which covers a new point with probability at least ``1 - a`` when errors are
exchangeable (Vovk et al.; Lei et al. 2018). Time series errors are not quite exchangeable and the
kept epoch was chosen on the same slice, so the coverage on the validation period is measured and
reported beside the nominal level rather than promised. A step with too few holdout errors for
its quantile (``n < (1 - a) / a``) gets no band.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def conformal_width(errors: np.ndarray, level: float) -> float:
    """The half-width that covers ``level`` of new points, from absolute holdout errors; NaN
    when there are too few errors for that level."""
    e = np.sort(np.abs(np.asarray(errors, dtype="float64").ravel()))
    rank = math.ceil((len(e) + 1) * level)
    if len(e) == 0 or rank > len(e):
        return math.nan
    return float(e[rank - 1])


def step_widths(errors: Sequence[np.ndarray], level: float) -> np.ndarray:
    """Half-widths per step ahead (errors[h - 1] are the h-step errors), cut at the first step
    without one: a band never resumes after a gap, so it always covers steps 1 to k."""
    widths = [conformal_width(e, level) for e in errors]
    k = next((i for i, w in enumerate(widths) if not math.isfinite(w)), len(widths))
    return np.asarray(widths[:k], dtype="float64")


def covered(actual: np.ndarray, forecast: np.ndarray, width: float | np.ndarray) -> float:
    """The share of actual values within ``forecast ± width``."""
    a, f = np.asarray(actual, dtype="float64"), np.asarray(forecast, dtype="float64")
    if a.size == 0:
        return math.nan
    return float(np.mean(np.abs(a - f) <= width))


def min_errors(level: float) -> int:
    """The fewest errors whose quantile at ``level`` is finite."""
    return math.ceil(level / (1 - level) - 1e-9)
