"""Windows cut with numpy equal the course's tf.data ``windowed_dataset`` and ``model_forecast``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bench.course_pipeline import forecast_dataset, windowed_dataset
from engine.errors import DataError
from engine.specs import CsvSeries, Experiment, TrainSpec, WindowSpec
from engine.training import _cut_windows
from engine.windows import forecast_windows, holdout_points, seq2seq_windows, seq2vec_windows


def collect(dataset):
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in dataset], strict=True)
    return np.concatenate(xs), np.concatenate(ys)


def sorted_rows(x, y):
    """Pairs as rows (features then labels), in lexicographic order: compares shuffled sets."""
    rows = np.concatenate([x, y.reshape(len(y), -1)], axis=1)
    return rows[np.lexsort(rows.T[::-1])]


@pytest.mark.tensorflow
def test_seq2vec_equals_course_dataset(course_series):
    train = course_series.train
    x, y = seq2vec_windows(train, 20)
    assert x.shape == (980, 20) and y.shape == (980,)
    assert x.dtype == np.float32 and y.dtype == np.float32
    batches = list(windowed_dataset(train, 20, 32, 1000))
    assert len(batches) == 31  # the course's "31/31" steps per epoch
    assert batches[0][0].shape == (32, 20) and batches[0][1].shape == (32,)
    cx, cy = collect(batches)
    np.testing.assert_array_equal(sorted_rows(x, y), sorted_rows(cx, cy))


@pytest.mark.tensorflow
def test_seq2vec_unshuffled_order_matches(course_series):
    x, y = seq2vec_windows(course_series.train, 20)
    cx, cy = collect(windowed_dataset(course_series.train, 20, 128, 1))
    np.testing.assert_array_equal(x, cx)
    np.testing.assert_array_equal(y, cy)


@pytest.mark.tensorflow
def test_seq2seq_equals_course_dataset(course_series):
    train = course_series.train
    x, y = seq2seq_windows(train, 20)
    assert x.shape == (980, 20) and y.shape == (980, 20)
    cx, cy = collect(windowed_dataset(train, 20, 32, 1000, seq2seq=True))
    np.testing.assert_array_equal(sorted_rows(x, y), sorted_rows(cx, cy))
    ux, uy = collect(windowed_dataset(train, 20, 32, 1, seq2seq=True))
    np.testing.assert_array_equal(x, ux)
    np.testing.assert_array_equal(y, uy)


@pytest.mark.tensorflow
def test_forecast_windows_equal_course_model_forecast(course_series):
    values, split = course_series.values, course_series.split_time
    windows = forecast_windows(values, split, 20)
    assert windows.shape == (461, 20)
    course = np.concatenate(list(forecast_dataset(values[split - 20 : -1], 20)))
    np.testing.assert_array_equal(windows, course)
    # window i holds the 20 values before validation point i
    np.testing.assert_array_equal(windows[0], values[980:1000])
    np.testing.assert_array_equal(windows[-1], values[1440:1460])


@pytest.mark.tensorflow
@settings(max_examples=8, deadline=None)
@given(
    values=hnp.arrays(np.float32, st.integers(2, 60), elements=st.floats(-1e3, 1e3, width=32)),
    window=st.integers(1, 12),
    seq2seq=st.booleans(),
)
def test_any_series_equals_course_dataset(values, window, seq2seq):
    make = seq2seq_windows if seq2seq else seq2vec_windows
    x, y = make(values, window)
    if len(values) <= window:
        assert len(x) == 0 and len(y) == 0
        return
    cx, cy = collect(windowed_dataset(values, window, 7, 1, seq2seq=seq2seq))
    np.testing.assert_array_equal(x, cx)
    np.testing.assert_array_equal(y, cy)


# --- properties (numpy only) --------------------------------------------------------------------

series_arrays = hnp.arrays(
    np.float64, st.integers(0, 300), elements=st.floats(-1e6, 1e6, allow_nan=False)
)


@settings(max_examples=200)
@given(values=series_arrays, window=st.integers(1, 50))
def test_seq2vec_properties(values, window):
    x, y = seq2vec_windows(values, window)
    n = max(0, len(values) - window)
    assert x.shape == (n, window) and y.shape == (n,)
    assert x.dtype == y.dtype == np.float32 and x.flags.c_contiguous
    v = values.astype(np.float32)
    for i in range(n):
        np.testing.assert_array_equal(x[i], v[i : i + window])
        assert y[i] == v[i + window]


@settings(max_examples=200)
@given(values=series_arrays, window=st.integers(1, 50))
def test_seq2seq_properties(values, window):
    x, y = seq2seq_windows(values, window)
    n = max(0, len(values) - window)
    assert x.shape == y.shape == (n, window)
    v = values.astype(np.float32)
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])  # labels are the features shifted by one
    if n:
        np.testing.assert_array_equal(y[:, -1], seq2vec_windows(values, window)[1])
        np.testing.assert_array_equal(y[-1], v[-window:])


@st.composite
def split_series(draw):
    window = draw(st.integers(1, 40))
    length = draw(st.integers(window + 1, 300))
    split = draw(st.integers(window, length - 1))
    return (
        draw(hnp.arrays(np.float32, length, elements=st.floats(-1e3, 1e3, width=32))),
        split,
        window,
    )


@settings(max_examples=200)
@given(split_series())
def test_forecast_window_properties(args):
    values, split, window = args
    windows = forecast_windows(values, split, window)
    assert windows.shape == (len(values) - split, window)  # one per validation point
    for i, row in enumerate(windows):
        np.testing.assert_array_equal(row, values[split + i - window : split + i])


@pytest.mark.parametrize(("split", "window"), [(5, 6), (10, 10), (11, 3)])
def test_forecast_windows_refuse_a_split_outside_the_series(split, window):
    with pytest.raises(ValueError, match="split_time must be from window"):
        forecast_windows(np.zeros(10, dtype="float32"), split, window)


# --- the holdout slice ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("holdout", "points"),
    [(0.0, 0), (0.1, 25), (0.001, 1), (0.5, 125), (1.0, 1), (40.0, 40)],
)
def test_holdout_points_from_a_fraction_or_a_count(holdout, points):
    assert holdout_points(holdout, 250) == points


def _indexed(write_csv, holdout: float, window: int = 5) -> Experiment:
    """A series whose value at each time step is the step itself, so windows show positions."""
    path = write_csv("value\n" + "\n".join(str(i) for i in range(120)) + "\n")
    return Experiment(
        series=CsvSeries(path=path, column="value", split_time=100),
        window=WindowSpec(window=window, batch_size=8),
        train=TrainSpec(normalise="none", holdout=holdout),
    )


@pytest.mark.parametrize("seq2seq", [False, True], ids=["seq2vec", "seq2seq"])
@pytest.mark.parametrize("holdout", [0.2, 7.0])
def test_no_window_straddles_the_holdout_boundary(write_csv, seq2seq, holdout):
    data = _cut_windows(_indexed(write_csv, holdout), seq2seq)
    fit_end = 100 - holdout_points(holdout, 100)
    last_target = (lambda y: y[:, -1]) if seq2seq else (lambda y: y)
    # fitting windows: inputs and targets wholly before the holdout slice, every one of them
    assert data.x.max() < fit_end and data.y.max() < fit_end
    assert last_target(data.y).max() == fit_end - 1
    # holdout windows: one per holdout point, its target in the slice, never in validation
    np.testing.assert_array_equal(last_target(data.y_hold), np.arange(fit_end, 100))
    assert data.x_hold.max() < 100 and data.y_hold.max() < 100
    # validation windows: one per validation point, after the split
    np.testing.assert_array_equal(last_target(data.y_val), np.arange(100, 120))
    assert data.hold_steps == -(-(100 - fit_end) // 8)


def test_without_a_holdout_slice_every_training_point_is_fitted(write_csv):
    data = _cut_windows(_indexed(write_csv, 0.0), False)
    assert data.y.max() == 99 and len(data.x_hold) == 0 and not data.has_holdout


def test_a_holdout_that_leaves_too_little_to_fit_is_a_clear_error(write_csv):
    with pytest.raises(DataError) as err:
        _cut_windows(_indexed(write_csv, 96.0), False)
    assert err.value.field == "train.holdout"
    assert str(err.value) == (
        "train.holdout = 96 keeps the last 96 of the 100 training points for the holdout "
        "slice, leaving 4 to fit: at least window + 1 (6) are needed; lower train.holdout"
    )


def test_direct_windows_hold_the_next_horizon_values() -> None:
    from engine.windows import direct_windows

    x, y = direct_windows(np.arange(7, dtype="float32"), window=3, horizon=2)
    np.testing.assert_array_equal(x, [[0, 1, 2], [1, 2, 3], [2, 3, 4]])
    np.testing.assert_array_equal(y, [[3, 4], [4, 5], [5, 6]])
    one_x, one_y = direct_windows(np.arange(7, dtype="float32"), window=3, horizon=1)
    sx, sy = seq2vec_windows(np.arange(7, dtype="float32"), 3)
    np.testing.assert_array_equal(one_x, sx)
    np.testing.assert_array_equal(one_y[:, 0], sy)


def test_origin_windows_are_the_values_before_each_origin() -> None:
    from engine.windows import origin_windows

    values = np.arange(10, dtype="float32") * 2
    np.testing.assert_array_equal(
        origin_windows(values, np.array([3, 10]), 3), [[0, 2, 4], [14, 16, 18]]
    )
    with pytest.raises(ValueError, match="origins must be from window"):
        origin_windows(values, np.array([2]), 3)
