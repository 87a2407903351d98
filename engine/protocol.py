"""The engine process's protocol: what the app and ``python -m engine.worker`` say to each other.

One JSON object per line. This module is its one definition, used by both sides (engine/worker.py
and tui/backend.py); it imports no TensorFlow and no numpy, because the app imports it before its
first frame::

    in   {"cmd": "train" | "sweep", "experiment": "<TOML text>", "runs": "<dir>" | null}
         {"cmd": "forecast", "run": "<run folder>", "steps": N}
                             forecasts N steps past the end of a saved run's series, queued
                             with the runs; answered by forecast_ready or forecast_failed
         {"cmd": "search", "search": "<TOML text>", "runs": "<dir>", "address": A | null,
          "resume": "<study id>" | null}
                             a search (engine.search) on an embedded local Ray, or on the
                             cluster at address A; queued with the runs
         {"cmd": "stop"}     stops the current run (or search) and any queued before this line
         {"cmd": "quit"}     stops, then exits once the current run is saved; end of input = quit
    out  {"event": "ready", "seconds": S}          once TensorFlow has loaded
         {"event": "load_failed", "message": M}    TensorFlow could not load; the process exits 1
         {"event": "worker_error", "message": M}   a line that is not a command
         {"event": "forecast_ready", "run": R, "steps": N, "future": {...}}
         {"event": "forecast_failed", "run": R, "steps": N, "message": M}
         engine.events.event_dict(event)           every event of every run, in order

Each run command ends with exactly one run_finished, run_stopped or run_failed line; each search
command with exactly one search_ended line (its trials' events are search_started and
trial_update lines; the trials' own epochs stay in their run folders).

Decoding forgives: a line that is not a command becomes a ``BadCommand`` the worker reports, and
a line the app cannot read is skipped (``decode_message`` returns None).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal, get_args

from engine.events import (
    Event,
    FutureForecast,
    RunKind,
    SearchEvent,
    event_dict,
    event_from_dict,
    future_from_dict,
)

RUN_KINDS: tuple[RunKind, ...] = get_args(RunKind)


# --- commands: app -> worker ------------------------------------------------------------------


@dataclass(frozen=True)
class RunCommand:
    """Run the experiment (TOML text) as a training run or a learning-rate sweep."""

    kind: RunKind
    experiment: str
    runs: str | None = None  # the runs folder to save into; None saves nothing


@dataclass(frozen=True)
class ForecastCommand:
    """Forecast ``steps`` past the end of the series of the saved run in folder ``run``."""

    run: str
    steps: int
    cmd: ClassVar[Literal["forecast"]] = "forecast"


@dataclass(frozen=True)
class SearchCommand:
    """Run the search (a search file's TOML text) into the runs folder ``runs``; ``address``
    None starts an embedded local Ray; ``resume`` continues that study's remaining trials."""

    search: str
    runs: str
    address: str | None = None
    resume: str | None = None
    cmd: ClassVar[Literal["search"]] = "search"


@dataclass(frozen=True)
class StopCommand:
    """Stop the current run and every run queued before this command."""

    cmd: ClassVar[Literal["stop"]] = "stop"


@dataclass(frozen=True)
class QuitCommand:
    """Stop, then exit once the current run is saved."""

    cmd: ClassVar[Literal["quit"]] = "quit"


Command = RunCommand | ForecastCommand | SearchCommand | StopCommand | QuitCommand


class BadCommand(ValueError):
    """A line that is not a command; the message is what the worker reports back."""


def encode_command(command: Command) -> str:
    """The command as one JSON line (newline included)."""
    if isinstance(command, RunCommand):
        data: dict[str, Any] = {
            "cmd": command.kind,
            "experiment": command.experiment,
            "runs": command.runs,
        }
    elif isinstance(command, ForecastCommand):
        data = {"cmd": command.cmd, "run": command.run, "steps": command.steps}
    elif isinstance(command, SearchCommand):
        data = {
            "cmd": command.cmd,
            "search": command.search,
            "runs": command.runs,
            "address": command.address,
            "resume": command.resume,
        }
    else:
        data = {"cmd": command.cmd}
    return json.dumps(data) + "\n"


def decode_command(line: str) -> Command:
    """The command on ``line``; raises ``BadCommand`` for anything else."""
    try:
        data = json.loads(line)
        name = data["cmd"]
    except (ValueError, KeyError, TypeError):
        raise BadCommand(f"not a command: {line.strip()[:200]}") from None
    if name in RUN_KINDS:
        # A missing experiment fails the run (as bad TOML would), rather than the line.
        runs = data.get("runs")
        return RunCommand(name, str(data.get("experiment", "")), str(runs) if runs else None)
    if name == ForecastCommand.cmd:
        steps = data.get("steps")
        if (
            not isinstance(steps, int)
            or isinstance(steps, bool)
            or not isinstance(data.get("run"), str)
        ):
            raise BadCommand(f"a forecast needs a run folder and a whole number of steps: {line}")
        return ForecastCommand(data["run"], steps)
    if name == SearchCommand.cmd:
        text, runs = data.get("search"), data.get("runs")
        address, resume = data.get("address"), data.get("resume")
        if not isinstance(text, str) or not isinstance(runs, str) or not runs:
            raise BadCommand(f"a search needs its TOML text and a runs folder: {line.strip()}")
        if not isinstance(address, str | None) or not isinstance(resume, str | None):
            raise BadCommand(f"a search's address and resume are text or null: {line.strip()}")
        return SearchCommand(text, runs, address or None, resume or None)
    if name == StopCommand.cmd:
        return StopCommand()
    if name == QuitCommand.cmd:
        return QuitCommand()
    raise BadCommand(f"unknown command {name!r}")


# --- messages: worker -> app ------------------------------------------------------------------


@dataclass(frozen=True)
class Ready:
    """TensorFlow has loaded (in ``seconds``); runs start from now on."""

    seconds: float
    event: ClassVar[Literal["ready"]] = "ready"


@dataclass(frozen=True)
class LoadFailed:
    """TensorFlow could not be loaded; the worker exits with code 1."""

    message: str
    event: ClassVar[Literal["load_failed"]] = "load_failed"


@dataclass(frozen=True)
class WorkerError:
    """The worker received a line that is not a command."""

    message: str
    event: ClassVar[Literal["worker_error"]] = "worker_error"


@dataclass(frozen=True)
class ForecastReady:
    """The answer to a ForecastCommand: the forecast past the end of the run's series."""

    run: str
    steps: int
    future: FutureForecast
    event: ClassVar[Literal["forecast_ready"]] = "forecast_ready"


@dataclass(frozen=True)
class ForecastFailed:
    """A ForecastCommand that could not be answered (no such run, no model, ...), and why."""

    run: str
    steps: int
    message: str
    event: ClassVar[Literal["forecast_failed"]] = "forecast_failed"


WorkerMessage = (
    Ready | LoadFailed | WorkerError | ForecastReady | ForecastFailed | Event | SearchEvent
)


def encode_message(message: WorkerMessage) -> str:
    """The message as one JSON line (newline included); NaN losses are written as NaN."""
    if isinstance(message, Ready):
        data: dict[str, Any] = {"event": message.event, "seconds": message.seconds}
    elif isinstance(message, LoadFailed | WorkerError):
        data = {"event": message.event, "message": message.message}
    elif isinstance(message, ForecastReady):
        future = {
            k: list(v) if isinstance(v, tuple) else v for k, v in asdict(message.future).items()
        }
        data = {
            "event": message.event,
            "run": message.run,
            "steps": message.steps,
            "future": future,
        }
    elif isinstance(message, ForecastFailed):
        data = {
            "event": message.event,
            "run": message.run,
            "steps": message.steps,
            "message": message.message,
        }
    else:
        data = event_dict(message)
    return json.dumps(data, allow_nan=True) + "\n"


def _seconds(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def decode_message(line: str) -> WorkerMessage | None:
    """The message on ``line``, or None for a line that is not one (it is skipped)."""
    try:
        data = json.loads(line)
        name = data.get("event")
    except (ValueError, AttributeError):
        return None
    if name == Ready.event:
        return Ready(_seconds(data.get("seconds", math.nan)))
    if name == LoadFailed.event:
        return LoadFailed(str(data.get("message", "")))
    if name == WorkerError.event:
        return WorkerError(str(data.get("message", "")))
    try:
        if name == ForecastReady.event:
            return ForecastReady(
                str(data["run"]), int(data["steps"]), future_from_dict(data["future"])
            )
        if name == ForecastFailed.event:
            return ForecastFailed(str(data["run"]), int(data["steps"]), str(data["message"]))
        return event_from_dict(data)
    except (KeyError, TypeError, ValueError):
        return None
