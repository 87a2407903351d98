"""Signals and pipes, and stopped work that is kept (issue 12, Reliability).

``seqlab run``/``sweep`` stop on SIGINT, SIGTERM and SIGHUP within one batch, save the run as
stopped with its results and exit 128 + the signal; a second signal aborts; a closed standard
output ends the printing, not the run. A stopped run keeps its model, forecast and metrics (a
sweep its suggestions); a loss that explodes without becoming NaN finishes with a warning.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from engine import config
from engine.events import (
    Backtest,
    EpochEnded,
    FutureForecast,
    RunFinished,
    RunStopped,
    SweepPoint,
    event_dict,
    event_from_dict,
)
from engine.runstore import RunStore
from engine.specs import SweepSpec
from engine.stop import StopRequest

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "tui.cli"]
LONG = 100_000  # epochs: a run that only a signal ends


def _sweep_of(exp: Any, epochs: int) -> Any:
    """A sweep that neither explodes nor stops itself early within the epochs a test waits for."""
    import dataclasses

    return dataclasses.replace(exp, sweep=SweepSpec(start=1e-8, epochs=epochs, early_stop=False))


def _spawn(exp: Any, tmp_path: Path, command: str) -> subprocess.Popen[str]:
    path = tmp_path / "exp.toml"
    path.write_text(config.dumps(exp))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [*CLI, command, str(path), "--runs", str(tmp_path / "runs")],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _signal_at_epoch(
    child: subprocess.Popen[str], epoch: int, signals: tuple[int, ...]
) -> tuple[str, str]:
    """Sends ``signals`` back to back once the child printed epoch ``epoch``; (stdout, stderr)."""
    watchdog = threading.Timer(150, child.kill)  # never hang the suite
    watchdog.start()
    seen: list[str] = []
    try:
        assert child.stdout is not None
        for line in child.stdout:
            seen.append(line)
            words = line.split()
            if words[:1] == ["epoch"] and words[1].split("/")[0] == str(epoch):
                for signum in signals:
                    child.send_signal(signum)
                break
        out, err = child.communicate(timeout=120)
    finally:
        watchdog.cancel()
        child.kill()
    return "".join(seen) + out, err


def _only_run(tmp_path: Path) -> Any:
    [info] = RunStore(tmp_path / "runs").runs()
    return info


@pytest.mark.slow
@pytest.mark.parametrize(
    ("command", "signum", "code", "named"),
    [
        ("run", signal.SIGTERM, 143, "SIGTERM"),
        ("run", signal.SIGHUP, 129, "SIGHUP"),
        ("run", signal.SIGINT, 130, "Ctrl+C (SIGINT)"),
        ("sweep", signal.SIGTERM, 143, "SIGTERM"),
    ],
)
def test_a_stop_signal_saves_the_run_as_stopped_with_its_results(
    tiny_experiment, tmp_path, command, signum, code, named
) -> None:
    exp = tiny_experiment(epochs=LONG)
    if command == "sweep":
        exp = _sweep_of(exp, 10_000)
    child = _spawn(exp, tmp_path, command)
    out, err = _signal_at_epoch(child, 4, (signum,))
    assert child.returncode == code == 128 + signum, (out, err)  # the shells' convention
    assert f"stopped: stopped by {named} after " in out, (out, err)
    assert "Traceback" not in err and "aborted" not in err, err
    info = _only_run(tmp_path)
    assert info.status == "stopped" and info.reason.startswith(f"stopped by {named} after ")
    assert info.epochs >= 4
    metrics = json.loads((info.path / "metrics.json").read_text())
    if command == "run":
        assert (info.path / "model.keras").is_file() and (info.path / "forecast.csv").is_file()
        assert metrics["epochs_run"] == info.epochs and info.val_mae == metrics["val_mae"]
        assert f"stopped by {named} after {info.epochs} epochs" in metrics["notes"][0]
        assert "validation MAE" in out  # the ladder line of what it kept
    else:
        assert set(metrics["suggestions"]) and "recommended:" in out
    last = (info.path / "run.log").read_text().splitlines()[-1]
    assert "stopped: stopped by" in last and "results saved" in last
    assert err.splitlines()[0].startswith(f"seqlab {command}: ")
    assert "stopping after this batch" in err.splitlines()[0]


@pytest.mark.slow
@pytest.mark.parametrize("command", ["run", "sweep"])
def test_a_second_signal_aborts(tiny_experiment, tmp_path, command) -> None:
    # two different signals, so they cannot merge into one: the first stops, the second aborts
    exp = tiny_experiment(epochs=LONG)
    if command == "sweep":
        exp = _sweep_of(exp, 10_000)
    child = _spawn(exp, tmp_path, command)
    out, err = _signal_at_epoch(child, 3, (signal.SIGTERM, signal.SIGHUP))
    assert child.returncode in (128 + signal.SIGTERM, 128 + signal.SIGHUP), (out, err)
    assert err.splitlines()[-1] == f"seqlab {command}: aborted", err
    assert "Traceback" not in err
    info = _only_run(tmp_path)
    assert info.status == "stopped" and "interrupted" in info.reason


def test_a_second_signal_inside_the_first_ones_handler_aborts() -> None:
    """Seen in CI: SIGTERM then SIGHUP back to back both only asked to stop. Python ran the
    SIGHUP handler in the middle of the SIGTERM one's, before that had set the request."""
    from tui.cli import _signals_stop

    class Nested(StopRequest):
        def set(self, by: str | None = None) -> None:
            if by == "SIGTERM":  # the second signal arrives now, inside the first handler
                signal.getsignal(signal.SIGHUP)(signal.SIGHUP, None)
            super().set(by)

    stop = Nested()
    with _signals_stop(stop, "run") as caught, pytest.raises(KeyboardInterrupt):
        signal.getsignal(signal.SIGTERM)(signal.SIGTERM, None)
    assert caught == [signal.SIGTERM, signal.SIGHUP]


