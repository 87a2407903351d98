"""Windows cut from a series with numpy, identical to the course's tf.data ``windowed_dataset``.

Made once as arrays (strided views copied to contiguous float32), so training can cache them instead
of rebuilding a tf.data pipeline every epoch.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _windows(values: np.ndarray, size: int) -> np.ndarray:
    values = np.asarray(values, dtype="float32")
    if len(values) < size:
        return np.empty((0, size), dtype="float32")
    return np.ascontiguousarray(sliding_window_view(values, size))


def seq2vec_windows(values: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Features (n, window) and labels (n,): each window of ``window`` values and the next value."""
    w = _windows(values, window + 1)
    return w[:, :-1].copy(), w[:, -1].copy()


def direct_windows(values: np.ndarray, window: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Features (n, window) and labels (n, horizon): each window and the ``horizon`` values after
    it, for a direct multi-step model; horizon 1 gives ``seq2vec_windows``'s labels as a column."""
    w = _windows(values, window + horizon)
    return w[:, :window].copy(), w[:, window:].copy()


def origin_windows(values: np.ndarray, origins: np.ndarray, window: int) -> np.ndarray:
    """The ``window`` values before each origin (n, window): what a forecast made at that point
    sees. Origins must be from ``window`` to ``len(values)``."""
    values = np.asarray(values)
    origins = np.asarray(origins, dtype="int64")
    if len(origins) and (origins.min() < window or origins.max() > len(values)):
        raise ValueError(
            f"origins must be from window ({window}) to len(values) ({len(values)}), "
            f"not {origins.min()} to {origins.max()}"
        )
    index = origins[:, None] - window + np.arange(window)[None, :]
    return np.ascontiguousarray(values[index])


def seq2seq_windows(values: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Features (n, window) and labels (n, window): labels are the window shifted on by one step."""
    w = _windows(values, window + 1)
    return w[:, :-1].copy(), w[:, 1:].copy()


def forecast_windows(values: np.ndarray, split_time: int, window: int) -> np.ndarray:
    """The windows over ``series[split - window : -1]``, one per validation point (course: 461).

    Window ``i`` holds the ``window`` values before validation point ``i``.
    """
    values = np.asarray(values)
    if not window <= split_time < len(values):
        # a negative start would silently wrap around to the end of the series
        raise ValueError(
            f"split_time must be from window ({window}) to len(values) - 1 ({len(values) - 1}), "
            f"not {split_time}"
        )
    return _windows(values[split_time - window : -1], window)


def holdout_points(holdout: float, train_points: int) -> int:
    """How many of the last training points ``train.holdout`` keeps out of fitting.

    A value below 1 is a fraction of the training period (rounded, at least one point when it is
    above 0); a value of 1 or more is the number of points itself.
    """
    if holdout <= 0:
        return 0
    if holdout < 1:
        return max(1, round(holdout * train_points))
    return int(holdout)
