"""Where runs happen, behind one small interface: the real training process, or a scripted fake.

The app calls ``start``, ``run``, ``stop`` and ``close``; a backend answers only by posting Textual
messages to the app: ``EngineState`` (TensorFlow loading / ready / failed / exited) and
``RunEvent`` (an engine event tagged with the token the app gave the run). Nothing here touches a
widget, so the app's handlers are the only code that updates the screen.

``ProcessBackend`` runs ``python -m engine.worker`` (see engine/worker.py for why a process and not
a thread) and relays its JSON lines from a Textual thread worker. ``ScriptedBackend`` replays
engine events without TensorFlow or a subprocess, for Pilot and snapshot tests.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import subprocess
import sys
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from textual.app import App
from textual.message import Message

import engine
from engine import config
from engine.baselines import naive_forecast
from engine.events import (
    EpochEnded,
    Event,
    RunFailed,
    RunFinished,
    RunStarted,
    RunStopped,
    SweepPoint,
    event_from_dict,
)
from engine.metrics import metrics
from engine.series import load_series
from engine.shapes import infer
from engine.specs import Experiment
from engine.sweep import suggest

TERMINAL = (RunFinished, RunStopped, RunFailed)


class EngineState(Message):
    """The training engine's state: "loading", "ready", "failed" or "exited"."""

    def __init__(self, state: str, seconds: float | None = None, detail: str = "") -> None:
        super().__init__()
        self.state = state
        self.seconds = seconds
        self.detail = detail


class RunEvent(Message):
    """An engine event of the run the app started with ``token``."""

    def __init__(self, token: int, event: Event) -> None:
        super().__init__()
        self.token = token
        self.event = event


class Backend(ABC):
    """Starts the engine, runs experiments, stops them; reports only through messages."""

    log_path: Path | None = None

    @abstractmethod
    def start(self, app: App) -> None:
        """Begins loading the engine; posts EngineState messages to ``app`` from now on."""

    @abstractmethod
    def run(self, kind: str, experiment: Experiment, runs_dir: str | None, token: int) -> None:
        """Starts a "train" or "sweep" run; its events arrive as RunEvent(token, ...)."""

    @abstractmethod
    def stop(self) -> None:
        """Asks the current run to stop (it ends with RunStopped within one batch)."""

    @abstractmethod
    def close(self, timeout: float = 1.5) -> None:
        """Stops any run, waits up to ``timeout`` seconds for it to be saved, ends the engine."""


def _post(app: App, message: Message) -> None:
    with contextlib.suppress(RuntimeError):  # the app's event loop has closed: nobody to tell
        app.post_message(message)