@pytest.mark.slow
def test_a_closed_stdout_stops_the_printing_not_the_run(tiny_experiment, tmp_path) -> None:
    """``seqlab run ... | head -2``: the run goes on, saves as finished and exits 0."""
    child = _spawn(tiny_experiment(epochs=40), tmp_path, "run")
    assert child.stdout is not None
    first = [child.stdout.readline(), child.stdout.readline()]
    child.stdout.close()  # as head does once it has its lines
    try:
        err = child.stderr.read() if child.stderr else ""
        child.wait(timeout=150)
    finally:
        child.kill()
    assert first[1].startswith("training tiny: 40 epochs"), first
    assert child.returncode == 0, err
    assert "BrokenPipeError" not in err and "Traceback" not in err, err
    assert "seqlab run: standard output closed; the run goes on and is saved" in err
    info = _only_run(tmp_path)
    assert info.status == "finished" and info.epochs == 40
    last = (info.path / "run.log").read_text().splitlines()[-1]
    assert "finished: validation MAE" in last and "failed" not in last


# --- in process: what a stopped run keeps ---------------------------------------------------------


def _stop_at(kind: type, epoch: int, stop: StopRequest) -> Any:
    def on_event(event: Any) -> None:
        if isinstance(event, kind) and event.epoch == epoch:
            stop.set()

    return on_event


@pytest.mark.slow
def test_a_stopped_run_keeps_its_best_epoch_forecast_and_metrics(tiny_experiment, tmp_path):
    from engine import training

    stop = StopRequest()
    store = RunStore(tmp_path)
    stopped = training.train(
        tiny_experiment(epochs=100), _stop_at(EpochEnded, 5, stop), stop, store=store
    )
    assert isinstance(stopped, RunStopped) and stopped.epochs == 5
    assert stopped.reason == "stopped by request after 5 epochs"
    kept = stopped.results
    assert isinstance(kept, RunFinished) and kept.epochs == 5
    best = int(kept.metrics["best_epoch"])
    assert 1 <= best <= 5
    assert kept.notes[0] == (
        f"kept epoch {best} of 5: lowest holdout loss; stopped by request after 5 epochs"
    )
    assert len(kept.forecast) == 50 and kept.future is not None
    [info] = store.runs()
    assert info.status == "stopped" and info.val_mae == kept.metrics["val_mae"]
    saved = json.loads((info.path / "metrics.json").read_text())
    assert saved["best_epoch"] == best and saved["notes"] == list(kept.notes)
    assert (info.path / "model.keras").is_file() and (info.path / "forecast.csv").is_file()


@pytest.mark.slow
@pytest.mark.parametrize(("at", "suggests"), [(2, False), (6, True)])
def test_a_stopped_sweep_suggests_rates_when_it_has_the_points(
    tiny_experiment, tmp_path, at, suggests
):
    """engine.sweep.suggest needs three finite points: two give a stopped sweep without any."""
    from engine import training

    stop = StopRequest()
    store = RunStore(tmp_path)
    exp = _sweep_of(tiny_experiment(), 100)
    stopped = training.sweep(exp, _stop_at(SweepPoint, at, stop), stop, store=store)
    assert isinstance(stopped, RunStopped) and stopped.epochs == at
    [info] = store.runs()
    assert info.status == "stopped"
    if not suggests:
        assert stopped.results is None and not (info.path / "metrics.json").exists()
        return
    assert stopped.results is not None and set(stopped.results.suggestions)
    assert stopped.results.notes[0].startswith(f"stopped by request after {at} epochs")
    saved = json.loads((info.path / "metrics.json").read_text())
    assert saved["suggestions"] == stopped.results.suggestions


