"""Snapshots of the Runs pane: the table that tells runs apart (at 120x40 and 80x24), the
comparison of two runs and the delete question.

The runs are written through the real run store with fixed folder names and dates, in a
folder of their own (the other snapshots' runs folder may be in use at the same time). Update
with ``pytest --snapshot-update tests/test_tui_snapshots_runs.py`` and look at every changed SVG.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pilot import ready
from scripted import ScriptedBackend

from engine.presets import get_preset
from engine.runstore import RunStore
from engine.specs import CsvSeries, Experiment
from tui.app import SeqlabApp
from tui.chart import Chart

WIDE = (120, 40)
SMALL = (80, 24)
FIXED_RUNS = Path("/tmp/seqlab-snapshot-runs-compare")


def steps(*keys: str):
    """A run_before that waits for every pane, presses keys and lets the charts repaint."""

    async def run(pilot) -> None:
        await ready(pilot, pilot.app)
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        await pilot.pause(0.25)  # charts repaint at most 10 times a second
        for _ in range(40):
            if not any(chart._timer for chart in pilot.app.query(Chart)):
                break
            await pilot.pause(0.1)

    return run


def _course(name: str, **train: Any) -> Experiment:
    base = get_preset("course-rnn")
    return dataclasses.replace(base, name=name, train=dataclasses.replace(base.train, **train))


def _pin(path: Path, fixed: Path) -> None:
    """Renames a run folder and dates it from its name, so the table is the same every time."""
    path.rename(fixed)
    status = json.loads((fixed / "status.json").read_text())
    stamp = fixed.name[:15]
    status["created"] = f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:00"
    status["ended"] = status["created"]
    status["run_id"] = fixed.name
    (fixed / "status.json").write_text(json.dumps(status))


@pytest.fixture
def fixed_runs():
    """Four training runs on the course's series (one stopped before it saved results), one on
    a CSV file and a sweep, with fixed names and dates."""
    shutil.rmtree(FIXED_RUNS, ignore_errors=True)
    store = RunStore(FIXED_RUNS)
    lstm = get_preset("course-lstm-2")
    csv = dataclasses.replace(
        get_preset("lstm"),
        name="lstm-sales",
        series=CsvSeries(path="/data/sales.csv", column="value", split_time=640),
    )
    specs = (  # folder, experiment, epochs, MAE, best epoch, forecast's error, status
        (
            "20250301-101500-course-rnn-train-a1b2",
            _course("course-rnn"),
            8,
            6.21,
            8,
            1.3,
            "finished",
        ),
        (
            "20250302-091000-course-rnn-fast-train-c3d4",
            _course("course-rnn-fast", learning_rate=1e-5, momentum=0.8),
            8,
            5.37,
            6,
            0.6,
            "finished",
        ),
        ("20250302-120000-course-lstm-2-train-e5f6", lstm, 10, 5.62, 9, 0.9, "finished"),
        (
            "20250303-170500-course-rnn-train-a7b8",
            _course("course-rnn"),
            3,
            None,
            None,
            0,
            "stopped",
        ),
        ("20250304-090000-lstm-sales-train-c9d0", csv, 12, 2.05, 11, 0.4, "finished"),
    )
    for folder, exp, epochs, mae, best, error, status in specs:
        handle = store.create(exp, "train", 10)
        for e in range(1, epochs + 1):
            loss = 25 * (0.6 + (mae or 6) / 30) ** e + (mae or 6) - 1  # apart for each run
            handle.append(
                {"epoch": e, "loss": loss, "mae": loss + 0.5, "learning_rate": 5e-6, "seconds": 0.1}
            )
        if mae is not None:
            t = np.arange(1000, 1461)
            actual = 80 + 20 * np.sin(t / 25)
            handle.write_forecast(t, actual, actual + error * np.cos(t / 7) + error / 2)
            handle.write_metrics(
                {
                    "val_mae": mae,
                    "val_mse": mae**2,
                    "naive_mae": 2.31 if exp is csv else 5.938,
                    "linear_mae": 2.2 if exp is csv else 4.955,
                    "best_epoch": best,
                    "epochs_run": epochs,
                }
            )
        handle.finish(status, None if status == "finished" else "stopped by request")  # type: ignore[arg-type]
        _pin(handle.path, FIXED_RUNS / folder)
    handle = store.create(get_preset("course-rnn"), "sweep", 100)
    for e in range(1, 61):
        handle.append(
            {"epoch": e, "learning_rate": 1e-8 * 10 ** (e / 20), "loss": 30 - e / 3, "seconds": 0.1}
        )
    handle.finish("finished")
    _pin(handle.path, FIXED_RUNS / "20250305-080000-course-rnn-sweep-e1f2")
    yield FIXED_RUNS
    shutil.rmtree(FIXED_RUNS, ignore_errors=True)


def _app(runs: Path) -> SeqlabApp:
    return SeqlabApp(get_preset("course-rnn"), ScriptedBackend(), RunStore(runs), blink=False)


def test_runs_table_120x40(snap_compare, fixed_runs):
    """Every column, the CSV run hidden (the line under the table says so), the best run
    opened: its loss curves and forecast."""
    assert snap_compare(_app(fixed_runs), terminal_size=WIDE, run_before=steps("4", "enter"))


def test_runs_table_80x24(snap_compare, fixed_runs):
    """The columns that fit 80 columns, every run shown (a): the data column takes its place."""
    assert snap_compare(_app(fixed_runs), terminal_size=SMALL, run_before=steps("4", "a"))


def test_runs_compare(snap_compare, fixed_runs):
    """The best two runs compared: which is better and by how much, each beside naive, the
    settings that differ, the loss curves and the forecasts over the actual values."""
    keys = ("4", "space", "down", "space", "c")
    assert snap_compare(_app(fixed_runs), terminal_size=WIDE, run_before=steps(*keys))


def test_runs_delete_question_80x24(snap_compare, fixed_runs):
    """del asks first; the cursor starts on "Keep it"."""
    assert snap_compare(_app(fixed_runs), terminal_size=SMALL, run_before=steps("4", "delete"))
