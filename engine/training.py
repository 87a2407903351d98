"""Runs an experiment: trains it (or sweeps its learning rate), forecasts, scores and saves it.

The TUI and the command line call the same two functions, ``train`` and ``sweep``, and learn what
happens only through events passed to the callback they give (engine.events). TensorFlow is
imported inside the functions, never at module import, so importing this module is cheap.

Events of one run, in order: ``RunStarted`` (once the first batches ran, so it can say whether XLA
compiled the model), then per epoch ``BatchProgress`` (coalesced, at most every 0.1 s) and
``EpochEnded`` (train) or ``SweepPoint`` (sweep), then exactly one of ``RunFinished``,
``RunStopped`` or ``RunFailed``, which is also returned. A run that cannot start (bad experiment,
unreadable data, unwritable runs folder) sends ``RunFailed`` alone. User-level problems never raise.

Honest: the validation period (after ``split_time``) is a test set, and nothing chooses with it.
Early stopping, plateaus and the kept epoch watch the holdout slice, the end of the training
period kept out of fitting; normalisation is fitted on the fitting part (engine.scaling). The
validation period's per-epoch scores are computed for display only, where no callback reads them.

How it is fast (bench/bench_training.py compares it with the course's pipeline): the windows are
cut once with numpy and cached as tensors; every epoch reshuffles them with the course's shuffle
buffer; the training step is compiled with XLA (``jit_compile``) and several batches run per call
(``steps_per_execution``). Where XLA cannot compile a model, training falls back to plain graph
execution and says so in ``RunStarted.notes`` and the run's ``run.log``.

Reproducible: each run clears the Keras session and seeds Python, numpy and TensorFlow (weights,
shuffle order, dropout) from ``train.seed``. The same experiment on the same machine gives
bit-identical per-epoch losses (tests/test_training.py checks equality with no tolerance).
TensorFlow's op determinism is not enabled: it is needed only for GPU kernels, and with it Keras
silently turns XLA off.

Stoppable: a stop request (engine.stop.StopRequest) is seen before the next batch is taken, also
while the holdout slice is scored (the datasets end as soon as it is set), so a run stops within
one batch even when several batches run per call; the validation period is scored in one traced
call at the end of an epoch. The run is saved as stopped with the epochs it completed and, once
one did, with its results as a finished run saves them (model, forecast, metrics; a sweep's
suggestions when it has the points), carried in ``RunStopped.results``. The reason names who
asked (``StopRequest.set(by=...)``: "stopped by SIGTERM after 3 epochs").

Inside: ``_prepare`` does everything a run needs before Keras (checks, windows, run folder,
TensorFlow) and returns one frozen ``_Prepared``. ``_Run`` drives Keras through it (events, run.log,
the XLA fallback, the callback hooks, the stop, the endings) and asks a ``_Policy``, training's or
the sweep's, only what differs between the two.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import functools
import math
import os
import re
import secrets
import threading
import time
import traceback
import warnings
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np

from engine.baselines import ladder
from engine.errors import DataError, SeqlabError
from engine.events import (
    Backtest,
    BatchProgress,
    EpochEnded,
    Event,
    FutureForecast,
    RunFailed,
    RunFinished,
    RunKind,
    RunStarted,
    RunStopped,
    SweepPoint,
)
from engine.fit_settings import HOLDOUT_LOSS, UNROLL_MAX_STEPS, steps_per_execution
from engine.lint import lint
from engine.metrics import metrics
from engine.resources import available_memory, estimate, too_big
from engine.runstore import RunHandle, RunStatus, RunStore
from engine.scaling import Scaler, fit_scaler
from engine.series import Series, load_series
from engine.shapes import SEQ2SEQ, ShapeReport, forecast_outputs, infer_experiment
from engine.specs import Experiment, TrainSpec, check
from engine.stop import StopRequest
from engine.sweep import EXPLODED, RECOMMENDED, smoothed, suggest, sweep_rate, sweep_start
from engine.tensorboard import EpochSummaries
from engine.windows import direct_windows, holdout_points, seq2seq_windows, seq2vec_windows

PROGRESS_INTERVAL = 0.1  # seconds between BatchProgress events
# A training run whose validation MAE is this many times the naive forecast's or more finishes
# with a warning that its loss exploded (e.g. the course's RNN at learning rate 10: ~1e7 vs 5.9).
EXPLODED_MAE = 100.0

Outcome = RunFinished | RunStopped | RunFailed
EventCallback = Callable[[Event], None]

_T = TypeVar("_T")
_IMPORT_LOCK = threading.Lock()
_RUN_LOCK = threading.Lock()  # one run per process: each run clears the shared Keras session


def load_tensorflow() -> float:
    """Imports TensorFlow/Keras quietly (log settings made before the import); returns seconds.

    Native log lines that TensorFlow still writes to file descriptor 2 are the caller's to route
    (the CLI and the TUI point fd 2 at a log file first).
    """
    with _IMPORT_LOCK:
        start = time.perf_counter()
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
        # TensorFlow's pooling allocator instead of malloc on the CPU: every compiled training
        # step allocates its buffers afresh, and reusing pooled memory makes epochs faster (see
        # README, Speed); read when TensorFlow first allocates, so it is set before the import.
        # The pool grows as needed (no preallocation).
        os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")
        import keras  # noqa: F401  (loaded here, not at the first model)
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
        # Ending a dataset early is how a stop request takes effect within one batch.
        warnings.filterwarnings(
            "ignore", message="Your input ran out of data", category=UserWarning
        )
        return time.perf_counter() - start


def train(
    exp: Experiment,
    on_event: EventCallback,
    stop: StopRequest | None = None,
    *,
    store: RunStore | None = None,
    save: bool = True,
    xla: bool = True,
) -> Outcome:
    """Trains the experiment, forecasts the validation period with the kept epoch's weights and
    scores it against the baseline ladder (naive, linear autoregression, seasonal naive).

    ``xla=False`` runs plain graph execution, as the course does (tests compare the two).
    """
    return _execute(_TrainPolicy(exp), on_event, stop, store, save, xla)


def sweep(
    exp: Experiment,
    on_event: EventCallback,
    stop: StopRequest | None = None,
    *,
    store: RunStore | None = None,
    save: bool = True,
    xla: bool = True,
) -> Outcome:
    """A learning-rate sweep: rate = start * 10**(step / epochs_per_decade).

    A step is an epoch (``sweep.mode = "epoch"``, the course's) or a batch (``"batch"``, a range
    test); ``sweep.start`` None starts where the optimizer needs (engine.sweep.DEFAULT_STARTS).
    The optimizer, its settings and the loss are the experiment's. One ``SweepPoint`` per step.
    With ``sweep.early_stop`` the sweep ends once the loss passes 4x its best; it always ends when
    the loss becomes NaN or infinite. ``RunFinished.suggestions`` holds minimum, steep and valley
    (engine.sweep defines them), ``recommended`` the one to train with, and ``notes`` what the
    curve's shape means for them (it never diverged; it was lowest at the first rate).
    """
    return _execute(_SweepPolicy(exp), on_event, stop, store, save, xla)


# --- data -----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Data:
    """The windows of one experiment, cut once from the normalised series (model units).

    ``x``/``y`` fit the model; ``x_hold``/``y_hold`` score it on the holdout slice (empty without
    one); ``x_val``/``y_val`` score the validation period, for display only.
    """

    series: Series  # in the series' own units
    scaler: Scaler
    x: np.ndarray
    y: np.ndarray
    x_hold: np.ndarray
    y_hold: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    steps: int
    hold_steps: int
    fit_end: int  # where the holdout slice begins (the split when there is none)

    @property
    def has_holdout(self) -> bool:
        return len(self.x_hold) > 0


def _cut_windows(exp: Experiment, seq2seq: bool, series: Series | None = None) -> _Data:
    """Fitting, holdout and validation windows (of ``series``, the experiment's, read here when
    not given).

    The training period ends with the holdout slice (``train.holdout`` points): the fitting
    windows lie wholly before it (inputs and targets), so none straddles the boundary; each
    holdout window has its target(s) in the slice, and its inputs look back into the fitting
    part, exactly as each validation window looks back into the training period for its inputs.
    The scaler is fitted on the fitting part alone (engine.scaling); with ``normalise = "last"``
    every window is then made relative to its own last input (``Scaler.relative``).
    Sequence-to-sequence models learn the window shifted by one step (the course's week 4
    labels); a direct model the next ``forecast.horizon`` values. Holdout and validation losses
    cover every step of each target, as Keras's own would.
    """
    w, batch = exp.window.window, exp.window.batch_size
    series = series if series is not None else load_series(exp.series, w)
    split = series.split_time
    held = holdout_points(exp.train.holdout, split)
    fit_end = split - held
    labels = forecast_outputs(exp.forecast)
    if held and fit_end <= w + labels - 1:
        raise DataError(
            f"train.holdout = {exp.train.holdout:g} keeps the last {held} of the {split} "
            f"training points for the holdout slice, leaving {max(fit_end, 0)} to fit: at least "
            f"window + {labels} ({w + labels}) are needed; lower train.holdout",
            field="train.holdout",
        )
    if labels > len(series) - split:
        raise DataError(
            f"forecast.horizon = {labels} is longer than the {len(series) - split}-point "
            "validation period; lower forecast.horizon",
            field="forecast.horizon",
        )
    if labels > 1 and held and held < labels:
        raise DataError(
            f"forecast.horizon = {labels}: a direct model's holdout windows need {labels} "
            f"points after their inputs, but train.holdout keeps {held}; raise train.holdout "
            "or lower forecast.horizon",
            field="forecast.horizon",
        )
    scaler = fit_scaler(exp.train.normalise, series.values[:fit_end])
    values = scaler.transform(series.values).astype("float32")

    def cut(part: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if seq2seq:
            return seq2seq_windows(part, w)
        if labels > 1:
            return direct_windows(part, w, labels)
        return seq2vec_windows(part, w)

    def windows(part: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, y, _ = scaler.relative(*cut(part))
        return x.astype("float32"), y.astype("float32")

    x, y = windows(values[:fit_end])
    x_hold, y_hold = windows(values[fit_end - w : split] if held else values[:0])
    x_val, y_val = windows(values[split - w :])
    return _Data(
        series,
        scaler,
        x,
        y,
        x_hold,
        y_hold,
        x_val,
        y_val,
        -(-len(x) // batch),
        -(-len(x_hold) // batch),
        fit_end,
    )


def _stop_when(dataset: Any, running: Any) -> Any:
    """Ends the dataset once the run's ``running`` variable turns false, checked as training
    takes each batch: a stop request lets the batch in flight finish and no other start.

    The variable is flipped by ``StopRequest.set`` (engine.stop), so the check is a variable read.
    tf.data must not prefetch after the check, or batches taken before the request would still
    be trained: its automatic prefetch injection is turned off.
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_optimization.inject_prefetch = False
    return dataset.take_while(lambda *_: running.read_value()).with_options(options)


