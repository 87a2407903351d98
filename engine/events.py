"""What happens during a run, as small frozen values passed to a callback the caller gives.

The engine process sends them to the app (engine/protocol.py), the CLI prints them (``--json``: one
object per event with an ``event`` field), and tests script them. ``event_dict`` is the one
serialisation of all three.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

RunKind = Literal["train", "sweep"]


@dataclass(frozen=True)
class RunStarted:
    run_id: str
    kind: RunKind
    experiment_name: str
    total_epochs: int
    steps_per_epoch: int
    params: int
    run_dir: str | None = None
    notes: tuple[str, ...] = ()  # e.g. "XLA could not compile this model; running without it"


@dataclass(frozen=True)
class BatchProgress:
    run_id: str
    epoch: int  # 1-based
    step: int  # batches done in this epoch
    steps: int


@dataclass(frozen=True)
class EpochEnded:
    run_id: str
    epoch: int  # 1-based
    total_epochs: int
    loss: float
    mae: float
    learning_rate: float
    seconds: float
    val_loss: float | None = None  # the validation period's: for display only, never for choices
    val_mae: float | None = None
    holdout_loss: float | None = None  # the holdout slice's: what early stopping and plateaus use
    holdout_mae: float | None = None


@dataclass(frozen=True)
class SweepPoint:
    run_id: str
    epoch: int  # 1-based
    total_epochs: int
    learning_rate: float
    loss: float
    seconds: float


@dataclass(frozen=True)
class FutureForecast:
    """A forecast of the steps after the last point of the series, from a trained model.

    ``time`` continues the series' time axis (its length, length + 1, ...). The interval band
    (``lower``/``upper``, at ``level``) covers the first steps only where the holdout slice had
    enough forecasts that far ahead to calibrate it, so it may be shorter than ``values``.
    ``dates`` are ISO dates continuing a regular date column, else empty.
    """

    time: tuple[float, ...]
    values: tuple[float, ...]
    lower: tuple[float, ...] = ()
    upper: tuple[float, ...] = ()
    level: float | None = None
    dates: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # e.g. "steps 2 to 30 are recursive: the model forecasts 1"


@dataclass(frozen=True)
class Backtest:
    """A rolling-origin backtest of the validation period: the same origins for every step.

    From every origin whose next ``horizon`` values lie in the validation period, the model
    forecasts ``horizon`` steps (no refitting); ``model[h - 1]`` is the MAE ``h`` steps ahead,
    beside the naive forecast (last value repeated) and the seasonal naive one (empty without a
    period), and ``coverage[h - 1]`` the share of those points inside the interval (empty
    without one).
    """

    horizon: int
    origins: int
    model: tuple[float, ...]
    naive: tuple[float, ...]
    seasonal: tuple[float, ...] = ()
    coverage: tuple[float, ...] = ()
    level: float | None = None


@dataclass(frozen=True)
class RunFinished:
    run_id: str
    kind: RunKind
    epochs: int
    seconds: float
    # training: val_mae, ... val_mase, the baseline ladder (naive_mae, linear_mae, ...),
    # best_epoch (1-based, the epoch whose weights were kept), epochs_run
    metrics: dict[str, float] = field(default_factory=dict)
    suggestions: dict[str, float] = field(default_factory=dict)  # sweeps: minimum, steep, valley
    forecast: tuple[float, ...] = ()  # the validation forecast, one step ahead (training runs)
    run_dir: str | None = None
    notes: tuple[str, ...] = ()  # which epoch was kept and why it stopped; worse than a baseline
    recommended: str | None = None  # sweeps: the name of the suggestion to train with
    # training: the one-step interval band over the validation period (empty without one; the
    # level and its coverage are metrics "interval_level" and "coverage"), the forecast past the
    # end of the series and the backtest
    lower: tuple[float, ...] = ()
    upper: tuple[float, ...] = ()
    future: FutureForecast | None = None
    backtest: Backtest | None = None


@dataclass(frozen=True)
class RunStopped:
    run_id: str
    kind: RunKind
    epochs: int  # epochs completed
    reason: str
    run_dir: str | None = None
    # what the stopped run saved, as a finished run reports it (its model, forecast, metrics and
    # notes, or a sweep's suggestions); None when it stopped before it had any
    results: RunFinished | None = None


@dataclass(frozen=True)
class RunFailed:
    run_id: str
    kind: RunKind
    message: str
    run_dir: str | None = None


@dataclass(frozen=True)
class SearchStarted:
    """A search (engine.search) has its study and its Ray: ``done`` trials of an earlier
    session of the same study count already (a resumed study runs ``trials - done``)."""

    study_id: str
    name: str
    trials: int
    searcher: str
    scheduler: str
    where: str  # "local Ray, 2 CPUs" or the cluster's address
    study_dir: str | None = None
    done: int = 0


TrialStatus = Literal["running", "finished", "stopped", "pruned", "failed"]


@dataclass(frozen=True)
class TrialUpdate:
    """One trial of a search: after each of its epochs (``running``) and once when it ends.
    ``holdout_mae`` is what trials are compared on (the kept epoch's, once it ends)."""

    study_id: str
    trial: int  # 1-based, in the order the search started them
    params: dict[str, Any]
    status: TrialStatus
    run_id: str | None = None
    epoch: int = 0
    total_epochs: int = 0
    holdout_mae: float | None = None
    val_mae: float | None = None  # the validation period's: the test score, never a choice
    naive_mae: float | None = None
    reason: str | None = None


@dataclass(frozen=True)
class SearchEnded:
    """The search's last event: every trial as saved, best (lowest holdout MAE) first."""

    study_id: str
    status: Literal["finished", "stopped", "failed"]
    seconds: float
    trials: tuple[TrialUpdate, ...] = ()
    best_trial: int | None = None
    reason: str | None = None
    study_dir: str | None = None


Event = RunStarted | BatchProgress | EpochEnded | SweepPoint | RunFinished | RunStopped | RunFailed
SearchEvent = SearchStarted | TrialUpdate | SearchEnded

EVENT_NAMES: dict[type, str] = {
    RunStarted: "run_started",
    BatchProgress: "batch_progress",
    EpochEnded: "epoch_ended",
    SweepPoint: "sweep_point",
    RunFinished: "run_finished",
    RunStopped: "run_stopped",
    RunFailed: "run_failed",
    SearchStarted: "search_started",
    TrialUpdate: "trial_update",
    SearchEnded: "search_ended",
}


# fields that hold a nested value, rebuilt by ``event_from_dict``
_NESTED: dict[str, type] = {"future": FutureForecast, "backtest": Backtest}


def _lists(data: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}


def _tuples(data: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}


def _ready(data: dict[str, Any]) -> dict[str, Any]:
    data = _lists(data)
    for key in _NESTED:
        if isinstance(data.get(key), dict):
            data[key] = _lists(data[key])
    if isinstance(data.get("results"), dict):  # a stopped run's RunFinished
        data["results"] = _ready(data["results"])
    elif "results" in data and data["results"] is None:
        del data["results"]  # a stopped run that kept nothing reads as it always did
    if isinstance(data.get("trials"), list):  # a search's trials
        data["trials"] = [_lists(t) for t in data["trials"]]
    return data


def event_dict(event: Event | SearchEvent) -> dict[str, Any]:
    """The event as a JSON-ready dict with an ``event`` field naming its type."""
    return {"event": EVENT_NAMES[type(event)], **_ready(asdict(event))}


def future_from_dict(data: dict[str, Any]) -> FutureForecast:
    """Inverse of ``asdict`` for a ``FutureForecast`` read from JSON (lists become tuples)."""
    return FutureForecast(**_tuples(data))


def event_from_dict(data: dict[str, Any]) -> Event | SearchEvent:
    """Inverse of ``event_dict`` (used where events cross a process boundary as JSON)."""
    by_name = {name: cls for cls, name in EVENT_NAMES.items()}
    payload = dict(data)
    cls = by_name[payload.pop("event")]
    return _rebuilt(cls, payload)


def _rebuilt(cls: type, data: dict[str, Any]) -> Any:
    payload = _tuples(data)
    for key, nested in _NESTED.items():
        if isinstance(payload.get(key), dict):
            payload[key] = nested(**_tuples(payload[key]))
    if isinstance(payload.get("results"), dict):
        payload["results"] = _rebuilt(RunFinished, payload["results"])
    if cls is SearchEnded:
        payload["trials"] = tuple(TrialUpdate(**t) for t in payload.get("trials", ()))
    return cls(**payload)
