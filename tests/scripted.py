"""A fake training engine for Pilot and snapshot tests: scripted engine events, no TensorFlow.

``ScriptedBackend`` answers the app as ``ProcessBackend`` does, through ``EngineState`` and
``RunEvent`` messages, replaying plausible, deterministic events at once or one by one.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
from textual.app import App

from engine.baselines import naive_forecast
from engine.events import (
    EpochEnded,
    Event,
    RunFinished,
    RunKind,
    RunStarted,
    RunStopped,
    SweepPoint,
)
from engine.metrics import metrics
from engine.series import load_series
from engine.shapes import infer
from engine.specs import Experiment
from engine.sweep import suggest
from tui.backend import Backend, EngineState, RunEvent, post


def script_train(
    exp: Experiment, epochs: int | None = None, run_id: str = "run-train"
) -> list[Event]:
    """Plausible, deterministic events of a training run (no TensorFlow)."""
    n = epochs or exp.train.epochs
    series = load_series(exp.series, exp.window.window)
    windows = max(1, series.split_time - exp.window.window)
    steps = math.ceil(windows / exp.window.batch_size)
    params = infer(exp.model, exp.window.batch_size, exp.window.window).total_params or 0
    events: list[Event] = [RunStarted(run_id, "train", exp.name, n, steps, params)]
    for e in range(1, n + 1):
        loss = 4.0 + 26.0 * 0.7**e + (0.6 if e % 3 == 0 else 0.0)
        lr = exp.train.learning_rate
        events.append(EpochEnded(run_id, e, n, loss, loss + 0.5, lr, 0.25))
    naive = naive_forecast(series)
    forecast = 0.5 * series.valid.astype("float64") + 0.5 * naive
    scores = {f"val_{k}": v for k, v in metrics(series.valid, forecast).items()}
    naive_scores = metrics(series.valid, naive)
    scores.update(naive_mae=naive_scores["mae"], naive_mse=naive_scores["mse"])
    events.append(
        RunFinished(run_id, "train", n, 0.25 * n, scores, {}, tuple(map(float, forecast)), None)
    )
    return events


def script_sweep(
    exp: Experiment, epochs: int | None = None, run_id: str = "run-sweep"
) -> list[Event]:
    """Deterministic events of a learning-rate sweep: a curve with a valley, then divergence."""
    n = epochs or exp.sweep.epochs
    lrs = exp.sweep.start * 10 ** (np.arange(n) / exp.sweep.epochs_per_decade)
    x = np.log10(lrs) - np.log10(lrs[0])
    span = max(x[-1], 1e-9)
    losses = (
        30.0
        - 24.0 * np.clip(x / (0.7 * span), 0, 1) ** 2
        + 400.0 * np.clip(x / span - 0.75, 0, None) ** 2
    )
    events: list[Event] = [RunStarted(run_id, "sweep", exp.name, n, 8, 0)]
    for e, (lr, loss) in enumerate(zip(lrs, losses, strict=True), start=1):
        events.append(SweepPoint(run_id, e, n, float(lr), float(loss), 0.1))
    suggestions = suggest(lrs, losses)
    events.append(RunFinished(run_id, "sweep", n, 0.1 * n, {}, suggestions, (), None))
    return events


class ScriptedBackend(Backend):
    """A fake engine that replays scripted events at once, or one by one when ``paced``."""

    def __init__(
        self,
        *,
        ready_seconds: float | None = 1.5,
        paced: bool = False,
        epochs: int | None = 8,
        script: Callable[[RunKind, Experiment], list[Event]] | None = None,
    ) -> None:
        self.ready_seconds = ready_seconds
        self.paced = paced
        self.epochs = epochs
        self.script = script
        self.commands: list[tuple[Any, ...]] = []  # what the app asked for, in order
        self.pending: deque[Event] = deque()
        self._app: App | None = None
        self._token = 0
        self._kind: RunKind = "train"
        self._done = 0
        self.closed = False

    def start(self, app: App) -> None:
        self._app = app
        if self.ready_seconds is None:
            post(app, EngineState("loading"))
        else:
            post(app, EngineState("ready", seconds=self.ready_seconds))

    def make_ready(self, seconds: float) -> None:
        assert self._app is not None
        post(self._app, EngineState("ready", seconds=seconds))

    def run(self, kind: RunKind, experiment: Experiment, runs_dir: str | None, token: int) -> None:
        self.commands.append((kind, experiment, runs_dir))
        if self.script is not None:
            events = self.script(kind, experiment)
        elif kind == "train":
            events = script_train(experiment, self.epochs)
        else:
            events = script_sweep(experiment, self.epochs and max(self.epochs, 2))
        self.pending = deque(events)
        self._token, self._kind, self._done = token, kind, 0
        if not self.paced:
            self.advance(len(self.pending))

    def advance(self, n: int = 1) -> None:
        """Posts the next ``n`` scripted events."""
        assert self._app is not None
        for _ in range(min(n, len(self.pending))):
            event = self.pending.popleft()
            if isinstance(event, (EpochEnded, SweepPoint)):
                self._done = event.epoch
            post(self._app, RunEvent(self._token, event))

    def stop(self) -> None:
        self.commands.append(("stop",))
        if self.pending and self._app is not None:
            run_id = getattr(self.pending[0], "run_id", "")
            self.pending.clear()
            stopped = RunStopped(run_id, self._kind, self._done, "stopped by user")
            post(self._app, RunEvent(self._token, stopped))

    def close(self, timeout: float = 1.5) -> None:
        self.commands.append(("close", timeout))
        if self.pending:
            self.stop()
        self.closed = True
