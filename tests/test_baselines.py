"""Baselines on the validation period (the course's week 1 ones, seqlab's ladder), and metrics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from engine.baselines import (
    baselines,
    ladder,
    linear_ar_fit,
    linear_ar_forecast,
    moving_average_forecast,
    naive_forecast,
    seasonal_naive_forecast,
)
from engine.metrics import mase, metrics
from engine.series import Series

COURSE = {  # name: (MAE, MSE) from the course's executed week 1 notebook
    "naive": (5.9379, 61.8275),
    "ma30": (7.1424, 106.6746),
    "diff_past": (5.8393, 52.9737),
    "diff_smooth": (4.5694, 33.4523),
}


def test_course_baselines(course_series):
    made, skipped = baselines(course_series, 365)
    assert skipped == []
    assert [b.name for b in made] == [*COURSE, "snaive", "linear"]
    for b in made[: len(COURSE)]:
        mae, mse = COURSE[b.name]
        assert b.metrics["mae"] == pytest.approx(mae, abs=1e-3), b.name
        assert b.metrics["mse"] == pytest.approx(mse, abs=1e-3), b.name
        assert b.forecast.shape == (461,)


def test_course_baselines_by_the_course_formulas(course_series):
    """The same forecasts written out the way the week 1 notebook slices them."""
    v, split = course_series.values, course_series.split_time

    def ma(x, w):
        return np.array([x[t : t + w].mean() for t in range(len(x) - w)])

    diff = v[365:] - v[:-365]
    diff_ma = ma(diff, 50)[split - 365 - 50 :]
    expected = {
        "naive": v[split - 1 : -1],
        "ma30": ma(v, 30)[split - 30 :],
        "diff_past": v[split - 365 : -365] + diff_ma,
        "diff_smooth": ma(v[split - 370 : -360], 10) + diff_ma,
        "snaive": v[split - 365 : -365],
        "linear": linear_ar_forecast(course_series, 20),
    }
    for b in baselines(course_series, 365)[0]:
        np.testing.assert_allclose(b.forecast, expected[b.name], rtol=1e-5, atol=1e-4)


def test_naive_forecast_is_the_previous_value(course_series):
    forecast = naive_forecast(course_series)
    assert forecast[0] == course_series.values[999]
    assert forecast[-1] == course_series.values[1459]


@settings(max_examples=100)
@given(values=hnp.arrays(np.float64, st.integers(1, 80), elements=st.floats(-1e3, 1e3)))
def test_moving_average_forecast(values):
    for window in (1, 3, 10):
        if window > len(values):
            continue
        got = moving_average_forecast(values, window)
        assert len(got) == len(values) - window
        for t, value in enumerate(got):
            assert value == pytest.approx(values[t : t + window].mean(), abs=1e-9)


def series(n: int, split: int) -> Series:
    values = (np.arange(n) % 7 + 1).astype("float32")
    return Series(values=values, time=np.arange(n, dtype="float32"), split_time=split)


def test_no_period_skips_the_seasonal_baselines():
    made, skipped = baselines(series(200, 150), None)
    assert [b.name for b in made] == ["naive", "ma30", "linear"]
    assert skipped == ["seasonal baselines: the series has no period"]


def test_short_training_part_skips_what_it_cannot_compute():
    made, skipped = baselines(series(60, 20), 7)
    assert [b.name for b in made] == ["naive", "snaive"]
    assert skipped == [
        "moving average: needs 30 training points, has 20",
        "seasonal difference baselines: need 57 training points for period 7, have 20",
        "linear autoregression: needs more than 20 training points, has 20",
    ]


def test_a_period_longer_than_the_training_part_skips_seasonal_naive():
    made, skipped = baselines(series(60, 20), 21, window=5)
    assert [b.name for b in made] == ["naive", "linear"]
    assert skipped[-1] == "seasonal naive: needs 21 training points, has 20"


@pytest.mark.parametrize("period", [2, 3, 4])
def test_smoothed_baseline_needs_a_period_of_five(period):
    """A centred window of 10 around t - period would read values at t or later."""
    made, skipped = baselines(series(300, 200), period)
    assert [b.name for b in made] == ["naive", "ma30", "diff_past", "snaive", "linear"]
    assert skipped == [f"smoothed seasonal baseline: needs a period of at least 5, has {period}"]


@settings(max_examples=100)
@given(n=st.integers(3, 600), data=st.data())
def test_every_baseline_forecasts_each_validation_point(n, data):
    split = data.draw(st.integers(1, n - 1))
    period = data.draw(st.one_of(st.none(), st.integers(2, 400)))
    window = data.draw(st.integers(1, 40))
    s = series(n, split)
    made, _ = baselines(s, period, window)
    for b in made:
        assert b.forecast.shape == s.valid.shape, b.name
        assert np.isfinite(b.forecast).all()
        assert "mase" in b.metrics


def test_baselines_never_see_the_validation_values(course_series):
    """Changing the last validation value changes no forecast (each uses only earlier values)."""
    before = {b.name: b.forecast for b in baselines(course_series, 365)[0]}
    values = course_series.values.copy()
    values[-1] += 1000
    changed = Series(values, course_series.time, course_series.split_time)
    for b in baselines(changed, 365)[0]:
        np.testing.assert_array_equal(b.forecast, before[b.name])


# --- seqlab's ladder: seasonal naive, linear autoregression, MASE --------------------------------


def small(values, split: int) -> Series:
    v = np.asarray(values, dtype="float32")
    return Series(values=v, time=np.arange(len(v), dtype="float32"), split_time=split)


def test_seasonal_naive_by_hand():
    s = small([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8], split=8)
    np.testing.assert_array_equal(seasonal_naive_forecast(s, 4), [5, 9, 2, 6])
    np.testing.assert_array_equal(seasonal_naive_forecast(s, 1), naive_forecast(s))


def test_seasonal_naive_needs_a_period_the_training_part_covers():
    with pytest.raises(ValueError, match="period 9"):
        seasonal_naive_forecast(small(range(12), split=8), 9)


def test_linear_ar_by_hand():
    """Window 1, training values 1, 2, 4, 3: pairs (1, 2), (2, 4), (4, 3) fit y = 3/14 x + 5/2."""
    s = small([1, 2, 4, 3, 6, 0], split=4)
    weights, intercept = linear_ar_fit(s, 1)
    np.testing.assert_allclose(weights, [3 / 14], rtol=1e-12)
    assert intercept == pytest.approx(2.5, rel=1e-12)
    np.testing.assert_allclose(linear_ar_forecast(s, 1), [3 * 3 / 14 + 2.5, 6 * 3 / 14 + 2.5])


def test_linear_ar_is_exact_on_an_ar1_series():
    """v[t] = 0.5 v[t - 1] + 1: the fit recovers the process and forecasts without error."""
    v = [0.0]
    for _ in range(29):
        v.append(0.5 * v[-1] + 1)
    s = small(v, split=20)
    weights, intercept = linear_ar_fit(s, 1)
    np.testing.assert_allclose(weights, [0.5], rtol=1e-6)
    assert intercept == pytest.approx(1.0, rel=1e-6)
    np.testing.assert_allclose(linear_ar_forecast(s, 1), s.valid, rtol=1e-6)


@pytest.mark.parametrize("window", [1, 5, 20])
def test_linear_ar_is_exact_on_a_line_far_from_zero(window):
    """A straight line has many exact fits; each extrapolates it exactly, even around 1e6."""
    s = small(1e6 + 0.5 * np.arange(100), split=70)
    np.testing.assert_allclose(linear_ar_forecast(s, window), s.valid, rtol=0, atol=1e-4)


def test_linear_ar_is_fitted_on_the_training_period_only(course_series):
    """Validation values feed the forecast's inputs (as the network's) but never the fit."""
    weights, intercept = linear_ar_fit(course_series, 20)
    values = course_series.values.copy()
    values[course_series.split_time :] += np.random.default_rng(0).normal(0, 50, 461)
    changed = Series(values, course_series.time, course_series.split_time)
    again = linear_ar_fit(changed, 20)
    np.testing.assert_array_equal(again[0], weights)
    assert again[1] == intercept
    # the first forecast reads only training values; later ones read the perturbed inputs
    first = linear_ar_forecast(changed, 20)[0]
    assert first == linear_ar_forecast(course_series, 20)[0]


def test_linear_ar_needs_a_training_window():
    with pytest.raises(ValueError, match="needs more than 4 training points, has 4"):
        linear_ar_fit(small(range(10), split=4), 4)


def test_mase_by_hand():
    """Training values 1, 3, 2, 5: lag-1 naive errors 2, 1, 3 (mean 2); lag 2: 1, 2 (mean 1.5)."""
    actual, forecast, train = np.array([4.0, 6.0]), np.array([5.0, 4.0]), np.array([1, 3, 2, 5.0])
    assert mase(actual, forecast, train) == pytest.approx(1.5 / 2)
    assert mase(actual, forecast, train, m=2) == pytest.approx(1.5 / 1.5)
    assert metrics(actual, forecast, train)["mase"] == pytest.approx(0.75)
    assert "mase" not in metrics(actual, forecast)


def test_mase_is_nan_without_a_scale():
    """No lag-m variation in the training values: the scale is zero and MASE undefined."""
    assert np.isnan(mase(np.ones(2), np.zeros(2), np.full(5, 3.0)))
    assert np.isnan(mase(np.ones(2), np.zeros(2), np.array([1.0, 2.0]), m=2))


def test_mase_of_the_naive_forecast_on_a_random_walk_is_about_one():
    walk = np.cumsum(np.random.default_rng(1).normal(size=4000))
    s = small(walk, split=3000)
    assert mase(s.valid, naive_forecast(s), s.train) == pytest.approx(1.0, abs=0.1)


def test_the_course_ladder(course_series):
    got = ladder(course_series, 20, 365)
    assert list(got) == [
        "naive_mae",
        "naive_mse",
        "naive_rmse",
        "naive_smape",
        "naive_mase",
        "linear_mae",
        "linear_mase",
        "snaive_mae",
        "snaive_mase",
    ]
    assert got["naive_mae"] == pytest.approx(5.9379, abs=1e-3)
    assert got["naive_mse"] == pytest.approx(61.8275, abs=1e-3)
    assert got["linear_mae"] == pytest.approx(4.9549, abs=1e-3)
    scale = np.mean(np.abs(np.diff(course_series.train.astype("float64"))))
    assert got["naive_mase"] == pytest.approx(got["naive_mae"] / scale)
    assert got["linear_mase"] == pytest.approx(got["linear_mae"] / scale)
    assert got["snaive_mae"] == pytest.approx(
        np.mean(np.abs(course_series.valid - course_series.values[1000 - 365 : -365]))
    )
    by_name = {b.name: b.metrics for b in baselines(course_series, 365, 20)[0]}
    assert got["linear_mae"] == by_name["linear"]["mae"]
    assert got["snaive_mase"] == by_name["snaive"]["mase"]


def test_the_ladder_without_a_period_has_no_seasonal_naive(course_series):
    assert "snaive_mae" not in ladder(course_series, 20, None)
    assert "snaive_mae" not in ladder(course_series, 20, 1001)


# --- metrics ------------------------------------------------------------------------------------

finite = st.integers(-(10**6), 10**6).map(lambda i: i / 100)  # zeros, no tiny values


@settings(max_examples=200)
@given(data=st.data(), n=st.integers(1, 50))
def test_metrics_against_numpy(data, n):
    actual = data.draw(hnp.arrays(np.float64, n, elements=finite))
    forecast = data.draw(hnp.arrays(np.float64, n, elements=finite))
    got = metrics(actual, forecast)
    errors = forecast - actual
    assert got["mae"] == pytest.approx(np.mean(np.abs(errors)))
    assert got["mse"] == pytest.approx(np.mean(errors**2))
    assert got["rmse"] == pytest.approx(np.sqrt(np.mean(errors**2)))
    denom = np.abs(actual) + np.abs(forecast)
    terms = [2 * abs(e) / d if d > 0 else 0.0 for e, d in zip(errors, denom, strict=True)]
    assert got["smape"] == pytest.approx(100 * np.mean(terms))
    if np.all(actual != 0):
        assert got["mape"] == pytest.approx(100 * np.mean(np.abs(errors / actual)))
    else:
        assert "mape" not in got


def test_metrics_by_hand():
    got = metrics(np.array([1.0, 2.0, 4.0]), np.array([2.0, 2.0, 1.0]))
    assert got["mae"] == pytest.approx(4 / 3)
    assert got["mse"] == pytest.approx(10 / 3)
    assert got["rmse"] == pytest.approx(np.sqrt(10 / 3))
    assert got["mape"] == pytest.approx(100 * (1 + 0 + 0.75) / 3)
    assert got["smape"] == pytest.approx(100 * (2 / 3 + 0 + 6 / 5) / 3)


def test_mape_absent_when_an_actual_is_zero():
    got = metrics(np.array([0.0, 2.0]), np.array([1.0, 2.0]))
    assert "mape" not in got
    assert set(got) == {"mae", "mse", "rmse", "smape"}
    assert got["smape"] == pytest.approx(100 * (2 + 0) / 2)


def test_metrics_refuse_mismatched_shapes():
    with pytest.raises(ValueError, match="shape"):
        metrics(np.zeros(3), np.zeros(4))


def test_naive_and_seasonal_naive_paths_per_step_ahead() -> None:
    from engine.baselines import naive_paths, seasonal_naive_paths

    v = np.array([10, 20, 30, 40, 50, 60, 70, 80], dtype="float64")
    np.testing.assert_array_equal(naive_paths(v, np.array([4, 6]), 3), [[40, 40, 40], [60, 60, 60]])
    # period 3 from origin 6: steps 1-3 are one season back (v[3], v[4], v[5]); step 4 too (v[3])
    np.testing.assert_array_equal(seasonal_naive_paths(v, np.array([6]), 4, 3), [[40, 50, 60, 40]])
    # a period of 1 is the naive forecast
    np.testing.assert_array_equal(
        seasonal_naive_paths(v, np.array([4, 6]), 3, 1), naive_paths(v, np.array([4, 6]), 3)
    )
    with pytest.raises(ValueError, match="reaches before the first value"):
        seasonal_naive_paths(v, np.array([2]), 1, 3)
