"""A fake training engine for Pilot and snapshot tests: scripted engine events, no TensorFlow.

``ScriptedBackend`` answers the app as ``ProcessBackend`` does, through ``EngineState``,
``RunEvent`` and ``ForecastResult`` messages, replaying plausible, deterministic events at once or
one by one: runs and sweeps, and searches (``SearchStarted``, ``TrialUpdate``, ``SearchEnded``;
no Ray).
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from textual.app import App

from engine import search_space
from engine.baselines import ladder, naive_forecast
from engine.errors import SeqlabError
from engine.events import (
    Backtest,
    EpochEnded,
    Event,
    FutureForecast,
    RunFinished,
    RunKind,
    RunStarted,
    RunStopped,
    SearchEnded,
    SearchEvent,
    SearchStarted,
    SweepPoint,
    TrialStatus,
    TrialUpdate,
)
from engine.metrics import metrics
from engine.presets import get_preset
from engine.runstore import RunStore
from engine.series import Series, load_series, period_of
from engine.shapes import infer
from engine.specs import Experiment
from engine.studies import best, ranked
from engine.sweep import RECOMMENDED, suggest, sweep_rates
from tui.backend import Backend, EngineState, ForecastResult, RunEvent, post

HALF_WIDTH = 4.0  # the scripted interval past the data: the forecast ± this, widening
BAND_STEPS = 20  # steps ahead the scripted interval past the data reaches (it widens with them)
SMOOTHING = 15  # points averaged into each value of the scripted forecast past the data


def script_future(exp: Experiment, steps: int, series: Series | None = None) -> FutureForecast:
    """A plausible forecast of ``steps`` past the end of the experiment's series: the last
    period's values, smoothed, again (the last window's mean without a period), its interval
    widening with the step and reaching only the first ``BAND_STEPS`` steps, dates where the
    series has them."""
    series = series or load_series(exp.series, exp.window.window)
    n = len(series)
    period = period_of(exp.series)
    values = series.values.astype("float64")
    if period and 2 * SMOOTHING < period <= n:
        smoothed = np.convolve(values, np.ones(SMOOTHING) / SMOOTHING, mode="valid")
        ahead = np.resize(smoothed[len(smoothed) - period :], steps)
    else:
        ahead = np.full(steps, values[-exp.window.window :].mean())
    band = min(steps, BAND_STEPS)
    half = HALF_WIDTH * np.sqrt(np.arange(1, band + 1))
    dates = series.dates
    notes = (
        (f"steps 2 to {steps} are recursive: the model forecasts 1",)
        if steps > 1 and exp.forecast.strategy == "recursive"
        else ()
    )
    if band < steps:
        notes += (f"the interval reaches {band} steps ahead: the holdout calibrates no further",)
    return FutureForecast(
        time=tuple(float(n + i) for i in range(steps)),
        values=tuple(map(float, ahead)),
        lower=tuple(map(float, ahead[:band] - half)),
        upper=tuple(map(float, ahead[:band] + half)),
        level=exp.forecast.level,
        dates=dates.future(steps) if dates is not None else (),
        notes=notes,
    )


def script_backtest(exp: Experiment, mae: float, naive: float) -> Backtest | None:
    """A backtest over ``forecast.horizon`` steps whose errors rise with the step (None for a
    horizon of 1, as a one-step run has none)."""
    horizon = exp.forecast.horizon
    if horizon <= 1:
        return None
    series = load_series(exp.series, exp.window.window)
    steps = np.arange(horizon)
    seasonal = period_of(exp.series) is not None
    return Backtest(
        horizon=horizon,
        origins=len(series.valid) - horizon + 1,
        model=tuple(float(v) for v in mae * (1 + 0.06 * steps)),
        naive=tuple(float(v) for v in naive * (1 + 0.04 * steps)),
        seasonal=tuple(float(v) for v in np.full(horizon, naive * 1.3)) if seasonal else (),
        coverage=tuple(float(v) for v in exp.forecast.level - 0.004 * steps),
        level=exp.forecast.level,
    )


def script_train(
    exp: Experiment, epochs: int | None = None, run_id: str = "run-train", worse: bool = False
) -> list[Event]:
    """Plausible, deterministic events of a training run (no TensorFlow).

    With a holdout slice, each epoch reports its holdout loss, whose lowest epoch is kept (as
    ``train.restore_best`` does); with ``train.validate``, the validation period's loss too.
    The results carry the real baseline ladder of the experiment's series; the forecast is
    better than the naive one, or (``worse``) worse than both the naive and the linear one. It
    has an interval band (the forecast ± a constant half-width that covers a little less than
    ``forecast.level``, as a holdout-calibrated one does) and its coverage, a forecast of
    ``forecast.future`` steps past the data and, past a horizon of 1, a backtest.
    """
    n = epochs or exp.train.epochs
    t = exp.train
    series = load_series(exp.series, exp.window.window)
    windows = max(1, series.split_time - exp.window.window)
    steps = math.ceil(windows / exp.window.batch_size)
    params = infer(exp.model, exp.window.batch_size, exp.window.window).total_params or 0
    events: list[Event] = [RunStarted(run_id, "train", exp.name, n, steps, params)]
    holdout = []
    for e in range(1, n + 1):
        loss = 4.0 + 26.0 * 0.7**e + (0.6 if e % 3 == 0 else 0.0)
        # the holdout and validation losses turn up again past 60% of the run (overfitting)
        late = 0.3 * max(0.0, e - 0.6 * n)
        scores: dict[str, float] = {}
        if t.holdout > 0:
            holdout.append(4.6 + 26.0 * 0.72**e + late)
            scores.update(holdout_loss=holdout[-1], holdout_mae=holdout[-1] + 0.5)
        if t.validate:
            scores.update(val_loss=5.0 + 26.0 * 0.72**e + late, val_mae=5.5 + 26.0 * 0.72**e + late)
        events.append(EpochEnded(run_id, e, n, loss, loss + 0.5, t.learning_rate, 0.25, **scores))
    best = int(np.argmin(holdout)) + 1 if holdout and t.restore_best else n
    naive = naive_forecast(series)
    forecast = naive + 3.0 if worse else 0.5 * series.valid.astype("float64") + 0.5 * naive
    found = {f"val_{k}": v for k, v in metrics(series.valid, forecast, series.train).items()}
    found.update(ladder(series, exp.window.window, period_of(exp.series)))
    valid = series.valid.astype("float64")
    half = float(np.quantile(np.abs(valid - forecast), exp.forecast.level - 0.02))
    lower, upper = forecast - half, forecast + half
    coverage = float(np.mean((valid >= lower) & (valid <= upper)))
    found.update(best_epoch=best, epochs_run=n, horizon=exp.forecast.horizon)
    found.update(interval_level=exp.forecast.level, coverage=coverage)
    kept = (
        f"kept epoch {best} of {n}: lowest holdout loss" if best < n else f"trained all {n} epochs"
    )
    notes = [kept] + [
        f"worse than the {name} (MAE {found['val_mae']:.4g} vs {found[key]:.4g})"
        for key, name in (("naive_mae", "naive forecast"), ("linear_mae", "linear autoregression"))
        if found["val_mae"] > found[key]
    ]
    events.append(
        RunFinished(
            run_id,
            "train",
            n,
            0.25 * n,
            found,
            {},
            tuple(map(float, forecast)),
            None,
            notes=tuple(notes),
            lower=tuple(map(float, lower)),
            upper=tuple(map(float, upper)),
            future=script_future(exp, exp.forecast.future, series),
            backtest=script_backtest(exp, found["val_mae"], found["naive_mae"]),
        )
    )
    return events


def script_sweep(
    exp: Experiment, epochs: int | None = None, run_id: str = "run-sweep"
) -> list[Event]:
    """Deterministic events of a learning-rate sweep: a curve with a valley, then divergence."""
    n = epochs or exp.sweep.epochs
    lrs = sweep_rates(dataclasses.replace(exp.sweep, epochs=n), exp.train.optimizer)
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
    events.append(
        RunFinished(
            run_id, "sweep", n, 0.1 * n, {}, suggestions, (), None, recommended=RECOMMENDED.name
        )
    )
    return events


STUDY_ID = "20250301-120000-course-rnn-search-ab12"  # the scripted searches' study
WHERE = "local Ray, 2 CPUs"


def _pick(param: search_space.Param, trial: int) -> Any:
    """Trial ``trial``'s value of a searched field: the choices in turn, a range walked by the
    golden ratio (three significant digits, as a person would read them)."""
    if param.domain in ("choice", "grid"):
        return param.values[(trial - 1) % len(param.values)]
    lo, hi = param.values
    u = (trial * 0.618034) % 1.0
    if param.domain == "randint":
        return int(lo + round(u * (hi - lo)))
    if param.domain == "loguniform":
        return float(f"{math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo))):.3g}")
    return float(f"{lo + u * (hi - lo):.3g}")


def script_search(
    search: search_space.Search,
    epochs: int | None = None,
    *,
    study_id: str = STUDY_ID,
    store: RunStore | None = None,
    concurrent: int = 2,
    worse: bool = False,
) -> list[SearchEvent]:
    """Deterministic events of a search (no Ray): ``concurrent`` trials at a time, their epochs
    interleaved, each trial's holdout MAE falling to a level of its own; with ASHA, a trial worse
    than the median at the grace period is pruned there. The validation MAE of some trials is
    worse than the naive forecast's (``worse``: every trial's is). With a ``store``, each trial
    is also written as a run folder labelled with the study and trial (so the Runs pane can
    open it and its experiment loads)."""
    base = search.base
    count = search_space.trials_of(search)
    grid = search.grid() if search.settings.searcher == "grid" else None
    total = min(search.max_epochs, epochs) if epochs else search.max_epochs
    series = load_series(base.series, base.window.window)
    naive = float(np.mean(np.abs(series.valid.astype("float64") - naive_forecast(series))))
    grace = search.settings.grace_period
    asha = search.settings.scheduler == "asha" and grace < total
    events: list[SearchEvent] = [
        SearchStarted(
            study_id,
            base.name,
            count,
            search.settings.searcher,
            search.settings.scheduler,
            WHERE,
            study_dir=str(Path(store.root) / ".studies" / study_id) if store else None,
        )
    ]
    at_grace: list[float] = []
    ended: list[TrialUpdate] = []
    for first in range(1, count + 1, concurrent):
        batch = list(range(first, min(first + concurrent, count + 1)))
        params = {
            i: grid[i - 1] if grid else {p.path: _pick(p, i) for p in search.space} for i in batch
        }
        level = {i: 4.2 + 0.55 * ((i * 3) % 5) + (2.5 if worse else 0.0) for i in batch}
        runs = {}
        for i in batch:
            if store is None:
                runs[i] = None
                continue
            labelled = RunStore(store.root, labels={"study": study_id, "trial": i})
            trial_exp = search_space.apply(base, params[i], name=f"{base.name} trial {i}")
            runs[i] = labelled.create(trial_exp, "train", total)
        live = set(batch)
        for e in range(1, total + 1):
            for i in batch:
                if i not in live:
                    continue
                holdout = level[i] + 18.0 * 0.6**e
                handle = runs[i]
                if handle is not None:
                    loss = holdout - 0.4
                    handle.append(
                        {"epoch": e, "loss": loss, "mae": loss + 0.3, "learning_rate": 1e-3}
                        | {"seconds": 0.5, "holdout_loss": holdout - 0.5, "holdout_mae": holdout}
                    )
                status: TrialStatus = "running"
                val = None
                if asha and e == grace:
                    worse = bool(at_grace) and holdout > float(np.median(at_grace))
                    at_grace.append(holdout)
                    if worse:
                        status = "pruned"
                if e == total:
                    status = "finished"
                    val = holdout * 1.04 + 0.1
                update = TrialUpdate(
                    study_id,
                    i,
                    params[i],
                    status,
                    run_id=handle.run_id if handle else f"trial-{i}",
                    epoch=e,
                    total_epochs=total,
                    holdout_mae=holdout,
                    val_mae=val,
                    naive_mae=naive,
                    reason=f"pruned by ASHA after epoch {e}" if status == "pruned" else None,
                )
                events.append(update)
                if status != "running":
                    live.discard(i)
                    ended.append(update)
                    if handle is not None:
                        if val is not None:
                            handle.write_metrics(
                                {"val_mae": val, "naive_mae": naive}
                                | {"best_epoch": e, "epochs_run": e}
                            )
                        handle.finish(
                            "finished" if status == "finished" else "pruned", update.reason
                        )
    top = best(ended)
    events.append(
        SearchEnded(
            study_id,
            "finished",
            0.5 * total * math.ceil(count / concurrent),
            tuple(ranked(ended)),
            top.trial if top else None,
            study_dir=str(Path(store.root) / ".studies" / study_id) if store else None,
        )
    )
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
        worse: bool = False,
        run_dir: str | None = None,
        forecast_fails: str | None = None,
        write_trials: bool = False,
    ) -> None:
        self.ready_seconds = ready_seconds
        self.paced = paced
        self.epochs = epochs
        self.script = script
        self.worse = worse  # training runs forecast worse than the baselines
        self.run_dir = run_dir  # where finished runs say they were saved (nothing is written)
        self.forecast_fails = forecast_fails  # forecast requests fail with this message
        self.write_trials = write_trials  # searches write their trials' run folders
        self._experiment: Experiment | None = None
        self.commands: list[tuple[Any, ...]] = []  # what the app asked for, in order
        self.pending: deque[Event | SearchEvent] = deque()
        self._app: App | None = None
        self._token = 0
        self._kind: RunKind = "train"
        self._done = 0
        self._searching = False  # the pending events are a search's
        self._trials: dict[int, TrialUpdate] = {}  # the search's trials as last posted
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
        self._experiment = experiment
        if self.script is not None:
            events = self.script(kind, experiment)
        elif kind == "train":
            events = script_train(experiment, self.epochs, worse=self.worse)
        else:
            events = script_sweep(experiment, self.epochs and max(self.epochs, 2))
        if self.run_dir is not None:
            events = [
                dataclasses.replace(e, run_dir=self.run_dir) if isinstance(e, RunFinished) else e
                for e in events
            ]
        self.pending = deque(events)
        self._token, self._kind, self._done, self._searching = token, kind, 0, False
        if not self.paced:
            self.advance(len(self.pending))

    def search(
        self, search_toml: str, runs_dir: str, address: str | None, resume: str | None, token: int
    ) -> None:
        """Replays a scripted search of the search file's text (read as the engine reads it)."""
        self.commands.append(("search", search_toml, runs_dir, address, resume))
        search = search_space.loads(search_toml)
        store = RunStore(runs_dir) if self.write_trials else None
        self.pending = deque(script_search(search, self.epochs, store=store, worse=self.worse))
        self._token, self._searching, self._trials = token, True, {}
        if not self.paced:
            self.advance(len(self.pending))

    def advance(self, n: int = 1) -> None:
        """Posts the next ``n`` scripted events."""
        assert self._app is not None
        for _ in range(min(n, len(self.pending))):
            event = self.pending.popleft()
            if isinstance(event, (EpochEnded, SweepPoint)):
                self._done = event.epoch
            elif isinstance(event, TrialUpdate):
                self._trials[event.trial] = event
            post(self._app, RunEvent(self._token, event))

    def forecast(self, run_dir: str, steps: int) -> None:
        """Answers at once: ``steps`` past the data of the run's experiment (read from its folder,
        else the last one run, else the course's), or the failure ``forecast_fails`` names."""
        self.commands.append(("forecast", run_dir, steps))
        assert self._app is not None
        if self.forecast_fails is not None:
            post(self._app, ForecastResult(run_dir, steps, None, self.forecast_fails))
            return
        try:
            exp = RunStore(Path(run_dir).parent).experiment(Path(run_dir))
        except (OSError, SeqlabError):
            exp = self._experiment or get_preset("course-rnn")
        post(self._app, ForecastResult(run_dir, steps, script_future(exp, steps)))

    def stop(self) -> None:
        self.commands.append(("stop",))
        if self.pending and self._app is not None and self._searching:
            self.pending.clear()
            trials = [
                dataclasses.replace(t, status="stopped", reason="stopped by user")
                if t.status == "running"
                else t
                for t in self._trials.values()
            ]
            top = best(trials)
            study = trials[0].study_id if trials else STUDY_ID
            ended = SearchEnded(
                study, "stopped", 1.0, tuple(ranked(trials)), top.trial if top else None
            )
            post(self._app, RunEvent(self._token, ended))
        elif self.pending and self._app is not None:
            run_id = getattr(self.pending[0], "run_id", "")
            self.pending.clear()
            stopped = RunStopped(run_id, self._kind, self._done, "stopped by user")
            post(self._app, RunEvent(self._token, stopped))

    def close(self, timeout: float = 1.5) -> None:
        self.commands.append(("close", timeout))
        if self.pending:
            self.stop()
        self.closed = True
