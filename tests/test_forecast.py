"""Forecasts from a model: one step (as before horizons), H steps batched across origins, the
backtest, conformal intervals and the forecast past the end. Small Keras models with set weights
stand in for trained ones, so every expected number can be worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from engine.forecast import (
    Forecaster,
    backtest,
    future_forecast,
    predictor,
    report,
    validation_forecast,
)
from engine.scaling import Scaler, fit_scaler
from engine.series import Series
from engine.specs import ForecastSpec
from engine.windows import forecast_windows

pytestmark = pytest.mark.tensorflow


def linear_model(weights: list[list[float]]) -> object:
    """A Keras model whose outputs are fixed linear combinations of the window (no bias):
    ``weights[j]`` gives output j; a window of len(weights[0]) steps."""
    import keras

    w = np.asarray(weights, dtype="float32").T  # (window, outputs)
    model = keras.Sequential(
        [keras.Input((w.shape[0],)), keras.layers.Dense(w.shape[1], use_bias=False)]
    )
    model.layers[-1].set_weights([w])
    return model


def series_of(values, split: int) -> Series:
    v = np.asarray(values, dtype="float32")
    return Series(values=v, time=np.arange(len(v), dtype="float32"), split_time=split)


def test_horizon_one_is_the_forecast_seqlab_made_before_horizons() -> None:
    rng = np.random.default_rng(3)
    series = series_of(np.cumsum(rng.normal(size=120)) + 50, 90)
    model = linear_model([[0.1, 0.2, 0.3, 0.4, 0.5]])
    for kind in ("none", "standard", "last"):
        scaler = fit_scaler(kind, series.values[:80])
        # the one-step forecast as engine.forecast computed it before multi-step forecasts
        values = scaler.transform(series.values).astype("float32")
        windows, ref = scaler.relative_inputs(forecast_windows(values, 90, 5))
        before = scaler.inverse(scaler.absolute(predictor(model)(windows)[:, 0], ref))
        np.testing.assert_array_equal(validation_forecast(model, series, 5, scaler), before)


def test_recursive_paths_equal_a_loop_of_one_step_forecasts() -> None:
    rng = np.random.default_rng(4)
    values = (np.sin(np.arange(80) / 5) * 10 + rng.normal(size=80)).astype("float32")
    model = linear_model([[0.2, -0.1, 0.3, 0.6]])
    scaler = fit_scaler("last", values[:50])
    fc = Forecaster(model, scaler)
    origins = np.array([10, 33, 80])
    paths = fc.paths(values, origins, 7)
    for row, origin in zip(paths, origins, strict=True):
        window = scaler.transform(values[origin - 4 : origin]).astype("float32")
        steps = []
        for _ in range(7):
            rel, ref = scaler.relative_inputs(window[None, :])
            nxt = float(scaler.absolute(predictor(model)(rel)[:, 0], ref)[0])
            steps.append(nxt)
            window = np.append(window[1:], np.float32(nxt))
        np.testing.assert_allclose(row, scaler.inverse(np.array(steps)), rtol=1e-6)


def test_a_direct_model_gives_its_horizon_per_call_and_recurses_beyond() -> None:
    values = np.arange(20, dtype="float32")
    model = linear_model([[0, 0, 1], [0, 0, 2]])  # next two: last value, twice the last value
    fc = Forecaster(model, Scaler())
    assert fc.steps_per_call == 2
    # origin 5: window [2, 3, 4] -> 4, 8; then window [4, 4, 8] -> 8, 16; then [8, 8, 16] -> 16
    np.testing.assert_allclose(fc.paths(values, np.array([5]), 5)[0], [4, 8, 8, 16, 16])


def test_backtest_per_step_against_a_hand_computed_example() -> None:
    # a linear series; the model forecasts the mean of its window of 3
    series = series_of([0, 3, 6, 9, 12, 15, 18, 21], split=5)
    fc = Forecaster(linear_model([[1 / 3, 1 / 3, 1 / 3]]), Scaler())
    tested = backtest(fc, series, 2, period=2, widths=np.array([6.5]), level=0.8)
    assert tested is not None
    # origins 5 and 6 (both steps in the validation period)
    # origin 5: mean(6, 9, 12) = 9 vs 15; then mean(9, 12, 9) = 10 vs 18
    # origin 6: mean(9, 12, 15) = 12 vs 18; then mean(12, 15, 12) = 13 vs 21
    assert (tested.horizon, tested.origins) == (2, 2)
    np.testing.assert_allclose(tested.model, [6, 8], rtol=1e-5)
    np.testing.assert_allclose(tested.naive, [3, 6])  # 12 and 15 repeated
    np.testing.assert_allclose(tested.seasonal, [6, 6])  # a period of 2 back from each origin
    assert tested.coverage == (1.0,) and tested.level == 0.8  # step 1 only has a width: 6 <= 6.5


def test_no_backtest_when_the_validation_period_is_shorter_than_the_horizon() -> None:
    series = series_of(np.arange(10), split=8)
    fc = Forecaster(linear_model([[0, 1]]), Scaler())
    assert backtest(fc, series, 3, None, np.empty(0), None) is None


def test_the_future_continues_the_series_with_its_band_where_calibrated() -> None:
    series = series_of(np.arange(12), split=9)
    fc = Forecaster(linear_model([[0, 1]]), Scaler())  # naive: the last value
    future = future_forecast(fc, series, 4, widths=np.array([1.0, 2.0]), level=0.8)
    assert future.time == (12.0, 13.0, 14.0, 15.0)
    assert future.values == (11.0, 11.0, 11.0, 11.0)
    assert (future.lower, future.upper, future.level) == ((10.0, 9.0), (12.0, 13.0), 0.8)
    assert "steps 2 to 4 are recursive" in future.notes[0]
    assert "reaches step 2" in future.notes[1]


def test_conformal_intervals_cover_near_their_level_on_known_noise() -> None:
    # white noise around a level; the model forecasts the mean of its window of 4, so its
    # errors are exchangeable, and the holdout slice (fit_end 500 to split 1500) calibrates it
    rng = np.random.default_rng(51)
    values = 10 + rng.normal(scale=2.0, size=5500)
    series = series_of(values, split=1500)
    fc = Forecaster(linear_model([[0.25] * 4]), Scaler())
    one_step = validation_forecast(fc.model, series, 4)
    for level in (0.8, 0.95):
        spec = ForecastSpec(horizon=3, level=level, future=5)
        shown = report(fc, series, spec, 500, None, one_step)
        assert shown.coverage is not None and abs(shown.coverage - level) < 0.04
        assert shown.backtest is not None
        assert all(abs(c - level) < 0.04 for c in shown.backtest.coverage)
        # the width is near the noise's own quantile: sd 2 * sqrt(1 + 1/4)
        z = {0.8: 1.2816, 0.95: 1.96}[level]
        assert shown.widths[0] == pytest.approx(z * 2.0 * np.sqrt(1.25), rel=0.12)


def test_no_interval_without_a_holdout_slice_and_the_note_says_why() -> None:
    series = series_of(np.arange(40), split=30)
    fc = Forecaster(linear_model([[0, 1]]), Scaler())
    one_step = validation_forecast(fc.model, series, 2)
    shown = report(fc, series, ForecastSpec(), 30, None, one_step)
    assert shown.lower is None and shown.coverage is None and shown.future.level is None
    assert "train.holdout is 0" in shown.notes[0]
    short = report(fc, series, ForecastSpec(level=0.9), 27, None, one_step)
    assert "has 3 points" in short.notes[0] and "needs at least 9" in short.notes[0]