class ProcessBackend(Backend):
    """Runs experiments in ``python -m engine.worker``; its stderr goes to ``log_path``."""

    def __init__(self, log_path: Path, command: Sequence[str] | None = None) -> None:
        self.log_path = Path(log_path)
        # -P: the worker must import the installed engine, not an "engine" folder in the cwd.
        self.command = list(command or (sys.executable, "-P", "-m", "engine.worker"))
        self._app: App | None = None
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._tokens: deque[tuple[int, str]] = deque()  # runs sent and not yet ended, in order
        self._closing = False
        self._failed = False

    def start(self, app: App) -> None:
        self._app = app
        self._spawn()

    def _spawn(self) -> None:
        assert self._app is not None
        env = dict(os.environ)
        # The worker imports the same engine as this process, wherever that came from.
        root = str(Path(engine.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        env.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            proc = subprocess.Popen(
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=env,
                text=True,
                encoding="utf-8",
                bufsize=1,
                # Its own session: a terminal hang-up or ^C reaches the app, which then stops the
                # run so it is saved; the worker also stops by itself when its input closes.
                start_new_session=True,
            )
        self._proc = proc
        self._failed = False
        _post(self._app, EngineState("loading"))
        self._app.run_worker(
            lambda: self._relay(proc),
            thread=True,
            name="engine relay",
            group="engine",
            exit_on_error=False,
        )

    def _relay(self, proc: subprocess.Popen) -> None:
        """Thread worker: each line of the worker's output becomes a message to the app."""
        app = self._app
        assert app is not None and proc.stdout is not None
        for line in proc.stdout:
            try:
                data = json.loads(line)
                name = data.get("event")
            except (ValueError, AttributeError):
                continue
            if name == "ready":
                _post(app, EngineState("ready", seconds=float(data.get("seconds", math.nan))))
            elif name == "load_failed":
                self._failed = True
                _post(app, EngineState("failed", detail=str(data.get("message", ""))))
            elif name == "worker_error":
                _post(app, EngineState("error", detail=str(data.get("message", ""))))
            else:
                try:
                    event = event_from_dict(data)
                except (KeyError, TypeError, ValueError):
                    continue
                with self._lock:
                    token = self._tokens[0][0] if self._tokens else None
                    if isinstance(event, TERMINAL) and self._tokens:
                        self._tokens.popleft()
                if token is not None:
                    _post(app, RunEvent(token, event))
        code = proc.wait()
        with self._lock:
            orphans = list(self._tokens)
            self._tokens.clear()
        if self._closing or proc is not self._proc or (self._failed and not orphans):
            return  # an exit we asked for, or one already reported as load_failed
        detail = f"the training process ended unexpectedly (exit code {code}); see the log (F2)"
        for token, kind in orphans:
            _post(app, RunEvent(token, RunFailed(run_id="", kind=kind, message=detail)))
        _post(app, EngineState("exited", detail=detail))

    def _send(self, data: dict[str, Any]) -> bool:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.poll() is not None:
            return False
        try:
            proc.stdin.write(json.dumps(data) + "\n")
            proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            return False
        return True

    def run(self, kind: str, experiment: Experiment, runs_dir: str | None, token: int) -> None:
        if self._proc is None or self._proc.poll() is not None:
            self._spawn()
        with self._lock:
            self._tokens.append((token, kind))
        command = {"cmd": kind, "experiment": config.dumps(experiment), "runs": runs_dir}
        if not self._send(command):
            with self._lock:
                if (token, kind) in self._tokens:
                    self._tokens.remove((token, kind))
            assert self._app is not None
            message = "could not reach the training process; see the log (F2)"
            _post(self._app, RunEvent(token, RunFailed(run_id="", kind=kind, message=message)))

    def stop(self) -> None:
        self._send({"cmd": "stop"})

    def close(self, timeout: float = 1.5) -> None:
        self._closing = True
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        with self._lock:
            busy = bool(self._tokens)
        self._send({"cmd": "stop"})
        self._send({"cmd": "quit"})
        with contextlib.suppress(OSError):
            proc.stdin.close()  # type: ignore[union-attr]
        # With no run, nothing is lost by ending the process now. With a run, it is told to stop
        # and quit (and its input is closed): it saves the run as stopped and exits by itself, in
        # its own session, so the app need not outlive it. Terminating it here could cut the save
        # short on a loaded machine and leave the run "interrupted".
        try:
            proc.wait(timeout if busy else 0.2)
        except subprocess.TimeoutExpired:
            if busy:
                return
            proc.terminate()
            try:
                proc.wait(0.3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# --- the scripted fake -------------------------------------------------------------------------


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
        script: Callable[[str, Experiment], list[Event]] | None = None,
    ) -> None:
        self.ready_seconds = ready_seconds
        self.paced = paced
        self.epochs = epochs
        self.script = script
        self.commands: list[tuple[Any, ...]] = []  # what the app asked for, in order
        self.pending: deque[Event] = deque()
        self._app: App | None = None
        self._token = 0
        self._kind = "train"
        self._done = 0
        self.closed = False

    def start(self, app: App) -> None:
        self._app = app
        if self.ready_seconds is None:
            _post(app, EngineState("loading"))
        else:
            _post(app, EngineState("ready", seconds=self.ready_seconds))

    def make_ready(self, seconds: float) -> None:
        assert self._app is not None
        _post(self._app, EngineState("ready", seconds=seconds))

    def run(self, kind: str, experiment: Experiment, runs_dir: str | None, token: int) -> None:
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
            _post(self._app, RunEvent(self._token, event))

    def stop(self) -> None:
        self.commands.append(("stop",))
        if self.pending and self._app is not None:
            run_id = getattr(self.pending[0], "run_id", "")
            self.pending.clear()
            stopped = RunStopped(run_id, self._kind, self._done, "stopped by user")
            _post(self._app, RunEvent(self._token, stopped))

    def close(self, timeout: float = 1.5) -> None:
        self.commands.append(("close", timeout))
        if self.pending:
            self.stop()
        self.closed = True
