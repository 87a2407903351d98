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
from pilot import modern
from scripted import ScriptedBackend

from engine.presets import get_preset
from engine.runstore import RunStore
from tui.app import SeqlabApp

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


def steps(*keys: str):
    """A run_before that waits for every pane, presses keys, and lets charts repaint."""

    async def run(pilot) -> None:
        for _ in range(200):
            if pilot.app.panes_ready:
                break
            await pilot.pause(0.01)
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        await pilot.pause(0.25)  # charts repaint at most 10 times a second

    return run


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
    """A course run worse than both baselines: the results line and the top bar say so."""
    app = make_app(tmp_path, epochs=12, worse=True)
    assert snap_compare(app, terminal_size=SMALL, run_before=steps("ctrl+t"))


@pytest.fixture
def fixed_runs() -> Path:
    """Three training runs and a sweep with fixed folder names and dates."""
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
            handle.write_metrics(
                {
                    "val_mae": mae,
                    "val_mse": mae**2,
                    "naive_mae": 5.938,
                    "naive_mse": 61.83,
                    "linear_mae": 4.955,
                    "best_epoch": 6 if name == "course-lstm-2" else epochs,
                    "epochs_run": epochs,
                }
            )
            t = np.arange(1000, 1461)
            actual = 80 + 20 * np.sin(t / 25)
            handle.write_forecast(t, actual, actual + np.cos(t / 7))
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
    app = SeqlabApp(get_preset("course-rnn"), ScriptedBackend(), RunStore(fixed_runs), blink=False)
    assert snap_compare(app, terminal_size=WIDE, run_before=steps("4", "enter"))


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