def test_a_stopped_event_with_results_survives_the_protocol() -> None:
    future = FutureForecast(time=(300.0, 301.0), values=(1.0, 2.0), lower=(0.5,), upper=(1.5,))
    backtest = Backtest(horizon=2, origins=3, model=(1.0, 2.0), naive=(1.5, 2.5))
    results = RunFinished(
        "r1",
        "train",
        3,
        1.5,
        metrics={"val_mae": 1.25},
        forecast=(1.0, 2.0),
        notes=("kept epoch 2 of 3",),
        future=future,
        backtest=backtest,
    )
    for event in (
        RunStopped("r1", "train", 3, "stopped by SIGTERM after 3 epochs", "/runs/r1", results),
        RunStopped("r2", "sweep", 0, "stopped by request after 0 epochs"),
    ):
        wire = json.loads(json.dumps(event_dict(event)))
        assert event_from_dict(wire) == event


# --- a loss that explodes without becoming NaN ----------------------------------------------------


@pytest.mark.parametrize(
    ("val_mae", "naive_mae", "warns"),
    [(1.2e7, 5.9, True), (590.0, 5.9, True), (580.0, 5.9, False), (6.1, 5.9, False)],
)
def test_an_exploded_loss_is_told_apart_from_a_poor_one(
    tiny_experiment, val_mae, naive_mae, warns
) -> None:
    from engine.training import _TrainPolicy

    note = _TrainPolicy(tiny_experiment(learning_rate=10.0)).explosion(
        {"val_mae": val_mae, "naive_mae": naive_mae}
    )
    if not warns:
        assert note is None
        return
    assert note is not None and note.startswith(f"the loss exploded: validation MAE {val_mae:.3g}")
    assert f"{val_mae / naive_mae:,.0f}x the naive forecast's 5.9" in note
    assert "train.learning_rate (now 10; try 0.1)" in note and "seqlab sweep" in note


@pytest.mark.slow
def test_a_run_whose_loss_exploded_finishes_with_the_warning(
    run_cli, tiny_experiment, tmp_path
) -> None:
    """The course's way (no scaling, no holdout, SGD) at ``--lr 10``: finite but huge losses."""
    exp = tiny_experiment(
        optimizer="sgd",
        normalise="none",
        holdout=0.0,
        schedule="constant",
        restore_best=False,
        validate=False,
    )
    path = tmp_path / "hot.toml"
    path.write_text(config.dumps(exp))
    code, out, err = run_cli("run", str(path), "--lr", "10", "--runs", str(tmp_path / "runs"))
    assert code == 0, err
    assert "note: the loss exploded: validation MAE " in out
    info = _only_run(tmp_path)
    assert info.status == "finished"
    notes = json.loads((info.path / "metrics.json").read_text())["notes"]
    assert any(n.startswith("the loss exploded: ") for n in notes)
    assert "the loss exploded" in (info.path / "run.log").read_text().splitlines()[-1]


# --- the app shows what a stopped run kept ----------------------------------------------------


def _stopped_script(kind: Any, exp: Any) -> list[Any]:
    """A scripted training run (tests/scripted.py) that ends stopped, with its results."""
    from scripted import script_train

    *events, finished = script_train(exp, 6)
    reason = "stopped by request after 6 epochs"
    return [*events, RunStopped(finished.run_id, "train", 6, reason, None, finished)]


def test_the_training_pane_shows_a_stopped_runs_forecast(tmp_path) -> None:
    import asyncio

    from pilot import log_text, make_app, ready, trace
    from textual.widgets import Static

    from tui.chart import Chart
    from tui.training_pane import TrainingPane

    async def body() -> None:
        app = make_app(tmp_path, script=_stopped_script)
        async with app.run_test(size=(120, 40)) as pilot:
            await ready(pilot, app)
            await pilot.press("ctrl+t")
            await pilot.pause(0.3)
            log = log_text(app)
            assert "■ stopped by request after 6 epochs" in log  # the count said once
            assert "  kept 6 epochs in 1.5s: validation MAE " in log  # what it kept
            assert "■ finished" not in log
            forecast = app.query_one("#forecast-chart", Chart).figure
            assert len(trace(forecast, "forecast").y) > 0
            state = str(app.query_one("#state", Static).render())
            assert state.rstrip().endswith("· stopped")
            status = str(app.query_one(TrainingPane).query_one("#run-status", Static).render())
            assert status.startswith("train: stopped after 6 of 6 epochs · ") and "MAE" in status

    asyncio.run(body())
