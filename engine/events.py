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
class RunFinished:
    run_id: str
    kind: RunKind
    epochs: int
    seconds: float
    # training: val_mae, ... val_mase, the baseline ladder (naive_mae, linear_mae, ...),
    # best_epoch (1-based, the epoch whose weights were kept), epochs_run
    metrics: dict[str, float] = field(default_factory=dict)
    suggestions: dict[str, float] = field(default_factory=dict)  # sweeps: minimum, steep, valley
    forecast: tuple[float, ...] = ()  # the validation forecast (training runs)
    run_dir: str | None = None
    notes: tuple[str, ...] = ()  # which epoch was kept and why it stopped; worse than a baseline
    recommended: str | None = None  # sweeps: the name of the suggestion to train with


@dataclass(frozen=True)
class RunStopped:
    run_id: str
    kind: RunKind
    epochs: int  # epochs completed
    reason: str
    run_dir: str | None = None


@dataclass(frozen=True)
class RunFailed:
    run_id: str
    kind: RunKind
    message: str
    run_dir: str | None = None


Event = RunStarted | BatchProgress | EpochEnded | SweepPoint | RunFinished | RunStopped | RunFailed

EVENT_NAMES: dict[type, str] = {
    RunStarted: "run_started",
    BatchProgress: "batch_progress",
    EpochEnded: "epoch_ended",
    SweepPoint: "sweep_point",
    RunFinished: "run_finished",
    RunStopped: "run_stopped",
    RunFailed: "run_failed",
}


def event_dict(event: Event) -> dict[str, Any]:
    """The event as a JSON-ready dict with an ``event`` field naming its type."""
    data = asdict(event)
    for key, value in data.items():
        if isinstance(value, tuple):
            data[key] = list(value)
    return {"event": EVENT_NAMES[type(event)], **data}


def event_from_dict(data: dict[str, Any]) -> Event:
    """Inverse of ``event_dict`` (used where events cross a process boundary as JSON)."""
    by_name = {name: cls for cls, name in EVENT_NAMES.items()}
    payload = dict(data)
    cls = by_name[payload.pop("event")]
    for key, value in payload.items():
        if isinstance(value, list):
            payload[key] = tuple(value)
    return cls(**payload)
