"""Snapshot tests: the screens a learner sees, at fixed sizes, from a scripted fake engine.

No cursor blink, no animation, no clocks: the fake engine reports fixed timings, and the runs
shown are written with fixed names and dates. Update with ``pytest --snapshot-update`` and look
at every changed SVG before accepting it.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from pilot import SAVED_BACKTEST, modern, ready, saved_future
from scripted import ScriptedBackend

from engine.presets import get_preset
from engine.runstore import RunStore
from engine.specs import ForecastSpec
from tui.app import SeqlabApp
from tui.chart import Chart

WIDE = (120, 40)
SMALL = (80, 24)
# The runs view shows its folder, so the snapshot of it needs a path that is the same every time.
FIXED_RUNS = Path("/tmp/seqlab-snapshot-runs")


def make_app(
    tmp_path: Path, preset: str = "course-rnn", experiment=None, **backend_kwargs
) -> SeqlabApp:
    return SeqlabApp(
        experiment or get_preset(preset),
        ScriptedBackend(**backend_kwargs),
        RunStore(tmp_path / "runs"),
        blink=False,
    )


def steps(*keys: str, charts: bool = False):
    """A run_before that waits for every pane, presses keys, and lets charts repaint; with
    ``charts``, the training charts take focus after the first key (the forecast chart's keys are
    letters, which a focused field would take)."""

    async def run(pilot) -> None:
        await ready(pilot, pilot.app)
        for i, key in enumerate(keys):
            await pilot.press(key)
            await pilot.pause()
            if charts and i == 0:
                await pilot.pause(0.1)
                pilot.app.query_one("#charts").focus()
        await pilot.pause(0.25)  # charts repaint at most 10 times a second
        for _ in range(40):  # a loaded machine builds slowly, so a chart repaints later
            if not any(chart._timer for chart in pilot.app.query(Chart)):
                break
            await pilot.pause(0.1)

    return run


def horizon(steps: int):
    """The course's experiment forecasting ``steps`` ahead: its runs have a backtest."""
    return dataclasses.replace(get_preset("course-rnn"), forecast=ForecastSpec(horizon=steps))


def test_start_screen(snap_compare, tmp_path):
    assert snap_compare(make_app(tmp_path), terminal_size=WIDE, run_before=steps())


def test_start_screen_80x24(snap_compare, tmp_path):
    assert snap_compare(make_app(tmp_path), terminal_size=SMALL, run_before=steps())


def test_invalid_field(snap_compare, tmp_path):
    keys = ("tab", "tab", "tab", "tab", "ctrl+u", "-", "1", "escape")  # period = -1
    assert snap_compare(make_app(tmp_path), terminal_size=WIDE, run_before=steps(*keys))


def test_builder_with_return_sequences_problem(snap_compare, tmp_path):
    app = make_app(tmp_path, preset="quiz-q8")
    assert snap_compare(app, terminal_size=WIDE, run_before=steps("2", "down", "down"))


def test_training_charts(snap_compare, tmp_path):
    """A normalised run with a holdout slice: train, holdout and validation curves, the kept
    epoch marked, and the results line with the baselines."""
    app = make_app(tmp_path, experiment=modern(), epochs=40)
    assert snap_compare(app, terminal_size=WIDE, run_before=steps("ctrl+t", "l"))


def test_lr_sweep_with_suggestions(snap_compare, tmp_path):
    app = make_app(tmp_path, epochs=100)
    assert snap_compare(app, terminal_size=SMALL, run_before=steps("ctrl+r"))


def test_forecast(snap_compare, tmp_path):
    """A course run worse than both baselines: the results line and the top bar say so. The
    forecast chart shows the last 120 validation points, actual as points and the forecast as a
    line, the interval band, the forecast past the data after a line at the last actual point,
    and the band's coverage under it."""
    app = make_app(tmp_path, epochs=12, worse=True)
    assert snap_compare(app, terminal_size=SMALL, run_before=steps("ctrl+t"))


def test_forecast_future_and_band(snap_compare, tmp_path):
    """A run with a backtest over 5 steps: the forecast chart with its band and future in the
    grid, the coverage and the backtest's table in the log."""
    app = make_app(tmp_path, experiment=horizon(5), epochs=12)
    assert snap_compare(app, terminal_size=WIDE, run_before=steps("ctrl+t"))


def test_forecast_narrow_window_80x24(snap_compare, tmp_path):
    """The window narrowed to 30 points and scrolled back: actual and forecast apart, and the
    future out of view."""
    app = make_app(tmp_path, experiment=horizon(5), epochs=12)
    keys = ("ctrl+t", "minus", "minus", "left_square_bracket")
    assert snap_compare(app, terminal_size=SMALL, run_before=steps(*keys, charts=True))


def test_forecast_residuals_80x24(snap_compare, tmp_path):
    """The residual view: actual − forecast around zero, the band's edges as distances."""
    app = make_app(tmp_path, experiment=horizon(5), epochs=12)
    assert snap_compare(app, terminal_size=SMALL, run_before=steps("ctrl+t", "d", charts=True))


def test_backtest_view(snap_compare, tmp_path):
    """The backtest view: MAE per step ahead beside the naive and seasonal naive forecasts."""
    app = make_app(tmp_path, experiment=horizon(5), epochs=12)
    assert snap_compare(app, terminal_size=WIDE, run_before=steps("ctrl+t", "b", charts=True))


