"""Horizons end to end: direct and recursive runs, what they save, and the forecasts and backtests
made again from the saved model (``seqlab forecast`` / ``backtest``, the app's engine process),
which must give the run's own numbers."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny

from engine import run_forecast, training
from engine.errors import SeqlabError
from engine.events import RunFinished
from engine.runstore import RunStore
from engine.specs import Dense, ExpandDims, ForecastSpec, SimpleRNN

pytestmark = pytest.mark.slow  # trains small models


def direct(tiny_experiment, horizon: int = 3, **train):
    layers = (ExpandDims(), SimpleRNN(units=8), Dense(units=horizon))
    exp = tiny_experiment(model=layers, epochs=2, **train)
    return dataclasses.replace(
        exp, forecast=ForecastSpec(horizon=horizon, strategy="direct", future=12)
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One direct run (horizon 3) saved in a runs folder: (experiment, outcome, store)."""
    store = RunStore(tmp_path_factory.mktemp("runs"))
    exp = direct(tiny)
    done = training.train(exp, lambda e: None, store=store)
    assert isinstance(done, RunFinished), done
    return exp, done, store


def test_direct_windows_label_the_next_horizon_values(tiny_experiment) -> None:
    data = training._cut_windows(direct(tiny_experiment, normalise="none"), seq2seq=False)
    series = data.series
    # 250 training points, holdout 0.1 -> 25; fitting windows lie before 225: 225 - 10 - 3 + 1
    assert data.x.shape == (213, 10) and data.y.shape == (213, 3)
    np.testing.assert_array_equal(data.y[0], series.values[10:13])
    assert data.y_hold.shape == (25 - 3 + 1, 3) and data.y_val.shape == (50 - 3 + 1, 3)
    np.testing.assert_array_equal(data.y_val[-1], series.values[-3:])


def test_a_direct_run_reports_its_band_backtest_and_future(trained) -> None:
    exp, done, store = trained
    assert len(done.forecast) == len(done.lower) == len(done.upper) == 50
    assert all(
        lo <= f <= hi for lo, f, hi in zip(done.lower, done.forecast, done.upper, strict=True)
    )
    m = done.metrics
    assert m["horizon"] == 3 and m["interval_level"] == 0.8 and 0 <= m["coverage"] <= 1
    tested = done.backtest
    assert tested is not None and (tested.horizon, tested.origins) == (3, 48)
    assert len(tested.model) == len(tested.naive) == 3 and len(tested.coverage) == 3
    future = done.future
    assert future is not None and len(future.values) == 12
    assert future.time == tuple(float(t) for t in range(300, 312))
    assert len(future.lower) == 12 and future.level == 0.8
    assert "steps 4 to 12 are recursive: the model forecasts 3 at a time" in future.notes

    path = Path(done.run_dir)
    saved = store.forecast(path)
    assert saved is not None and saved.lower is not None
    np.testing.assert_allclose(saved.lower, done.lower, rtol=1e-6)
    assert store.backtest(path) == tested
    again = store.future(path)
    assert again is not None and again.notes == future.notes
    np.testing.assert_allclose(again.values, future.values, rtol=1e-6)


def test_the_saved_model_gives_the_runs_own_numbers(trained) -> None:
    exp, done, store = trained
    saved = run_forecast.load(done.run_dir, store)
    assert run_forecast.forecast_run(saved, 12) == done.future
    assert run_forecast.backtest_run(saved, 3) == done.backtest
    longer = run_forecast.forecast_run(saved, 20)  # more steps: the first 12 are the same
    assert longer.values[:12] == done.future.values
    with pytest.raises(SeqlabError, match="--steps = 0: allowed: a whole number from 1"):
        run_forecast.forecast_run(saved, 0)
    with pytest.raises(SeqlabError, match="--horizon = 51: the validation period has 50"):
        run_forecast.backtest_run(saved, 51)


def test_a_recursive_horizon_backtests_a_one_step_model(tiny_experiment) -> None:
    exp = dataclasses.replace(tiny_experiment(epochs=2), forecast=ForecastSpec(horizon=4, future=6))
    done = training.train(exp, lambda e: None, save=False)
    assert isinstance(done, RunFinished)
    assert done.backtest is not None and done.backtest.horizon == 4
    assert "steps 2 to 6 are recursive: the model is fed its own forecasts" in done.future.notes


def test_a_horizon_longer_than_the_validation_period_is_refused(tiny_experiment) -> None:
    exp = direct(tiny_experiment, horizon=60)
    done = training.train(exp, lambda e: None, save=False)
    assert "forecast.horizon = 60 is longer than the 50-point validation period" in done.message


def test_cli_forecast_and_backtest(trained, run_cli, tmp_path) -> None:
    exp, done, store = trained
    runs = str(store.root)
    code, out, err = run_cli("forecast", done.run_id, "--runs", runs, "--steps", "5", "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert [s["forecast"] for s in data["steps"]] == pytest.approx(done.future.values[:5])
    assert data["steps"][0]["lower"] == pytest.approx(done.future.lower[0])

    target = tmp_path / "next.csv"
    code, out, err = run_cli("forecast", done.run_id, "--runs", runs, "--csv", str(target))
    assert code == 0 and "step" in out and "lower 80%" in out and f"written to {target}" in out
    rows = list(csv.DictReader(target.open()))
    assert len(rows) == 12 and float(rows[0]["forecast"]) == pytest.approx(done.future.values[0])

    code, out, err = run_cli("backtest", done.run_id, "--runs", runs, "--horizon", "4", "--json")
    assert code == 0 and json.loads(out)["horizon"] == 4
    code, out, err = run_cli("backtest", done.run_id, "--runs", runs)
    assert code == 0 and "from each of 48 validation origins" in out and "naive" in out

    code, out, err = run_cli("forecast", done.run_id, "--runs", runs, "--csv", str(tmp_path))
    assert code == 2 and "is a folder; give a file name" in err
    code, out, err = run_cli("forecast", done.run_id, "--runs", runs, "--steps", "20000")
    assert code == 2 and "--steps = 20000: a whole number from 1 to 10,000" in err


def test_a_dated_series_forecasts_with_its_dates(tiny_experiment, tmp_path, run_cli) -> None:
    import calendar

    from engine.specs import CsvSeries

    lines = []
    for m in range(300):
        year, month = 2000 + m // 12, m % 12 + 1
        day = calendar.monthrange(year, month)[1]
        lines.append(f"{year}-{month:02d}-{day:02d},{10 + np.sin(m / 6) * 5 + m / 50:.4f}\n")
    path = tmp_path / "monthly.csv"
    path.write_text("date,value\n" + "".join(lines), encoding="utf-8")
    exp = dataclasses.replace(
        tiny_experiment(epochs=1),
        series=CsvSeries(path=str(path), column="value", date_column="date", split_time=250),
        forecast=ForecastSpec(future=3),
    )
    store = RunStore(tmp_path / "runs")
    done = training.train(exp, lambda e: None, store=store)
    assert isinstance(done, RunFinished), done
    # the last point is 2024-12-31: month ends continue, February of a leap year included
    assert done.future.dates == ("2025-01-31", "2025-02-28", "2025-03-31")
    saved = store.forecast(Path(done.run_dir))
    assert saved.dates[0] == "2020-11-30" and saved.dates[-1] == "2024-12-31"
    code, out, err = run_cli("forecast", done.run_id, "--runs", str(store.root))
    assert code == 0 and "dates monthly (month ends)" in out and "2025-02-28" in out
