"""What the Pilot tests share: an app on the scripted fake engine, ways to read and type into it."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from pathlib import Path

import numpy as np
from scripted import ScriptedBackend
from textual.widgets import Input, Static

from engine.events import Backtest, FutureForecast
from engine.presets import get_preset
from engine.runstore import RunStore
from engine.specs import Experiment, ModelSpec, TrainSpec
from tui.app import SeqlabApp
from tui.form import FieldRow
from tui.plotting import Figure, Trace
from tui.training_pane import TrainingPane


def pilot_test(fn):
    """Runs an async Pilot test in its own event loop (so the suite needs no asyncio plugin)."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        asyncio.run(fn(*args, **kwargs))

    return run


async def ready(pilot, app: SeqlabApp) -> None:
    """Waits until the panes mounted after the first frame are there."""
    for _ in range(100):
        if app.panes_ready:
            return
        await pilot.pause(0.01)
    raise AssertionError("the panes were never mounted")


def make_app(
    tmp_path: Path,
    preset: str = "course-rnn",
    experiment: Experiment | None = None,
    **backend_kwargs,
) -> SeqlabApp:
    backend = ScriptedBackend(**backend_kwargs)
    exp = experiment or get_preset(preset)
    return SeqlabApp(exp, backend, RunStore(tmp_path / "runs"), blink=False)


def modern(**train) -> Experiment:
    """The course's RNN without its Scale layer, trained as seqlab trains by default: normalised,
    a holdout slice with early stopping, validation curves (keywords replace train fields)."""
    base = get_preset("course-rnn")
    settings = {"optimizer": "adam", "learning_rate": 1e-3, "epochs": 30, "patience": 10, **train}
    return dataclasses.replace(
        base,
        name="modern",
        description="",
        model=ModelSpec(base.model.layers[:-1]),
        train=TrainSpec(**settings),
    )


def trace(figure: Figure, label: str) -> Trace:
    """The figure's trace with this legend label."""
    found = [t for t in figure.traces if t.label == label]
    assert found, f"no trace {label!r} in {[t.label for t in figure.traces]}"
    return found[0]


def labels(figure: Figure) -> list[str]:
    """The figure's legend, in drawing order (unlabelled traces left out)."""
    return [t.label for t in figure.traces if t.label]


def log_text(app: SeqlabApp) -> str:
    return "\n".join(app.query_one(TrainingPane).log_lines)


def row(app: SeqlabApp, form: str, name: str) -> FieldRow:
    return app.query_one(f"#row-{form}-{name}", FieldRow)


def error_of(app: SeqlabApp, form: str, name: str) -> str:
    """The problem line under a field ("" if it never had one)."""
    lines = row(app, form, name).query(".field-error").results(Static)
    return "".join(str(line.render()) for line in lines)


async def type_into(pilot, app: SeqlabApp, control_id: str, text: str, keys: bool = False) -> None:
    """Puts text in a field: pasted whole, or typed key by key (each prefix is checked too)."""
    field = app.query_one(f"#{control_id}", Input)
    field.focus()
    await pilot.pause()
    if keys:
        await pilot.press("ctrl+u", *text)
    else:
        field.value = text
    await pilot.pause()


SAVED_BACKTEST = Backtest(
    horizon=5,
    origins=457,
    model=(4.1, 4.6, 5.0, 5.3, 5.6),
    naive=(5.9, 6.4, 6.8, 7.1, 7.3),
    seasonal=(7.7, 7.7, 7.7, 7.7, 7.7),
    coverage=(0.78, 0.77, 0.77, 0.76, 0.75),
    level=0.8,
)


def saved_future(steps: int = 30, band: int = 10, scale: float = 20) -> FutureForecast:
    """A forecast of ``steps`` past a series of 1461 points, 80 + 20 sin(t / ``scale``), its 80%
    band reaching ``band``."""
    t = np.arange(1461, 1461 + steps, dtype="float64")
    values = np.sin(t / scale) * 20 + 80
    return FutureForecast(
        time=tuple(map(float, t)),
        values=tuple(map(float, values)),
        lower=tuple(map(float, values[:band] - 3)),
        upper=tuple(map(float, values[:band] + 3)),
        level=0.8,
    )


def make_runs(root: Path) -> RunStore:
    """Three training runs (one stopped) and a sweep, written through the real run store.

    The first run is worse than both baselines; the second beats the naive forecast but not the
    linear one, and kept its third epoch of four (its history has holdout losses); it also has
    an 80% interval band, a forecast of 30 steps past the data (the band reaching 10) and a
    backtest over 5 steps ahead.
    """
    store = RunStore(root)
    base = get_preset("course-rnn")
    for name, epochs, mae, status in (
        ("course-rnn", 6, 6.2, "finished"),
        ("course-lstm-2", 4, 5.4, "finished"),
        ("course-rnn", 3, None, "stopped"),
    ):
        handle = store.create(dataclasses.replace(base, name=name), "train", 10)
        for e in range(1, epochs + 1):
            loss = 20 * 0.7**e + 3
            row = {
                "epoch": e,
                "loss": loss,
                "mae": loss + 0.5,
                "learning_rate": 5e-6,
                "seconds": 0.1,
            }
            if name == "course-lstm-2":
                row.update(holdout_loss=loss + 1 + (e == 4), holdout_mae=loss + 1.5)
            handle.append(row)
        if mae is not None:
            kept = 3 if name == "course-lstm-2" else epochs
            metrics = {
                "val_mae": mae,
                "val_mse": mae**2,
                "val_mase": mae / 5.71,
                "naive_mae": 5.938,
                "naive_mse": 61.83,
                "linear_mae": 4.955,
                "best_epoch": kept,
                "epochs_run": epochs,
            }
            t = np.arange(1000, 1461)
            actual = np.sin(t / 20) * 20 + 80
            if name == "course-lstm-2":
                metrics.update(interval_level=0.8, coverage=0.78, horizon=5)
                metrics["backtest"] = dataclasses.asdict(SAVED_BACKTEST)
                handle.write_forecast(t, actual, actual + 1, actual - 2, actual + 4)
                handle.write_future(saved_future())
            else:
                handle.write_forecast(t, actual, actual + 1)
            handle.write_metrics(metrics)
        handle.finish(status, None if status == "finished" else "stopped by user")
    handle = store.create(base, "sweep", 100)
    for e in range(1, 61):
        handle.append(
            {"epoch": e, "learning_rate": 1e-8 * 10 ** (e / 20), "loss": 30 - e / 3, "seconds": 0.1}
        )
    handle.finish("finished")
    return store