def test_backtest_view_80x24(snap_compare, tmp_path):
    app = make_app(tmp_path, experiment=horizon(5), epochs=12)
    assert snap_compare(app, terminal_size=SMALL, run_before=steps("ctrl+t", "b", charts=True))


def test_future_steps_dialog_80x24(snap_compare, tmp_path):
    """The set-N dialog with a value out of range: the field, the value and what is allowed."""
    app = make_app(tmp_path, epochs=12, run_dir="runs/run-train")
    keys = ("ctrl+t", "f", "ctrl+u", "0", "enter")
    assert snap_compare(app, terminal_size=SMALL, run_before=steps(*keys, charts=True))


@pytest.fixture
def fixed_runs() -> Path:
    """Three training runs and a sweep with fixed folder names and dates; the second run has an
    interval band, a forecast past the data and a backtest."""
    shutil.rmtree(FIXED_RUNS, ignore_errors=True)
    store = RunStore(FIXED_RUNS)
    base = get_preset("course-rnn")
    specs = (
        ("20250301-101500-course-rnn-train-a1b2", "course-rnn", 6, 6.21, "finished"),
        ("20250302-091000-course-lstm-2-train-c3d4", "course-lstm-2", 8, 5.37, "finished"),
        ("20250303-170500-course-rnn-train-e5f6", "course-rnn", 3, None, "stopped"),
    )
    for folder, name, epochs, mae, status in specs:
        handle = store.create(dataclasses.replace(base, name=name), "train", 10)
        for e in range(1, epochs + 1):
            loss = 25 * 0.72**e + 4
            row = {
                "epoch": e,
                "loss": loss,
                "mae": loss + 0.5,
                "learning_rate": 5e-6,
                "seconds": 0.1,
            }
            if name == "course-lstm-2":  # a holdout slice, its best epoch the sixth
                row.update(holdout_loss=loss + 1 + 0.4 * max(0, e - 6), holdout_mae=loss + 1.5)
            handle.append(row)
        if mae is not None:
            metrics = {
                "val_mae": mae,
                "val_mse": mae**2,
                "naive_mae": 5.938,
                "naive_mse": 61.83,
                "linear_mae": 4.955,
                "best_epoch": 6 if name == "course-lstm-2" else epochs,
                "epochs_run": epochs,
            }
            t = np.arange(1000, 1461)
            actual = 80 + 20 * np.sin(t / 25)
            forecast = actual + np.cos(t / 7)
            if name == "course-lstm-2":
                metrics.update(interval_level=0.8, coverage=0.78, horizon=5)
                metrics["backtest"] = dataclasses.asdict(SAVED_BACKTEST)
                handle.write_forecast(t, actual, forecast, forecast - 1.3, forecast + 1.3)
                handle.write_future(saved_future(scale=25))
            else:
                handle.write_forecast(t, actual, forecast)
            handle.write_metrics(metrics)
        handle.finish(status, None if status == "finished" else "stopped by request after 3 epochs")
        _pin(handle.path, FIXED_RUNS / folder)
    handle = store.create(base, "sweep", 100)
    for e in range(1, 61):
        handle.append(
            {"epoch": e, "learning_rate": 1e-8 * 10 ** (e / 20), "loss": 30 - e / 3, "seconds": 0.1}
        )
    handle.finish("finished")
    _pin(handle.path, FIXED_RUNS / "20250304-080000-course-rnn-sweep-a7b8")
    yield FIXED_RUNS
    shutil.rmtree(FIXED_RUNS, ignore_errors=True)


def _pin(path: Path, fixed: Path) -> None:
    """Renames a run folder and dates it from its name, so the table is the same every time."""
    path.rename(fixed)
    status = json.loads((fixed / "status.json").read_text())
    stamp = fixed.name[:15]
    status["created"] = f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:00"
    status["ended"] = status["created"]
    status["run_id"] = fixed.name
    (fixed / "status.json").write_text(json.dumps(status))


def test_runs_table(snap_compare, fixed_runs):
    """The best run opened: its loss curves, and its forecast with the band and the future."""
    app = SeqlabApp(get_preset("course-rnn"), ScriptedBackend(), RunStore(fixed_runs), blink=False)
    assert snap_compare(app, terminal_size=WIDE, run_before=steps("4", "enter"))


def test_runs_backtest(snap_compare, fixed_runs):
    """A saved run's backtest (b)."""
    app = SeqlabApp(get_preset("course-rnn"), ScriptedBackend(), RunStore(fixed_runs), blink=False)
    assert snap_compare(app, terminal_size=WIDE, run_before=steps("4", "enter", "b"))


def test_runs_export_menu_80x24(snap_compare, fixed_runs):
    """The runs pane's export menu (x) for the best run, on a small screen."""
    app = SeqlabApp(get_preset("course-rnn"), ScriptedBackend(), RunStore(fixed_runs), blink=False)
    assert snap_compare(app, terminal_size=SMALL, run_before=steps("4", "x"))


def test_training_form_80x24(snap_compare, tmp_path):
    """The end of the Training pane's settings on a small screen: the schedule's (those that do
    nothing greyed out), the lint about momentum with adam, the sweep's."""
    app = make_app(tmp_path, experiment=modern(momentum=0.5))
    show = steps("3")

    async def run_before(pilot) -> None:
        await show(pilot)
        pilot.app.query_one("#train-form").scroll_end(animate=False)
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=SMALL, run_before=run_before)