def _train_dataset(data: _Data, exp: Experiment, running: Any) -> Any:
    """The cached windows, reshuffled every epoch through the experiment's shuffle buffer (as the
    course's ``windowed_dataset`` does, seeded), batched, repeated for every epoch."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((data.x, data.y))
    ds = ds.shuffle(exp.window.shuffle_buffer, seed=exp.train.seed, reshuffle_each_iteration=True)
    # prefetching ahead (the next epoch's shuffle included) is safe: the stop check comes after it
    ds = ds.batch(exp.window.batch_size).repeat().prefetch(tf.data.AUTOTUNE)
    return _stop_when(ds, running)


def _holdout_dataset(data: _Data, exp: Experiment, running: Any) -> Any:
    """The holdout windows in order, batched: what Keras validates on (its ``val_*`` logs)."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((data.x_hold, data.y_hold))
    return _stop_when(ds.batch(exp.window.batch_size).prefetch(1), running)


# --- model ----------------------------------------------------------------------------------------


def _optimizer(t: TrainSpec, learning_rate: Any) -> Any:
    """The Keras optimizer of ``train.optimizer``, with only the settings it uses.

    ``learning_rate`` is a float or a Keras ``LearningRateSchedule`` (cosine decay).
    """
    import keras

    options: dict[str, Any] = {"learning_rate": learning_rate}
    if t.clipnorm is not None:
        options["clipnorm"] = t.clipnorm
    if t.optimizer == "sgd":
        return keras.optimizers.SGD(momentum=t.momentum, nesterov=t.nesterov, **options)
    if t.optimizer == "adamw":
        return keras.optimizers.AdamW(weight_decay=t.weight_decay, **options)
    if t.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(momentum=t.momentum, **options)
    return keras.optimizers.Adam(**options)


