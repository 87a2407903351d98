"""The course's week 1 baselines on the validation period, and the forecast metrics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from engine.baselines import baselines, moving_average_forecast, naive_forecast
from engine.metrics import metrics
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
    assert [b.name for b in made] == list(COURSE)
    for b in made:
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
    assert [b.name for b in made] == ["naive", "ma30"]
    assert skipped == ["seasonal baselines: the series has no period"]


def test_short_training_part_skips_what_it_cannot_compute():
    made, skipped = baselines(series(60, 20), 7)
    assert [b.name for b in made] == ["naive"]
    assert skipped == [
        "moving average: needs 30 training points, has 20",
        "seasonal baselines: need 57 training points for period 7, have 20",
    ]


@pytest.mark.parametrize("period", [2, 3, 4])
def test_smoothed_baseline_needs_a_period_of_five(period):
    """A centred window of 10 around t - period would read values at t or later."""
    made, skipped = baselines(series(300, 200), period)
    assert [b.name for b in made] == ["naive", "ma30", "diff_past"]
    assert skipped == [f"smoothed seasonal baseline: needs a period of at least 5, has {period}"]


@settings(max_examples=100)
@given(n=st.integers(3, 600), data=st.data())
def test_every_baseline_forecasts_each_validation_point(n, data):
    split = data.draw(st.integers(1, n - 1))
    period = data.draw(st.one_of(st.none(), st.integers(2, 400)))
    s = series(n, split)
    made, _ = baselines(s, period)
    for b in made:
        assert b.forecast.shape == s.valid.shape, b.name
        assert np.isfinite(b.forecast).all()


def test_baselines_never_see_the_validation_values(course_series):
    """Changing the last validation value changes no forecast (each uses only earlier values)."""
    before = {b.name: b.forecast for b in baselines(course_series, 365)[0]}
    values = course_series.values.copy()
    values[-1] += 1000
    changed = Series(values, course_series.time, course_series.split_time)
    for b in baselines(changed, 365)[0]:
        np.testing.assert_array_equal(b.forecast, before[b.name])


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