def _keras_loss(name: str) -> Any:
    import keras

    losses = {
        "huber": keras.losses.Huber,
        "mse": keras.losses.MeanSquaredError,
        "mae": keras.losses.MeanAbsoluteError,
    }
    return losses[name]()


def _compile(model: Any, exp: Experiment, learning_rate: Any, xla: bool, spe: int) -> None:
    model.compile(
        optimizer=_optimizer(exp.train, learning_rate),
        loss=_keras_loss(exp.train.loss),
        metrics=["mae"],
        jit_compile=xla,
        steps_per_execution=spe,
    )


def build_model(model_spec: Any, window: int, unroll: bool = False, outputs: int = 1) -> Any:
    """engine.keras_model.build_model, looked up here so tests can substitute a model."""
    from engine import keras_model

    return keras_model.build_model(model_spec, window, unroll=unroll, outputs=outputs)


def _learning_rate(model: Any) -> float:
    """The optimizer's current rate (Keras 3 epoch logs hold none without a scheduler); with a
    ``LearningRateSchedule``, the schedule's rate at the optimizer's current iteration."""
    return float(model.optimizer.learning_rate.numpy())


def _xla_failure(exc: BaseException) -> str | None:
    """A short reason if ``exc`` is XLA failing to compile the training step, else None."""
    import tensorflow as tf

    if not isinstance(exc, (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError)):
        return None
    text = str(exc)
    found = re.search(r"Detected unsupported operations[^:]*: ([\w, ]+)", text)
    if found:
        return f"unsupported operation {found.group(1).strip()}"
    if "XLA" in text or "jit" in text.lower():
        return next((line for line in text.splitlines() if "XLA" in line), "compilation failed")
    return None


def _save_model(model: Any, path: Path) -> None:
    """Saves the ``.keras`` file atomically: written under a temporary name, then renamed."""
    tmp = path.with_name(f".{path.stem}-{secrets.token_hex(4)}.keras")
    try:
        model.save(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@functools.cache
def _reporter_class() -> type:
    """The Keras callback that forwards fit's hooks, with the model, to a ``_Run`` (needs Keras,
    hence defined on first use)."""
    import keras

    class Reporter(keras.callbacks.Callback):
        def __init__(self, run: _Run) -> None:
            super().__init__()
            self.run = run

        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self.run.epoch_began()

        def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            self.run.batch_ended(self.model, batch, logs or {})

        def on_test_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            self.run.validation_batch_ended(self.model)

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self.run.epoch_ended(self.model, epoch, logs or {})

    return Reporter


# --- the prepared run -----------------------------------------------------------------------------


class _Ledger:
    """What a run tells: its events, and (when saved) its folder's run.log and final status."""

    def __init__(
        self,
        on_event: EventCallback,
        kind: RunKind,
        run_id: str,
        handle: RunHandle | None = None,
    ) -> None:
        self.on_event = on_event
        self.kind = kind
        self.run_id = run_id
        self.handle = handle
        self.run_dir = str(handle.path) if handle is not None else None
        self.closed = False  # the run folder has its final status

    def emit(self, event: Event) -> None:
        self.on_event(event)

    def log(self, text: str) -> None:
        """Appends a line to ``run.log``; best effort (a full disk is reported by the saves)."""
        if self.handle is None:
            return
        with (
            contextlib.suppress(OSError),
            open(self.handle.path / "run.log", "a", encoding="utf-8") as handle,
        ):
            handle.write(f"{datetime.now().isoformat(timespec='seconds')} {text}\n")

    def close(self, status: RunStatus, reason: str | None = None) -> None:
        """Records the final status once (a later failure cannot overwrite a finished run)."""
        if self.handle is not None and not self.closed:
            self.closed = True
            self.handle.finish(status, reason)

    def fail(self, message: str) -> RunFailed:
        self.log(f"failed: {message}")
        # If even the status cannot be written, it stays "running" and lists as interrupted.
        with contextlib.suppress(OSError):
            self.close("failed", message)
        event = RunFailed(self.run_id, self.kind, message, self.run_dir)
        self.emit(event)
        return event


def _guarded(ledger: _Ledger, body: Callable[[], _T]) -> _T | RunFailed:
    """``body()``, with what it raises turned into the run's ``RunFailed``: user-level problems
    never raise. Ctrl+C (or SystemExit) saves the run as stopped and is raised on."""
    try:
        return body()
    except SeqlabError as exc:
        return ledger.fail(str(exc))
    except BaseException as exc:
        ledger.log("".join(traceback.format_exception(exc)))
        if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit
            with contextlib.suppress(OSError):
                ledger.close("stopped", "interrupted (Ctrl+C, or a second stop signal)")
            raise
        first_line = (str(exc).strip().splitlines() or [""])[0]
        where = " (details in run.log)" if ledger.handle is not None else ""
        return ledger.fail(f"unexpected error: {type(exc).__name__}: {first_line}{where}")


@dataclasses.dataclass(frozen=True)
class _Prepared:
    """A run ready for Keras: checked, its windows cut, its folder made, TensorFlow loaded."""

    exp: Experiment  # checked: the shape inference found the model buildable
    run_id: str
    handle: RunHandle | None  # None when the run is not saved
    total_epochs: int
    params: int
    data: _Data
    steps_per_execution: int
    running: Any  # a tf.Variable the input pipeline reads: False once a stop is requested
    xla: bool
    t0: float  # time.perf_counter() when the run was asked for


def _execute(
    policy: _Policy,
    on_event: EventCallback,
    stop: StopRequest | None,
    store: RunStore | None,
    save: bool,
    xla: bool,
) -> Outcome:
    """One run of either kind, start to end; one at a time in a process (see _RUN_LOCK)."""
    if stop is not None and not isinstance(stop, StopRequest):
        raise TypeError(f"stop must be an engine.stop.StopRequest, not {type(stop).__name__}")
    t0 = time.perf_counter()
    with _RUN_LOCK:
        prepared = _prepare(policy, on_event, (store or RunStore()) if save else None, xla, t0)
        if isinstance(prepared, RunFailed):
            return prepared
        return _Run(prepared, policy, on_event, stop if stop is not None else StopRequest()).run()


def _prepare(
    policy: _Policy, on_event: EventCallback, store: RunStore | None, xla: bool, t0: float
) -> _Prepared | RunFailed:
    """Everything a run needs before Keras. Every check that needs no TensorFlow comes first,
    then the run folder, then TensorFlow, so a run that cannot start fails (``RunFailed``, and a
    failed folder once one exists) before any model is built."""
    kind = policy.kind
    unsaved = _Ledger(
        on_event, kind, f"{time.strftime('%Y%m%d-%H%M%S')}-{kind}-{secrets.token_hex(2)}"
    )
    opened = _guarded(unsaved, lambda: _check_and_open(policy, store, unsaved))
    if isinstance(opened, RunFailed):
        return opened
    params, data, handle = opened
    ledger = unsaved if handle is None else _Ledger(on_event, kind, handle.run_id, handle)
    running = _guarded(ledger, lambda: _running_flag(ledger))
    if isinstance(running, RunFailed):
        return running
    return _Prepared(
        exp=policy.exp,
        run_id=ledger.run_id,
        handle=handle,
        total_epochs=policy.total_epochs,
        params=params,
        data=data,
        steps_per_execution=policy.steps_per_execution(policy.steps_per_epoch(data)),
        running=running,
        xla=xla,
        t0=t0,
    )


def _check_and_open(
    policy: _Policy, store: RunStore | None, ledger: _Ledger
) -> tuple[int, _Data, RunHandle | None] | RunFailed:
    """The checks, the windows and the run folder: (params, windows, folder or None)."""
    exp = policy.exp
    checked = _checked(exp)
    if isinstance(checked, str):
        return ledger.fail(checked)
    report, data = checked
    if store is None:
        return report.total_params or 0, data, None
    try:
        store.check_writable()
        handle = store.create(exp, policy.kind, policy.total_epochs)
    except OSError as exc:
        return ledger.fail(f"cannot create a run in {store.root}: {exc.strerror or exc}")
    return report.total_params or 0, data, handle


def _checked(exp: Experiment) -> tuple[ShapeReport, _Data] | str:
    """Every check a run makes before its folder and TensorFlow, with its windows; or why it
    cannot start. The memory estimate comes before the windows are cut, so a run too big for
    the machine is refused rather than killed."""
    problems = check(exp)
    if problems:
        return "; ".join(map(str, problems))
    report = infer_experiment(exp)
    if report.problems:
        return "the model cannot be built: " + " ".join(map(str, report.problems))
    series = load_series(exp.series, exp.window.window)
    need = estimate(exp, report, len(series))
    refused = too_big(need, available_memory(), exp.window.window)
    if refused is not None:
        return refused
    return report, _cut_windows(exp, seq2seq=report.mode == SEQ2SEQ, series=series)


def preflight(exp: Experiment) -> str | None:
    """Why a run of ``exp`` would be refused (bad fields, a model that cannot work, unreadable
    or too short data, not enough memory), or None: every check a run makes that needs no
    TensorFlow and writes nothing, so a caller can refuse before it creates or loads anything."""
    try:
        checked = _checked(exp)
    except SeqlabError as exc:
        return str(exc)
    return checked if isinstance(checked, str) else None


def _running_flag(ledger: _Ledger) -> Any:
    """Loads TensorFlow; the run's ``running`` variable (or the RunFailed if it cannot load)."""
    try:
        load_tensorflow()
    except ImportError as exc:
        return ledger.fail(f"TensorFlow could not be loaded: {exc}")
    import tensorflow as tf

    return tf.Variable(True, trainable=False, name="running")


# --- the two kinds of run -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _End:
    """Why a run ends before its last epoch.

    stopped: by request; diverged: the loss became NaN or infinite, or a sweep's passed
    ``EXPLODED`` times its best; io: its history could not be saved.
    """

    why: Literal["stopped", "diverged", "io"]
    text: str = ""


_STOPPED = _End("stopped")


@dataclasses.dataclass(frozen=True)
class _Results:
    """What a finished run reports, and how it saves its files (a policy makes it)."""

    metrics: dict[str, float]
    save: Callable[[RunHandle], None]  # writes the result files into the run folder
    log: str  # the run.log line
    suggestions: dict[str, float] = dataclasses.field(default_factory=dict)
    forecast: tuple[float, ...] = ()
    notes: tuple[str, ...] = ()
    recommended: str | None = None
    lower: tuple[float, ...] = ()
    upper: tuple[float, ...] = ()
    future: FutureForecast | None = None
    backtest: Backtest | None = None


class _Policy(abc.ABC):
    """What a training run and a learning-rate sweep do differently; ``_Run`` does the rest.

    One policy object serves one run (a sweep's keeps its points).
    """

    kind: RunKind
    finishes_diverged = False  # whether a run whose loss diverged still finishes, with results

    def __init__(self, exp: Experiment, total_epochs: int, learning_rate: float) -> None:
        self.exp = exp
        self.total_epochs = total_epochs
        self.learning_rate = learning_rate  # the optimizer's rate at the start

    def steps_per_epoch(self, data: _Data) -> int:
        """Batches per Keras epoch."""
        return data.steps

    def steps_per_execution(self, steps: int) -> int:
        return steps_per_execution(steps)

    def rate(self, steps: int) -> Any:
        """What the optimizer is given: a float, or a Keras ``LearningRateSchedule``."""
        return self.learning_rate

    def validates(self, data: _Data) -> bool:
        """Whether Keras validates every epoch on the holdout windows."""
        return False

    def callbacks(self, data: _Data) -> list[Any]:
        """Keras callbacks that run after seqlab's own (new ones for every fit)."""
        return []

    @abc.abstractmethod
    def epoch_event(
        self,
        run_id: str,
        epoch: int,
        loss: float,
        lr: float,
        seconds: float,
        logs: dict[str, Any],
        model: Any,
        data: _Data,
    ) -> EpochEnded | SweepPoint:
        """The event of a completed epoch (1-based), which is also its row in the run folder."""

    def recorded(self, loss: float, lr: float) -> _End | None:
        """Takes note of an epoch once it is saved and sent; an ``_End`` ends the run there."""
        return None

    @abc.abstractmethod
    def divergence_advice(self, lr: float) -> str:
        """What follows "the loss became NaN in epoch N at learning rate X" in the reason."""

    @abc.abstractmethod
    def results(
        self, model: Any, data: _Data, epochs: int, note: str | None, stopped: str | None = None
    ) -> _Results:
        """The finished run's results after ``epochs`` epochs; ``note`` says why it finished
        early, if it did; ``stopped``, why it was stopped (it keeps its results all the same)."""


class _TrainPolicy(_Policy):
    """Trains for ``train.epochs`` (fewer when it stops early); finishes with the validation
    forecast of the kept epoch, scored against the baseline ladder and saved.

    With a holdout slice, Keras validates on it (its ``val_*`` logs are the holdout's, reported
    as ``holdout_*``), and Keras's EarlyStopping (patience, min_delta, the best epoch's weights)
    and ReduceLROnPlateau watch that loss. The validation period's per-epoch metrics are
    computed by the run's own callback, which runs first and writes nothing into the logs, so no
    callback can read them: they are for display only. MAEs are in the series' units (a linear
    scaling scales absolute errors alike, and a window's reference, subtracted from its
    prediction and its target, changes none); losses are in the model's units.
    """

    kind = "train"

    def __init__(self, exp: Experiment) -> None:
        super().__init__(exp, exp.train.epochs, exp.train.learning_rate)
        self.early: Any = None  # this fit's EarlyStopping, when there is one

    def rate(self, steps: int) -> Any:
        t = self.exp.train
        if t.schedule != "cosine":
            return t.learning_rate
        import keras

        return keras.optimizers.schedules.CosineDecay(
            t.learning_rate, decay_steps=t.epochs * steps, alpha=t.min_lr_ratio
        )

    def validates(self, data: _Data) -> bool:
        return data.has_holdout

    def callbacks(self, data: _Data) -> list[Any]:
        import keras

        t = self.exp.train
        self.early = None
        if not data.has_holdout:
            return []
        out: list[Any] = []
        if t.patience is not None or t.restore_best:
            # without patience it never stops (patience past the last epoch): it only keeps the
            # best epoch's weights
            self.early = keras.callbacks.EarlyStopping(
                monitor=HOLDOUT_LOSS,
                mode="min",
                patience=t.patience if t.patience is not None else t.epochs + 1,
                min_delta=t.min_delta,
                restore_best_weights=t.restore_best,
            )
            out.append(self.early)
        if t.schedule == "plateau":
            out.append(
                keras.callbacks.ReduceLROnPlateau(
                    monitor=HOLDOUT_LOSS,
                    mode="min",
                    factor=t.plateau_factor,
                    patience=t.plateau_patience,
                    min_delta=t.min_delta,
                    min_lr=0.0,
                )
            )
        return out

    def epoch_event(
        self,
        run_id: str,
        epoch: int,
        loss: float,
        lr: float,
        seconds: float,
        logs: dict[str, Any],
        model: Any,
        data: _Data,
    ) -> EpochEnded:
        scale = data.scaler.scale
        hold_loss, hold_mae = logs.get("val_loss"), logs.get("val_mae")
        val_loss, val_mae = (None, None)
        if self.exp.train.validate:
            val_loss, val_mae = self.validation_scores(model, data)
        return EpochEnded(
            run_id=run_id,
            epoch=epoch,
            total_epochs=self.total_epochs,
            loss=loss,
            mae=float(logs.get("mae", math.nan)) * scale,
            learning_rate=lr,
            seconds=seconds,
            val_loss=val_loss,
            val_mae=val_mae,
            holdout_loss=None if hold_loss is None else float(hold_loss),
            holdout_mae=None if hold_mae is None else float(hold_mae) * scale,
        )

    @functools.cached_property
    def loss(self) -> Any:
        """The experiment's Keras loss, for scoring the validation period."""
        return _keras_loss(self.exp.train.loss)

    def validation_scores(self, model: Any, data: _Data) -> tuple[float, float]:
        """The validation period's loss (model units) and MAE (series units), over every
        validation window at once: a traced prediction, no Keras evaluation, no logs."""
        from engine.forecast import predictor

        out = predictor(model)(data.x_val).reshape(data.y_val.shape)
        loss = float(self.loss(data.y_val, out))
        mae = float(np.mean(np.abs(out.astype("float64") - data.y_val))) * data.scaler.scale
        return loss, mae

    def explosion(self, scores: dict[str, float]) -> str | None:
        """The warning for a loss that exploded without becoming NaN: a validation MAE
        ``EXPLODED_MAE`` times the naive forecast's or more, which no model that learned gives."""
        mine, naive = scores.get("val_mae"), scores.get("naive_mae")
        if mine is None or naive is None or not naive > 0 or not mine >= EXPLODED_MAE * naive:
            return None
        lr = self.exp.train.learning_rate
        return (
            f"the loss exploded: validation MAE {mine:.3g} is {mine / naive:,.0f}x the naive "
            f"forecast's {naive:.3g}; lower train.learning_rate (now {lr:.3g}; try "
            f"{lr / 100:.3g}) or run a learning-rate sweep ('seqlab sweep')"
        )

    def divergence_advice(self, lr: float) -> str:
        tips = f"lower the learning rate (try {lr / 10:.3g}), or run a learning-rate sweep"
        if self.exp.train.optimizer == "sgd":
            tips += " ('seqlab sweep'); Adam is also less sensitive to the rate"
        return f": training diverged. To fix it, {tips}."

    def kept(self, epochs: int, stopped: str | None = None) -> tuple[int, str]:
        """The epoch whose weights the model holds (1-based), and the note that says why.

        Keras's EarlyStopping restores the best epoch's weights when ``fit`` ends, also when a
        stop request ended it, so a stopped run keeps its best epoch too."""
        t, early = self.exp.train, self.early
        best = epochs
        parts = []
        if early is not None and t.restore_best and early.best_weights is not None:
            best = int(early.best_epoch) + 1
            parts.append(f"kept epoch {best} of {epochs}: lowest holdout loss")
        if stopped is not None:
            parts.append(stopped)
        elif early is not None and early.stopped_epoch > 0:
            parts.append(
                f"stopped early: no improvement in the holdout loss for {t.patience} epochs"
            )
        else:
            parts.append(f"trained all {epochs} epochs")
        return best, "; ".join(parts)

    def results(
        self, model: Any, data: _Data, epochs: int, note: str | None, stopped: str | None = None
    ) -> _Results:
        from engine.forecast import Forecaster, report, validation_forecast
        from engine.keras_model import portable_model

        exp, series, window = self.exp, data.series, self.exp.window.window
        # What the run shows is what it saves: every forecast below comes from the portable
        # model (Keras's own layers, normalisation inside), which differs from the trained one
        # only by float32 rounding.
        portable = portable_model(model, exp.model, data.scaler)
        forecast = validation_forecast(portable, series, window)
        found = metrics(series.valid, forecast, series.train)
        scores: dict[str, float] = {f"val_{k}": v for k, v in found.items()}
        scores.update(ladder(series, window, exp.series.period))
        best, kept = self.kept(epochs, stopped)
        scores.update(best_epoch=best, epochs_run=epochs, horizon=exp.forecast.horizon)
        notes = [kept]
        exploded = self.explosion(scores)
        if exploded is not None:
            notes.append(exploded)
        for key, name in (("naive", "the naive forecast"), ("linear", "the linear autoregression")):
            theirs = scores.get(f"{key}_mae")
            if theirs is not None and scores["val_mae"] > theirs:
                pair = _two_numbers(scores["val_mae"], theirs)
                notes.append(f"worse than {name} (MAE {pair})")
        fc = Forecaster(portable, Scaler())
        shown = report(fc, series, exp.forecast, data.fit_end, exp.series.period, forecast)
        if shown.coverage is not None:
            scores.update(interval_level=shown.level, coverage=shown.coverage)
        tested = shown.backtest
        if tested is not None and tested.model[-1] > tested.naive[-1]:
            pair = _two_numbers(tested.model[-1], tested.naive[-1])
            notes.append(
                f"{tested.horizon} steps ahead, worse than the naive forecast (MAE {pair})"
            )
        notes += shown.notes
        dates = (
            tuple(series.dates.iso(i) for i in range(series.split_time, len(series)))
            if (series.dates is not None)
            else ()
        )

        def save(handle: RunHandle) -> None:
            _save_model(portable, handle.model_path)
            handle.write_scaler({**data.scaler.to_dict(), "in_model": True})
            handle.write_forecast(
                series.time_valid, series.valid, forecast, shown.lower, shown.upper, dates
            )
            handle.write_future(shown.future)
            extra: dict[str, Any] = {"future_notes": list(shown.future.notes)}
            if tested is not None:
                extra["backtest"] = dataclasses.asdict(tested)
            handle.write_metrics({**scores, **extra, "notes": notes})

        return _Results(
            metrics=scores,
            save=save,
            log=f"finished: validation MAE {scores['val_mae']:.4f}; " + "; ".join(notes),
            forecast=tuple(float(v) for v in forecast),
            notes=tuple(notes),
            lower=() if shown.lower is None else tuple(float(v) for v in shown.lower),
            upper=() if shown.upper is None else tuple(float(v) for v in shown.upper),
            future=shown.future,
            backtest=tested,
        )


def _two_numbers(a: float, b: float) -> str:
    """'6.10 vs 5.94': both with the decimals that give the larger three significant digits."""
    biggest = max(abs(a), abs(b))
    digits = math.floor(math.log10(biggest)) + 1 if biggest > 0 else 1
    decimals = max(0, 3 - digits)
    return f"{a:.{decimals}f} vs {b:.{decimals}f}"


class _SweepPolicy(_Policy):
    """Raises the rate every epoch (``mode = "epoch"``, the course's) or every batch (``"batch"``,
    a range test) on the sweep's schedule; finishes with suggested rates, also when the loss
    diverged or (``sweep.early_stop``) passed ``EXPLODED`` times its best.

    The range test runs Keras epochs of one batch each (``steps_per_epoch`` 1, one batch per
    execution), so Keras's LearningRateScheduler sets each batch's rate and each epoch's logged
    loss is that one batch's; its suggestions and early stop read those losses smoothed
    (engine.sweep.smoothed). A sweep fits on the fitting part, without the holdout slice.
    """

    kind = "sweep"
    finishes_diverged = True  # the curve up to the divergence is what the sweep is for

    def __init__(self, exp: Experiment) -> None:
        s = exp.sweep
        super().__init__(exp, s.epochs, sweep_start(s, exp.train.optimizer))
        self.points: list[tuple[float, float]] = []  # (learning rate, loss) per step
        self.best_loss = math.inf
        self.per_batch = exp.sweep.mode == "batch"

    def steps_per_epoch(self, data: _Data) -> int:
        return 1 if self.exp.sweep.mode == "batch" else data.steps

    def steps_per_execution(self, steps: int) -> int:
        return 1 if self.exp.sweep.mode == "batch" else steps_per_execution(steps)

    def callbacks(self, data: _Data) -> list[Any]:
        import keras

        s, optimizer = self.exp.sweep, self.exp.train.optimizer
        return [keras.callbacks.LearningRateScheduler(lambda i, _lr: sweep_rate(s, optimizer, i))]

    def epoch_event(
        self,
        run_id: str,
        epoch: int,
        loss: float,
        lr: float,
        seconds: float,
        logs: dict[str, Any],
        model: Any,
        data: _Data,
    ) -> SweepPoint:
        return SweepPoint(run_id, epoch, self.total_epochs, lr, loss, seconds)

    def curve(self) -> tuple[np.ndarray, np.ndarray]:
        """The rates and the losses the suggestions read (a range test's smoothed)."""
        lrs = np.array([p[0] for p in self.points])
        losses = np.array([p[1] for p in self.points])
        return lrs, smoothed(losses) if self.per_batch else losses

    def recorded(self, loss: float, lr: float) -> _End | None:
        self.points.append((lr, loss))
        if self.per_batch:
            loss = float(self.curve()[1][-1])
        self.best_loss = min(self.best_loss, loss)
        if self.exp.sweep.early_stop and loss > EXPLODED * self.best_loss:
            return _End(
                "diverged", f"the loss passed {EXPLODED:g}x its best at learning rate {lr:.3g}"
            )
        return None

    def divergence_advice(self, lr: float) -> str:
        return ""  # no advice: the sweep finishes with the rates it found

    def notes(self, lrs: np.ndarray, losses: np.ndarray, note: str | None) -> list[str]:
        """What the curve's shape means for its suggestions."""
        out = []
        if int(np.argmin(losses)) == 0:
            out.append(
                f"the loss was lowest at the first rate ({lrs[0]:.2g}): the suggestions sit at "
                "the left edge of the chart; start the sweep lower (sweep.start)"
            )
        diverged = note is not None or bool(
            np.any(losses > EXPLODED * np.minimum.accumulate(losses))
        )
        if not diverged:
            out.append(
                f"the loss never diverged up to {lrs[-1]:.2g}: the suggestions may sit at the "
                "edge of the range; sweep higher (raise sweep.start or sweep.epochs)"
            )
        return out

    def results(
        self, model: Any, data: _Data, epochs: int, note: str | None, stopped: str | None = None
    ) -> _Results:
        lrs, losses = self.curve()
        suggestions = suggest(lrs, losses)  # SeqlabError (too few points) -> RunFailed
        best = int(np.argmin(losses))
        scores = {"best_loss": float(losses[best]), "best_learning_rate": float(lrs[best])}
        notes = self.notes(lrs, losses, note)
        if stopped is not None:
            notes.insert(
                0, f"{stopped}: the curve ends at {lrs[-1]:.3g}; the suggestions read it so far"
            )
        recommended = RECOMMENDED.name
        saved = {**scores, "suggestions": suggestions, "recommended": recommended, "notes": notes}
        return _Results(
            metrics=scores,
            save=lambda handle: handle.write_metrics(saved),
            log="finished" + (f" early: {note}" if note else "") + "".join(f"; {n}" for n in notes),
            suggestions=suggestions,
            notes=tuple(notes),
            recommended=recommended,
        )


# --- one run --------------------------------------------------------------------------------------


class _Run:
    """Drives Keras through one prepared run, from the log's first line to the final event: the
    XLA fallback, the hooks Keras calls, the stop and the endings. What differs between training
    and sweeping it asks its policy."""

    def __init__(
        self, prepared: _Prepared, policy: _Policy, on_event: EventCallback, stop: StopRequest
    ) -> None:
        self.prepared = prepared
        self.policy = policy
        self.stop = stop
        self.ledger = _Ledger(on_event, policy.kind, prepared.run_id, prepared.handle)
        self.steps = policy.steps_per_epoch(prepared.data)  # batches per Keras epoch
        # told in RunStarted: the experiment's lints, then what happened before the first batch
        self.notes: list[str] = [str(found) for found in lint(prepared.exp, prepared.data.series)]
        self.started = False  # RunStarted was sent
        self.epochs_done = 0
        self.epoch_t0 = prepared.t0
        self.last_progress = 0.0
        self.end: _End | None = None  # set once the run must end before its last epoch
        self.summaries = (
            EpochSummaries(prepared.handle.path)
            if prepared.handle is not None and prepared.exp.train.tensorboard
            else None
        )

    def run(self) -> Outcome:
        try:
            return _guarded(self.ledger, self.fit_and_finish)
        finally:
            if self.summaries is not None:
                self.summaries.close()

    def fit_and_finish(self) -> Outcome:
        p = self.prepared
        self.ledger.log(
            f"{self.policy.kind} {p.exp.name}: {p.total_epochs} epochs of {self.steps} "
            f"batches, {p.steps_per_execution} per execution, XLA {'on' if p.xla else 'off'}, "
            f"{p.params} params"
        )
        with self.stop.watched(self.refuse_batches):
            try:
                model = self.fit(p.xla)
            except Exception as exc:
                reason = _xla_failure(exc) if p.xla and not self.started else None
                if reason is None:
                    raise
                note = f"XLA could not compile this model ({reason}); training without it"
                self.notes.append(note)
                self.ledger.log(note)
                model = self.fit(False)
            if not self.started:  # stopped before the first batch
                self.announce()
            if self.end is not None:
                return self.ended_early(model, self.end)
            return self.finish(model)

    def refuse_batches(self) -> None:
        """Called by ``StopRequest.set`` in the thread that sets it: ends the datasets."""
        self.prepared.running.assign(False)

    def fit(self, xla: bool) -> Any:
        """Trains a fresh, seeded model on fresh datasets (again after an XLA fallback)."""
        import keras

        p, exp = self.prepared, self.prepared.exp
        keras.backend.clear_session()
        keras.utils.set_random_seed(exp.train.seed)
        window = exp.window.window
        model = build_model(
            exp.model,
            window,
            unroll=xla and window <= UNROLL_MAX_STEPS,
            outputs=forecast_outputs(exp.forecast),
        )
        _compile(model, exp, self.policy.rate(self.steps), xla, p.steps_per_execution)
        train_ds = _train_dataset(p.data, exp, p.running)
        validates = self.policy.validates(p.data)
        model.fit(
            train_ds,
            epochs=p.total_epochs,
            steps_per_epoch=self.steps,
            validation_data=_holdout_dataset(p.data, exp, p.running) if validates else None,
            validation_steps=p.data.hold_steps if validates else None,
            # seqlab's own first: it records each epoch (at the rate it trained with) before
            # ReduceLROnPlateau changes the rate, and nothing it computes reaches the logs
            callbacks=[_reporter_class()(self), *self.policy.callbacks(p.data)],
            shuffle=False,  # the dataset reshuffles itself every epoch
            verbose=0,
        )
        return model

    # hooks called by the Keras callback

    def announce(self) -> None:
        self.started = True
        p = self.prepared
        self.ledger.emit(
            RunStarted(
                run_id=p.run_id,
                kind=self.policy.kind,
                experiment_name=p.exp.name,
                total_epochs=p.total_epochs,
                steps_per_epoch=self.steps,
                params=p.params,
                run_dir=self.ledger.run_dir,
                notes=tuple(self.notes),
            )
        )

    def epoch_began(self) -> None:
        self.epoch_t0 = time.perf_counter()

    def halt(self, model: Any, end: _End) -> None:
        if self.end is None:
            self.end = end
        model.stop_training = True

    def diverged(self, model: Any, loss: float) -> _End:
        what = "NaN" if math.isnan(loss) else "infinite"
        lr = _learning_rate(model)
        text = f"the loss became {what} in epoch {self.epochs_done + 1} at learning rate {lr:.3g}"
        return _End("diverged", text + self.policy.divergence_advice(lr))

    def batch_ended(self, model: Any, batch: int, logs: dict[str, Any]) -> None:
        if not self.started:
            self.announce()
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.halt(model, self.diverged(model, float(loss)))
            return
        if self.stop.is_set():
            self.halt(model, _STOPPED)
            return
        now = time.perf_counter()
        if now - self.last_progress >= PROGRESS_INTERVAL:
            self.last_progress = now
            step = min(batch + 1, self.steps)
            self.ledger.emit(
                BatchProgress(self.prepared.run_id, self.epochs_done + 1, step, self.steps)
            )

    def validation_batch_ended(self, model: Any) -> None:
        if self.stop.is_set():
            model.stop_evaluating = True
            self.halt(model, _STOPPED)

    def epoch_ended(self, model: Any, epoch: int, logs: dict[str, Any]) -> None:
        if self.end is not None or self.stop.is_set():
            self.halt(model, _STOPPED)  # a partly run epoch is not recorded
            return
        loss = float(logs.get("loss", math.nan))
        if not math.isfinite(loss):
            self.halt(model, self.diverged(model, loss))
            return
        lr = _learning_rate(model)
        seconds = time.perf_counter() - self.epoch_t0
        event = self.policy.epoch_event(
            self.prepared.run_id, epoch + 1, loss, lr, seconds, logs, model, self.prepared.data
        )
        handle = self.prepared.handle
        if handle is not None:
            try:
                handle.append(dataclasses.asdict(event))
            except OSError as exc:
                self.halt(model, _End("io", f"could not save the history: {exc.strerror or exc}"))
                return
        if self.summaries is not None:
            self.summaries.write(event)
        self.epochs_done = epoch + 1
        self.ledger.emit(event)
        end = self.policy.recorded(loss, lr)
        if end is not None:
            self.halt(model, end)

    # endings

    def ended_early(self, model: Any, end: _End) -> Outcome:
        if end.why == "io":
            return self.ledger.fail(end.text)
        if end.why == "diverged" and self.policy.finishes_diverged:
            return self.finish(model, note=end.text)
        text = end.text
        kept: RunFinished | None = None
        if end.why == "stopped":
            done = self.epochs_done
            text = f"stopped by {self.stop.by} after {done} epoch{'s' if done != 1 else ''}"
            if done > 0:
                found = self.stopped_results(model, text)
                if isinstance(found, RunFailed):
                    return found
                kept = found
        self.ledger.log(f"stopped: {text}" + ("; results saved" if kept is not None else ""))
        self.ledger.close("stopped", text)
        event = RunStopped(
            self.prepared.run_id,
            self.policy.kind,
            self.epochs_done,
            text,
            self.ledger.run_dir,
            results=kept,
        )
        self.ledger.emit(event)
        return event

    def stopped_results(self, model: Any, text: str) -> RunFinished | RunFailed | None:
        """A stopped run's results, saved as a finished run's are (model, forecast, metrics; a
        sweep's suggestions), so stopping keeps the work done. None for a sweep with too few
        points to suggest a rate."""
        try:
            results = self.policy.results(
                model, self.prepared.data, self.epochs_done, None, stopped=text
            )
        except SeqlabError as exc:  # a sweep with too few points
            self.ledger.log(f"no results kept: {exc}")
            return None
        failed = self.saved(results)
        return failed if failed is not None else self.finished_event(results)

    def saved(self, results: _Results) -> RunFailed | None:
        """Writes the results into the run folder (when saved); the RunFailed if it cannot."""
        handle = self.prepared.handle
        if handle is None:
            return None
        try:
            results.save(handle)
        except OSError as exc:
            return self.ledger.fail(
                f"could not save the run in {self.ledger.run_dir}: {exc.strerror or exc}"
            )
        self.ledger.log(results.log)
        return None

    def finish(self, model: Any, note: str | None = None) -> Outcome:
        results = self.policy.results(model, self.prepared.data, self.epochs_done, note)
        failed = self.saved(results)
        if failed is not None:
            return failed
        self.ledger.close("finished", note)
        event = self.finished_event(results)
        self.ledger.emit(event)
        return event

    def finished_event(self, results: _Results) -> RunFinished:
        return RunFinished(
            run_id=self.prepared.run_id,
            kind=self.policy.kind,
            epochs=self.epochs_done,
            seconds=time.perf_counter() - self.prepared.t0,
            metrics=results.metrics,
            suggestions=results.suggestions,
            forecast=results.forecast,
            run_dir=self.ledger.run_dir,
            notes=results.notes,
            recommended=results.recommended,
            lower=results.lower,
            upper=results.upper,
            future=results.future,
            backtest=results.backtest,
        )
